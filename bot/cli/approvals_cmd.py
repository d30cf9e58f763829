"""`bot approvals`, `bot approve`, `bot reject`: the approval gate from a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli import get_app

if TYPE_CHECKING:
    from bot.app import App
    from bot.approvals.content import Authorship
    from bot.approvals.store import Request


def _voter(app: App, by: str | None, request: Request, approving: bool = True) -> str:
    """The name the decision is recorded under: the staff member whose account runs it."""
    from bot.approvals.gate import ApprovalError
    from bot.cli import person

    found = person(by)
    staff = app.settings.file.staff
    if found.verified:
        return found.name
    # Names typed in a terminal prove nothing: one person could vote as two.
    if staff:
        raise ApprovalError(
            "[staff] in config/bot.toml gives nobody an account, so a decision typed here "
            f'cannot be told apart from anyone else\'s: add account = "{found.account}" to your '
            "entry, or decide on Telegram"
        )
    if approving and request.needed >= 2:
        raise ApprovalError(
            f"#{request.id} needs two approvals, and without accounts under [staff] in "
            "config/bot.toml this terminal cannot tell two people apart: list the staff with "
            'their accounts ("Name" = { account = "login" })'
        )
    return found.name


# A vote's decision as a past participle ("reject" + "d" is not a word).
_DONE = {"approve": "approved", "reject": "rejected"}


def _print_request(app: App, request: Request, current: Authorship, full: bool) -> None:
    from bot.approvals.gate import summary
    from bot.approvals.notify import rule
    from bot.publish.history import local_time

    click.echo(f"{summary(request, current)} · due {local_time(app, request.due_at)}")
    click.echo(f"  {rule(request, current)}; asked {local_time(app, request.created_at)}")
    for vote in request.votes:
        said = f": {vote.reason}" if vote.reason else ""
        click.echo(
            f"  {_DONE.get(vote.decision, vote.decision)} by {vote.voter} ({vote.via}) "
            f"{local_time(app, vote.at)}{said}"
        )
    if not full:
        return
    from bot.approvals.content import slot_order, slot_text

    if current:
        click.echo("  who entered or corrected the values it carries:")
    for slot in sorted(current, key=slot_order):
        click.echo(f"    {slot_text(slot)}: {', '.join(current[slot]) or '(no longer entered)'}")
    for edition in request.editions:
        click.echo(f"\n── {edition.label} " + "─" * 40)
        if edition.subject:
            click.echo(f"Subject: {edition.subject}\n")
        click.echo(edition.text)
        for figure in edition.figures:
            click.echo(f"  figure {figure}")


@click.command()
@click.argument("request_id", type=int, required=False)
@click.pass_context
def approvals(ctx: click.Context, request_id: int | None) -> None:
    """Posts waiting for approval; with an ID, that request's editions in full."""
    from bot.approvals.gate import find, pending

    app = get_app(ctx)
    if request_id is not None:
        request, last = find(app.engine, request_id)
        _print_request(app, request, last, full=True)
        return
    found, last = pending(app.engine)
    if not found:
        click.echo("Nothing waits for approval.")
        return
    for request in found:
        _print_request(app, request, last, full=False)
    click.echo("`bot approvals ID` shows a request's editions; `bot approve ID` approves it.")


@click.command()
@click.argument("request_id", type=int)
@click.option("--by", help="Your staff name (optional; it must be yours).")
@click.option("--yes", is_flag=True, help="Do not show the editions and ask.")
@click.pass_context
def approve(ctx: click.Context, request_id: int, by: str | None, yes: bool) -> None:
    """Approve request ID: its editions go out at their time, exactly as shown."""
    from bot.approvals.gate import decide, find

    app = get_app(ctx)
    request, last = find(app.engine, request_id)
    voter = _voter(app, by, request)
    if not yes:
        _print_request(app, request, last, full=True)
        if not click.confirm(f"\nApprove #{request_id} as {voter}?"):
            click.echo("Not approved.")
            ctx.exit(1)
    _, said = decide(
        app.engine, request_id, voter=voter, decision="approve", via="cli", now=app.clock()
    )
    click.echo(said)


@click.command()
@click.argument("request_id", type=int)
@click.option("--reason", required=True, help="Why it must not go out (kept in the record).")
@click.option("--by", help="Your staff name (optional; it must be yours).")
@click.pass_context
def reject(ctx: click.Context, request_id: int, reason: str, by: str | None) -> None:
    """Reject request ID: it will not be posted."""
    from bot.approvals.gate import decide, find

    app = get_app(ctx)
    voter = _voter(app, by, find(app.engine, request_id)[0], approving=False)
    _, said = decide(
        app.engine,
        request_id,
        voter=voter,
        decision="reject",
        via="cli",
        now=app.clock(),
        reason=reason,
    )
    click.echo(said)

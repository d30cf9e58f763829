"""`bot approvals`, `bot approve`, `bot reject`: the approval gate from a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli import get_app, who

if TYPE_CHECKING:
    from bot.app import App
    from bot.approvals.store import Request


def _voter(app: App, by: str | None) -> str:
    """The name the decision is recorded under; one of [staff] when staff are configured."""
    from bot.approvals.gate import ApprovalError

    name = who(by)
    staff = app.settings.file.staff
    if staff and name not in staff:
        # Otherwise one person could count twice: once by name on Telegram, once by login here.
        raise ApprovalError(
            f"{name!r} is not one of the staff in config/bot.toml ({', '.join(staff)}); "
            "decide under your staff name: --by NAME, or set BOT_USER"
        )
    return name


def _print_request(app: App, request: Request, last: str | None, full: bool) -> None:
    from bot.approvals.gate import summary
    from bot.approvals.notify import rule
    from bot.publish.history import local_time

    click.echo(f"{summary(request, last)} · due {local_time(app, request.due_at)}")
    click.echo(f"  {rule(request, last)}; asked {local_time(app, request.created_at)}")
    for vote in request.votes:
        said = f": {vote.reason}" if vote.reason else ""
        click.echo(
            f"  {vote.decision}d by {vote.voter} ({vote.via}) {local_time(app, vote.at)}{said}"
        )
    if not full:
        return
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
@click.option("--by", help="Who approves (default: BOT_USER or your login).")
@click.option("--yes", is_flag=True, help="Do not show the editions and ask.")
@click.pass_context
def approve(ctx: click.Context, request_id: int, by: str | None, yes: bool) -> None:
    """Approve request ID: its editions go out at their time, exactly as shown."""
    from bot.approvals.gate import decide, find

    app = get_app(ctx)
    voter = _voter(app, by)
    request, last = find(app.engine, request_id)
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
@click.option("--by", help="Who rejects (default: BOT_USER or your login).")
@click.pass_context
def reject(ctx: click.Context, request_id: int, reason: str, by: str | None) -> None:
    """Reject request ID: it will not be posted."""
    from bot.approvals.gate import decide

    app = get_app(ctx)
    voter = _voter(app, by)
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

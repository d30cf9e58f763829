"""`bot post-now`, `bot history`, `bot show`, `bot retract`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from bot.cli import get_app, get_runtime, who
from bot.cli.preview_cmd import ALL, _choices

if TYPE_CHECKING:
    from bot.publish.sender import Outcome
    from bot.publishing.decision import Ask, Decision
    from bot.runtime import Runtime


def print_outcome(outcome: Outcome) -> None:
    """One line per delivery, addresses masked."""
    from bot.publish.lines import outcome_line

    click.echo(outcome_line(outcome))


def send_publication(runtime: Runtime, publication_id: int | None) -> dict[str, int]:
    """Run the sender for one publication (or all pending), printing each outcome."""
    from bot.publish.outbox import counts
    from bot.publish.progress import FanOutPrinter

    app = runtime.app
    # A fan-out to subscribers is one progress line; public posts and failures, a line each.
    printer = FanOutPrinter(app.engine, print_outcome, lambda text: click.echo(text, nl=False))
    try:
        report, sender = asyncio.run(runtime.send(publication_id, printer))
    finally:
        printer.finish()
    for name, count in sender.waiting_elsewhere(publication_id).items():
        note = runtime.folder_note(name)
        meant = "the outbox folder" if note is None else f"{name} itself"
        click.echo(
            f"{count} {name} deliveries were not sent: they are meant for {meant}, "
            f"which this run cannot reach ({note or 'credentials are set'})."
        )
    if report.paused:
        click.echo(f"Stopped: the bot is {report.paused}.")
    if report.waiting_until:
        click.echo(f"Some deliveries wait for a rate limit until {report.waiting_until:%H:%M} UTC.")
    if publication_id is None:
        states = ("sent", "failed", "unknown", "pending", "cancelled")
        return {state: report.count(state) for state in states if report.count(state)}
    with app.engine.connect() as conn:
        return counts(conn, publication_id)


@click.command("post-now")
@click.argument("message")
@click.option(
    "--channels",
    default=ALL,
    show_default=True,
    help="Channel names (as in `bot config show`), comma-separated, or all.",
)
@click.option("--lang", default=ALL, show_default=True, help="en, my (comma-separated) or all.")
@click.option("--on", "on", help="The occasion's date (YYYY-MM-DD); default: today.")
@click.option("--dry-run", is_flag=True, help="Show the editions and stop.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--again", is_flag=True, help="Publish again even though this occasion was published."
)
@click.pass_context
def post_now(
    ctx: click.Context,
    message: str,
    channels: str,
    lang: str,
    on: str | None,
    dry_run: bool,
    yes: bool,
    again: bool,
) -> None:
    """Publish MESSAGE now to the channels, once per occasion."""
    from bot.channels.registry import NAMES
    from bot.errors import ConfigError
    from bot.figures.entries import parse_date
    from bot.lang import LANGUAGES
    from bot.preview import show_edition
    from bot.publishing.decision import Ask

    runtime = get_runtime(ctx)
    try:
        day = parse_date(on) if on else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    ask = Ask(
        message,
        "cli",
        who(None),
        on=day,
        langs=_choices(lang, LANGUAGES, "language"),
        channels=_choices(channels, NAMES, "channel"),
        again=again,
    )
    publisher = runtime.publisher()
    shown = publisher.preview(ask)
    for note in shown.notes:
        click.echo(note)
    if shown.verdict == "no-channel":
        raise ConfigError(shown.reason)
    for edition in shown.editions:
        show_edition(edition, click.echo)
    if shown.failures:
        click.secho(
            f"Not published: {len(shown.failures)} edition(s) cannot be sent as shown.",
            err=True,
            fg="red",
        )
        ctx.exit(1)
    if dry_run:
        click.echo("Dry run: nothing was published.")
        return
    if shown.verdict == "paused":
        raise ConfigError(f"not published: {shown.reason}. `bot resume` lifts it")
    if shown.verdict == "ready" and shown.message.settings.approval:
        shown = asyncio.run(_approval(runtime, shown))
    if shown.verdict != "ready":
        raise ConfigError(f"not published: {shown.reason}")
    if not yes and not click.confirm(
        f"Publish {message} for {shown.occasion.on} to {', '.join(shown.channels)}?"
    ):
        click.echo("Cancelled: nothing was published.")
        ctx.exit(1)
    decision = asyncio.run(_publish(runtime, ask, shown))
    created = decision.created
    if created is None:
        raise ConfigError(f"not published: {decision.reason}")
    if created.existed and not created.new_deliveries:
        click.echo(
            f"Already published as #{created.publication_id} ({created.key}); "
            "continuing any deliveries not yet done. Use --again to publish it again."
        )
    else:
        click.echo(
            f"Publication #{created.publication_id} ({created.key}): "
            f"{created.new_deliveries} new deliveries."
        )
    states = send_publication(runtime, created.publication_id)
    summary = ", ".join(f"{number} {state}" for state, number in sorted(states.items()))
    click.echo(f"#{created.publication_id}: {summary or 'no deliveries'}")
    if states.get("failed") or states.get("unknown"):
        ctx.exit(1)
    if states.get("pending") or states.get("sending"):
        ctx.exit(2)


async def _approval(runtime: Runtime, shown: Decision) -> Decision:
    """Whether what was shown is approved; a request goes to the admins if there is none."""
    async with runtime.publishing() as publisher:
        return await publisher.approval(shown)


async def _publish(runtime: Runtime, ask: Ask, shown: Decision) -> Decision:
    """The publisher's decision on what was shown; approval requests go to the admins."""
    async with runtime.publishing() as publisher:
        return await publisher.publish(ask, shown)


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many publications to list.")
@click.pass_context
def history(ctx: click.Context, limit: int) -> None:
    """What was published, newest first, with the state of its deliveries."""
    from bot.publish.history import local_time, recent

    app = get_app(ctx)
    rows = recent(app.engine, limit)
    if not rows:
        click.echo("Nothing has been published yet.")
        return
    for row in rows:
        click.echo(row.describe(local_time(app, row.created_at)))


@click.command()
@click.argument("publication", type=int)
@click.pass_context
def show(ctx: click.Context, publication: int) -> None:
    """One publication: its editions, the figures they carried, every delivery and its ids."""
    from bot.privacy import mask_target
    from bot.publish.history import detail, local_time
    from bot.publish.lines import MARKS

    app = get_app(ctx)
    found = detail(app.engine, publication)
    click.echo(f"#{found.id} {found.key} — {found.message} for {found.occasion_on}")
    click.echo(f"decided {local_time(app, found.created_at)} by {found.created_by}")
    if found.retracted_at:
        click.echo(f"RETRACTED {local_time(app, found.retracted_at)}: {found.retract_reason or ''}")
    for edition in found.editions:
        click.echo(f"\n{edition.channel} · {edition.lang}: {edition.parts} part(s)")
        for line in edition.figures:
            click.echo(f"  figure {line}")
    click.echo("\nDeliveries:")
    for d in found.deliveries:
        when = local_time(app, d.sent_at) if d.sent_at else ""
        extra = f" · ids {' '.join(d.ids)}" if d.ids else ""
        error = f" · {d.error}" if d.error else ""
        gone = " · retracted" if d.retracted_at else ""
        click.echo(
            f"  {MARKS.get(d.state, ' ')} [{d.id}] {d.channel} · {d.lang} · "
            f"{mask_target(d.channel, d.target)} · {d.state} {when}{extra}{error}{gone}"
        )


@click.command()
@click.argument("publication", type=int)
@click.option("--reason", default="", help="Why it is withdrawn (kept in the record).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def retract(ctx: click.Context, publication: int, reason: str, yes: bool) -> None:
    """Delete a publication's posts where the platform allows it; emails cannot be recalled."""
    from bot.publish.history import detail
    from bot.publish.retract import retract_publication

    runtime = get_runtime(ctx)
    app = runtime.app
    found = detail(app.engine, publication)
    if not yes and not click.confirm(f"Delete the posts of #{found.id} ({found.key})?"):
        ctx.exit(1)
    from bot.channels import registry

    names = sorted({d.channel for d in found.deliveries if registry.spec(d.channel).can_retract})
    wired = runtime.connect(names)
    result = asyncio.run(retract_publication(app.engine, found, wired.channels, app.clock, reason))
    for line in result.lines:
        click.echo(line)
    if result.emails:
        click.echo(
            f"{result.emails} email(s) were sent and cannot be recalled. To tell the same people, "
            "write the correction in messages/correction/ and run "
            f"`bot post-now correction --channels email --on {found.occasion_on}`."
        )
    if result.failed:
        ctx.exit(1)

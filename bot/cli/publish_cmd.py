"""`bot post-now`, `bot history`, `bot show`, `bot retract`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from bot.cli import get_app, who
from bot.cli.preview_cmd import ALL, _choices

if TYPE_CHECKING:
    from bot.app import App
    from bot.compose.drafts import Draft
    from bot.compose.messages import Message
    from bot.publish.sender import Outcome, Report

MARKS = {"sent": "✓", "failed": "✗", "unknown": "?", "pending": "…", "cancelled": "-"}


def print_outcome(outcome: Outcome) -> None:
    """One line per delivery, addresses masked."""
    from bot.privacy import mask_target

    target = mask_target(outcome.channel, outcome.target)
    detail = f"ids {outcome.detail}" if outcome.state == "sent" else outcome.detail
    lang = f" · {outcome.lang}" if outcome.lang else ""
    click.echo(
        f"{MARKS.get(outcome.state, ' ')} {outcome.channel}{lang} · {target} · {outcome.state}"
        f"{' · ' + detail if detail else ''}"
    )


def send_publication(app: App, names: list[str], publication_id: int | None) -> dict[str, int]:
    """Run the sender for one publication (or all pending), printing each outcome."""
    from bot.publish.outbox import counts
    from bot.publish.progress import FanOutPrinter
    from bot.publish.service import make_sender, wire

    wired = wire(app, names)
    for name, note in wired.notes.items():
        click.echo(f"  {name}: {note}")
    # A fan-out to subscribers is one progress line; public posts and failures, a line each.
    printer = FanOutPrinter(app.engine, print_outcome, lambda text: click.echo(text, nl=False))

    async def go() -> Report:
        sender = make_sender(app, wired, printer)
        try:
            report = await sender.run(publication_id)
        finally:
            printer.finish()
            for channel in wired.channels.values():
                await channel.close()
        for name, count in sender.waiting_elsewhere(publication_id).items():
            meant = "the outbox folder" if wired.notes.get(name) is None else f"{name} itself"
            click.echo(
                f"{count} {name} deliveries were not sent: they are meant for {meant}, "
                f"which this run cannot reach ({wired.notes.get(name) or 'credentials are set'})."
            )
        if report.paused:
            click.echo(f"Stopped: the bot is {report.paused}.")
        if report.waiting_until:
            click.echo(
                f"Some deliveries wait for a rate limit until {report.waiting_until:%H:%M} UTC."
            )
        return report

    report = asyncio.run(go())
    if publication_id is None:
        states = ("sent", "failed", "unknown", "pending", "cancelled")
        return {state: report.count(state) for state in states if report.count(state)}
    with app.engine.connect() as conn:
        return counts(conn, publication_id)


async def _approval_refusal(
    app: App, message: Message, key: str, drafts: list[Draft]
) -> str | None:
    """Why a message that needs approval cannot go out yet (asking the admins), or None."""
    from bot.approvals.manual import refusal
    from bot.schedule.alerts import admin_alerter
    from bot.schedule.config import load_schedule

    if not message.settings.approval:
        return None
    alerter = admin_alerter(app, load_schedule(app.settings.config_dir / "schedule.toml"))
    try:
        return await refusal(app, alerter, message, key, drafts)
    finally:
        await alerter.close()


@click.command("post-now")
@click.argument("message")
@click.option(
    "--channels",
    default=ALL,
    show_default=True,
    help="x, telegram, email (comma-separated) or all.",
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
    from bot.compose.drafts import Draft, Failure, occasion_for
    from bot.compose.messages import CHANNELS
    from bot.errors import ConfigError
    from bot.figures.entries import parse_date
    from bot.lang import LANGUAGES
    from bot.preview import show_edition
    from bot.publish.outbox import publish
    from bot.publish.service import targets, via

    app = get_app(ctx)
    found = app.composer.message(message)
    chosen = _choices(channels, CHANNELS, "channel") or list(found.settings.channels)
    chosen = [name for name in chosen if name in found.settings.channels]
    enabled = {n for n in CHANNELS if getattr(app.settings.file.channels, n).enabled}
    for name in [n for n in chosen if n not in enabled]:
        click.echo(f"{name}: turned off in config/bot.toml ([channels.{name}] enabled = false)")
    chosen = [n for n in chosen if n in enabled]
    if not chosen:
        raise ConfigError(f"{message} has no enabled channel among those asked for")
    langs = _choices(lang, LANGUAGES, "language")
    try:
        day = parse_date(on) if on else app.today()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    occasion = occasion_for(app.settings, found, day, app.today())
    editions = app.composer.compose(found, occasion, langs, chosen)
    for edition in editions:
        show_edition(edition, click.echo)
    failures = [e for e in editions if isinstance(e, Failure)]
    if failures:
        click.secho(
            f"Not published: {len(failures)} edition(s) cannot be sent as shown.",
            err=True,
            fg="red",
        )
        ctx.exit(1)
    if dry_run:
        click.echo("Dry run: nothing was published.")
        return
    from bot.control import current_pause

    paused = current_pause(app.engine, app.clock())
    if paused is not None:
        raise ConfigError(f"not published: the bot is {paused.describe()}. `bot resume` lifts it")
    drafts = [e for e in editions if isinstance(e, Draft)]
    refused = asyncio.run(_approval_refusal(app, found, occasion.key, drafts))
    if refused:
        raise ConfigError(f"not published: {refused}")
    if not yes and not click.confirm(
        f"Publish {message} for {occasion.on} to {', '.join(chosen)}?"
    ):
        click.echo("Cancelled: nothing was published.")
        ctx.exit(1)
    created = publish(
        app.engine,
        occasion,
        drafts,
        targets(app, chosen),
        email_via=via(app, "email"),
        telegram_via=via(app, "telegram"),
        topic=found.settings.topic,
        now=app.clock(),
        created_by=who(None),
        again=again,
    )
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
    states = send_publication(app, chosen, created.publication_id)
    summary = ", ".join(f"{number} {state}" for state, number in sorted(states.items()))
    click.echo(f"#{created.publication_id}: {summary or 'no deliveries'}")
    if states.get("failed") or states.get("unknown"):
        ctx.exit(1)
    if states.get("pending") or states.get("sending"):
        ctx.exit(2)


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many publications to list.")
@click.pass_context
def history(ctx: click.Context, limit: int) -> None:
    """What was published, newest first, with the state of its deliveries."""
    from bot.publish.history import recent
    from bot.publish.service import local_time

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
    from bot.publish.history import detail
    from bot.publish.service import local_time

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
    """Delete a publication's posts on X and Telegram; emails cannot be recalled."""
    from bot.publish.history import detail
    from bot.publish.retract import retract_publication
    from bot.publish.service import wire

    app = get_app(ctx)
    found = detail(app.engine, publication)
    if not yes and not click.confirm(f"Delete the posts of #{found.id} ({found.key})?"):
        ctx.exit(1)
    names = sorted({d.channel for d in found.deliveries if d.channel != "email"})
    wired = wire(app, names)
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

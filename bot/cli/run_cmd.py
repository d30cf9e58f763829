"""`bot run`, `bot schedule`, `bot status`, `bot pause`, `bot resume`."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from typing import TYPE_CHECKING

import click

from bot.cli import get_app, get_runtime, who

if TYPE_CHECKING:
    from bot.app import App
    from bot.calendar.config import Schedule


def _schedule(ctx: click.Context) -> tuple[App, Schedule]:
    runtime = get_runtime(ctx)
    return runtime.app, runtime.schedule


@click.command()
@click.option("--once", is_flag=True, help="Handle what is due now, send it, and exit.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """The main job: keep the calendar and publish on time, until Ctrl-C or SIGTERM."""
    runtime = get_runtime(ctx)
    app = runtime.app
    runtime.schedule  # noqa: B018 - a broken schedule.toml is reported before anything runs
    org = app.settings.file.organisation.short_name
    click.echo(
        f"spring-bot · {org} · now {app.clock().astimezone(app.settings.tz):%Y-%m-%d %H:%M %Z}"
    )
    if app.rehearsal:
        click.secho(
            "Rehearsal (BOT_CLOCK_START): every post goes to the outbox folder.", fg="yellow"
        )
    if once:
        lines = asyncio.run(runtime.tick_once(click.echo))
        for line in lines:
            click.echo(line)
        if not lines:
            click.echo("Nothing was due.")
        return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.serve(stop, click.echo)

    asyncio.run(main())


@click.command()
@click.option("--days", default=7, show_default=True, help="How far ahead to look.")
@click.pass_context
def schedule(ctx: click.Context, days: int) -> None:
    """What will be posted, when (local time and UTC), where, and whether its figures are fresh."""
    from bot.calendar.planner import occasion_of, plan
    from bot.publishing.decision import Ask

    runtime = get_runtime(ctx)
    app, sched = runtime.app, runtime.schedule
    publisher = runtime.publisher()
    now = app.clock()
    upcoming = plan(sched, app.settings, now, now + dt.timedelta(days=days))
    if not upcoming:
        click.echo(f"Nothing is planned in the next {days} days.")
    for p in upcoming:
        ask = Ask(
            p.message,
            "schedule",
            "scheduler",
            occasion=occasion_of(p, app.settings),
            channels=list(p.channels),
            langs=["en"],
        )
        decision = publisher.preview(ask)
        fresh = {
            "uncomposable": "cannot be composed: see `bot preview`",
            "stale": f"HELD unless updated: {decision.reason}",
            "no-channel": f"NOT POSTED: {decision.reason}",
            "already": "published already",
        }.get(decision.verdict, "figures fresh enough")
        where = ", ".join(n if n in decision.via else f"{n} (off)" for n in p.channels)
        click.echo(
            f"{p.at:%a %Y-%m-%d %H:%M %Z} ({p.at.astimezone(dt.UTC):%H:%M} UTC)  {p.message}  "
            f"→ {where}  [{fresh}]"
        )


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Running or not, paused or not, last and next posts, what awaits a decision."""
    from bot.status import status_lines

    app, sched = _schedule(ctx)
    for line in status_lines(app, sched):
        if line.colour:
            click.secho(line.text, fg=line.colour)
        else:
            click.echo(line.text)


@click.command()
@click.option("--reason", required=True, help="Why (shown to everyone who asks).")
@click.option(
    "--until", "until", help="Lift the pause by itself at this local time (YYYY-MM-DD HH:MM)."
)
@click.pass_context
def pause(ctx: click.Context, reason: str, until: str | None) -> None:
    """Stop every outgoing post at once, scheduled or manual, until `bot resume`."""
    from bot import control
    from bot.errors import BotError

    app = get_app(ctx)
    end = None
    if until:
        try:
            end = dt.datetime.fromisoformat(until)
        except ValueError:
            raise BotError(f"--until {until!r} is not a time like 2025-02-01 18:00") from None
        if end.tzinfo is None:
            end = end.replace(tzinfo=app.settings.tz)
    control.pause(app.engine, reason, who(None), app.clock(), end)
    click.echo(
        f"Paused: nothing will be posted{' until ' + until if until else ''}. "
        "`bot resume` lifts it."
    )


@click.command()
@click.pass_context
def resume(ctx: click.Context) -> None:
    """Lift the pause; what was interrupted continues without duplicates."""
    from bot import control

    app = get_app(ctx)
    if control.resume(app.engine):
        click.echo("Resumed: `bot run` continues where it stopped.")
    else:
        click.echo("The bot was not paused.")

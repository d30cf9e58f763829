"""`bot run`, `bot schedule`, `bot status`, `bot pause`, `bot resume`."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from typing import TYPE_CHECKING

import click

from bot.cli import get_app, who

if TYPE_CHECKING:
    from bot.app import App
    from bot.schedule.config import Schedule


def _schedule(ctx: click.Context) -> tuple[App, Schedule]:
    from bot.schedule.config import load_schedule

    app = get_app(ctx)
    return app, load_schedule(app.settings.config_dir / "schedule.toml")


@click.command()
@click.option("--once", is_flag=True, help="Handle what is due now, send it, and exit.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """The main job: keep the calendar and publish on time, until Ctrl-C or SIGTERM."""
    from bot.schedule.daemon import make_runner, serve

    app, schedule = _schedule(ctx)
    org = app.settings.file.organisation.short_name
    click.echo(
        f"spring-bot · {org} · now {app.clock().astimezone(app.settings.tz):%Y-%m-%d %H:%M %Z}"
    )
    if app.rehearsal:
        click.secho(
            "Rehearsal (BOT_CLOCK_START): every post goes to the outbox folder.", fg="yellow"
        )
    if once:
        report = asyncio.run(make_runner(app, schedule, click.echo).tick(app.clock()))
        for line in report.lines:
            click.echo(line)
        if not report.lines:
            click.echo("Nothing was due.")
        return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, schedule, stop, click.echo)

    asyncio.run(main())


@click.command()
@click.option("--days", default=7, show_default=True, help="How far ahead to look.")
@click.pass_context
def schedule(ctx: click.Context, days: int) -> None:
    """What will be posted, when (local time and UTC), where, and whether its figures are fresh."""
    from bot.compose.drafts import Draft
    from bot.schedule.planner import plan
    from bot.schedule.runner import Runner

    app, sched = _schedule(ctx)
    now = app.clock()
    upcoming = plan(sched, app.settings, now, now + dt.timedelta(days=days))
    runner = Runner(app, sched)
    if not upcoming:
        click.echo(f"Nothing is planned in the next {days} days.")
    for p in upcoming:
        message = app.composer.message(p.message)
        editions = app.composer.compose(message, runner.occasion(p), ["en"], [p.channels[0]])
        drafts = [e for e in editions if isinstance(e, Draft)]
        if len(drafts) != len(editions):
            fresh = "cannot be composed: see `bot preview`"
        else:
            stale = Runner.stale(drafts, p, message.settings.max_figure_age_days)
            fresh = f"HELD unless updated: {stale}" if stale else "figures fresh enough"
        click.echo(
            f"{p.at:%a %Y-%m-%d %H:%M %Z} ({p.at.astimezone(dt.UTC):%H:%M} UTC)  {p.message}  "
            f"→ {', '.join(p.channels)}  [{fresh}]"
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

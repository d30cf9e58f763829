"""`bot run`: APScheduler keeps the calendar; each job is one call of `Runner.tick(now)`.

Only the holder of the "scheduler" lease ticks; a second `bot run` waits as a standby and takes
over when the first stops. APScheduler's own misfire handling is switched off on purpose
(`misfire_grace_time=None`): whether a late occasion still goes out is the Runner's decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.app import App
from bot.calendar.config import Schedule
from bot.calendar.planner import plan
from bot.errors import BotError
from bot.publish import lease
from bot.publish.lines import outcome_line
from bot.publish.progress import FanOutPrinter
from bot.publish.sender import Report, SenderBusy
from bot.schedule.runner import Runner, TickReport
from bot.subscribers.confirmations import keep_sending

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
LEASE = "scheduler"
LEASE_TTL = dt.timedelta(seconds=90)
TICK_SECONDS = 30
STANDBY_SECONDS = 15

Echo = Callable[[str], None]


def make_runner(runtime: Runtime, echo: Echo) -> Runner:
    """A Runner whose sends go through the configured (or folder) channels, logged as lines."""

    async def send() -> Report:
        # A daemon's log is not a terminal: FanOutPrinter writes a line per tenth of a fan-out.
        printer = FanOutPrinter(
            runtime.app.engine, lambda o: echo(outcome_line(o)), _lines(echo), terminal=False
        )
        try:
            report, _ = await runtime.send(None, printer)
            return report
        except SenderBusy as exc:
            echo(f"not sending this time: {exc}")
            return Report()
        finally:
            printer.finish()

    return runtime.runner(send)


def _lines(echo: Echo) -> Callable[[str], None]:
    """FanOutPrinter writes whole lines ending in a newline; echo adds its own."""

    def write(text: str) -> None:
        if text.strip():
            echo(text.rstrip("\n"))

    return write


def show_schedule(app: App, schedule: Schedule, echo: Echo, days: int = 7) -> None:
    """The next posts, local time and UTC."""
    now = app.clock()
    upcoming = plan(schedule, app.settings, now, now + dt.timedelta(days=days))
    echo(f"Next {days} days ({len(upcoming)} posts):")
    for p in upcoming[:20]:
        utc = p.at.astimezone(dt.UTC)
        echo(
            f"  {p.at:%a %Y-%m-%d %H:%M %Z} ({utc:%H:%M} UTC)  {p.message:<15} "
            f"{','.join(p.channels):<20} {p.key}"
        )
    if len(upcoming) > 20:
        echo(f"  … and {len(upcoming) - 20} more (`bot schedule --days {days}`)")


async def serve(runtime: Runtime, stop: asyncio.Event, echo: Echo) -> None:
    """Run until `stop` is set: standby until the lease is ours, then keep the calendar."""
    app, schedule = runtime.app, runtime.schedule
    owner = lease.new_owner()
    announced = False
    while not stop.is_set():
        holder = lease.acquire(app.engine, LEASE, owner, app.clock(), LEASE_TTL)
        if holder is None:
            break
        if not announced:
            echo(f"Standby: another `bot run` is active ({holder}); taking over when it stops.")
            announced = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STANDBY_SECONDS)
    if stop.is_set():
        echo("Stopped.")
        return
    web = app.settings.file.web
    listener = None
    if web.serve:  # else `bot web` serves the page, in a process of its own
        try:
            # Bound here, not by uvicorn: a port in use must be a message, not a sys.exit().
            listener = socket.create_server((web.host, web.port))
        except OSError as exc:
            lease.release(app.engine, LEASE, owner)
            raise BotError(
                f"cannot serve the web page on {web.host}:{web.port}: {exc.strerror}; "
                "another program uses it? Set [web] port in config/bot.toml"
            ) from None
    echo("Active: keeping the calendar.")
    show_schedule(app, schedule, echo)
    runner = make_runner(runtime, echo)
    server = runtime.web_server(web.host, web.port, own_signals=False) if listener else None
    web_task = asyncio.create_task(server.serve(sockets=[listener])) if server else None
    if listener is not None:
        echo(f"Web page: http://{web.host}:{listener.getsockname()[1]}/  (health: /health)")
    # Sign-ups queued by the page (this process's or `bot web`'s) become confirmation emails.
    signups_stop = asyncio.Event()
    signups = asyncio.create_task(keep_sending(runtime.confirmations, signups_stop))
    lost = asyncio.Event()
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    # Only the active process polls Telegram: two pollers of one token get 409 Conflict.
    running: list[AsyncIOScheduler] = []  # the scheduler, once started

    def tick_now() -> None:
        # An approval completed in Telegram: handle the calendar now, not at the next tick.
        for started in running:
            if started.running:
                started.modify_job("tick", next_run_time=dt.datetime.now(dt.UTC))

    # Staff's /postnow sends through the scheduler's sender, in this same event loop.
    telegram = runtime.telegram(send=runner.send, approved=tick_now)
    bot_stop = asyncio.Event()
    bot_task = asyncio.create_task(telegram(bot_stop)) if telegram else None
    if bot_task is not None:
        echo("Telegram bot: answering subscribers (/start, /subscribe, /stop, /latest).")

    async def tick() -> None:
        if lease.acquire(app.engine, LEASE, owner, app.clock(), LEASE_TTL) is not None:
            echo("Lost the scheduler lease to another process; stopping.")
            lost.set()
            return
        report: TickReport = await runner.tick(app.clock())
        for line in report.lines:
            echo(line)

    scheduler = AsyncIOScheduler(
        timezone=app.settings.tz,
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
    # A tick at start catches up on what was due while the bot was down.
    scheduler.add_job(
        tick, "interval", seconds=TICK_SECONDS, id="tick", next_run_time=dt.datetime.now(dt.UTC)
    )
    scheduler.start()
    running.append(scheduler)
    try:
        stopped = asyncio.create_task(stop.wait())
        lost_task = asyncio.create_task(lost.wait())
        await asyncio.wait({stopped, lost_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopped, lost_task):
            task.cancel()
    finally:
        scheduler.shutdown(wait=False)
        if runner.alerter is not None:
            await runner.alerter.close()
        bot_stop.set()
        if bot_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await bot_task
        signups_stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await signups
        if server is not None and web_task is not None and listener is not None:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await web_task
            listener.close()
        lease.release(app.engine, LEASE, owner)
        echo("Stopped.")

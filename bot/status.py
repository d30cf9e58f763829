"""What `bot status` and the Telegram bot's /status show: running, paused, figures, posts, problems.

One source for both, so staff read the same answer in a terminal and in a chat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.calendar.planner import plan
from bot.health import check
from bot.publish.history import local_time, recent
from bot.publish.progress import fan_out_progress
from bot.store.figures import newest_date

if TYPE_CHECKING:
    from bot.app import App
    from bot.calendar.config import Schedule


@dataclass(frozen=True)
class Line:
    """One line of the status, with the colour a terminal shows it in (None: plain)."""

    text: str
    colour: str | None = None


def status_lines(app: App, schedule: Schedule) -> list[Line]:
    """Running or not, paused or not, last and next posts, what awaits a decision."""
    now = app.clock()
    health = check(app.engine, now)
    lines = [
        Line(f"scheduler: {'running' if health.running else 'not running'}"),
        Line(f"paused:    {health.paused or 'no'}"),
    ]
    with app.engine.connect() as conn:
        newest = newest_date(conn)
    age = f"{newest} ({(app.today() - newest).days} days old)" if newest else "none entered"
    lines.append(Line(f"figures:   newest as of {age}"))
    lines.append(Line(f"channels:  {_channels(app)}"))
    for row in recent(app.engine, 3):
        states = ", ".join(f"{n} {s}" for s, n in sorted(row.states.items()))
        lines.append(
            Line(f"last:      #{row.id} {row.key} at {local_time(app, row.created_at)} ({states})")
        )
    for fan in fan_out_progress(app.engine, now):
        lines.append(Line(f"sending:   {fan.describe()}"))
    upcoming = plan(schedule, app.settings, now, now + dt.timedelta(days=7))[:3]
    for p in upcoming:
        where = ", ".join(
            n if app.settings.channel(n).enabled else f"{n} (off)" for n in p.channels
        )
        lines.append(Line(f"next:      {p.at:%Y-%m-%d %H:%M %Z} {p.message} → {where}"))
    lines += _approvals(app)
    if health.problems:
        lines.append(Line("needs attention:", "red"))
        lines += [Line(f"  - {problem}") for problem in health.problems]
    else:
        lines.append(Line("nothing needs attention", "green"))
    return lines


def _channels(app: App) -> str:
    """Each channel: off, posting to the platform, or writing to the outbox folder."""
    from bot.channels.registry import NAMES
    from bot.runtime import build_runtime

    runtime = build_runtime(app)
    shown = []
    for name in NAMES:
        if not runtime.enabled(name):
            shown.append(f"{name} off (config/bot.toml)")
        else:
            shown.append(f"{name} → {'platform' if runtime.via(name) == 'platform' else 'outbox'}")
    return " · ".join(shown)


def _approvals(app: App) -> list[Line]:
    """Requests waiting for staff, soonest due first."""
    from bot.approvals.gate import pending, summary

    found, last = pending(app.engine)
    return [
        Line(f"approval:  {summary(r, last)}, due {local_time(app, r.due_at)} (`bot approvals`)")
        for r in found
    ]

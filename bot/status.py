"""What `bot status` and the Telegram bot's /status show: running, paused, figures, posts, problems.

One source for both, so staff read the same answer in a terminal and in a chat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.publish.history import recent
from bot.publish.progress import fan_out_progress
from bot.publish.service import local_time
from bot.schedule.planner import plan
from bot.store.figures import newest_date
from bot.web.health import check

if TYPE_CHECKING:
    from bot.app import App
    from bot.schedule.config import Schedule


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
    for row in recent(app.engine, 3):
        states = ", ".join(f"{n} {s}" for s, n in sorted(row.states.items()))
        lines.append(
            Line(f"last:      #{row.id} {row.key} at {local_time(app, row.created_at)} ({states})")
        )
    for fan in fan_out_progress(app.engine, now):
        lines.append(Line(f"sending:   {fan.describe()}"))
    upcoming = plan(schedule, app.settings, now, now + dt.timedelta(days=7))[:3]
    for p in upcoming:
        lines.append(
            Line(f"next:      {p.at:%Y-%m-%d %H:%M %Z} {p.message} → {', '.join(p.channels)}")
        )
    lines += _approvals(app)
    if health.problems:
        lines.append(Line("needs attention:", "red"))
        lines += [Line(f"  - {problem}") for problem in health.problems]
    else:
        lines.append(Line("nothing needs attention", "green"))
    return lines


def _approvals(app: App) -> list[Line]:
    """Requests waiting for staff, soonest due first."""
    from bot.approvals.gate import pending, summary

    found, last = pending(app.engine)
    return [
        Line(f"approval:  {summary(r, last)}, due {local_time(app, r.due_at)} (`bot approvals`)")
        for r in found
    ]

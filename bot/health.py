"""Health: is the scheduler alive, and did every post that was due go out?

Read from the database by any process: /health (bot/web/health.py), `bot status` and the
Telegram /status. Blocking: an async caller runs it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot import control
from bot.store.schema import deliveries, leases, occasion_log

STALE_TICK = dt.timedelta(minutes=5)
RECENT = dt.timedelta(hours=24)


@dataclass
class Health:
    """What monitoring needs to know, and whether it is fine."""

    problems: list[str] = field(default_factory=list)
    running: bool = False
    paused: str | None = None
    last_tick: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        """True when nothing needs a person."""
        return not self.problems


def check(engine: sa.Engine, now: dt.datetime) -> Health:
    """Problems: a post due but not out (held, missed, failed), unknown deliveries, no scheduler."""
    health = Health()
    pause = control.current_pause(engine, now)
    health.paused = pause.describe() if pause else None
    health.last_tick = control.last_tick(engine)
    with engine.connect() as conn:
        holder = conn.execute(
            sa.select(leases.c.expires_at).where(leases.c.name == "scheduler")
        ).scalar()
        health.running = holder is not None and holder > now
        rows = conn.execute(
            sa.select(occasion_log.c.key, occasion_log.c.state, occasion_log.c.detail).where(
                occasion_log.c.state.in_(("held", "awaiting", "missed", "failed")),
                occasion_log.c.due_at >= now - RECENT,
            )
        ).all()
        unknown = (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(deliveries.c.state == "unknown")
            ).scalar()
            or 0
        )
    for key, state, detail in rows:
        health.problems.append(f"{key} {state}: {detail}")
    if unknown:
        health.problems.append(f"{unknown} deliveries may or may not have gone out (unknown)")
    if not health.running:
        health.problems.append("no scheduler is running (`bot run`)")
    elif health.last_tick and now - health.last_tick > STALE_TICK and not pause:
        health.problems.append(f"the scheduler has not ticked since {health.last_tick:%H:%M} UTC")
    return health

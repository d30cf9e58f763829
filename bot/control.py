"""Values that steer the bot and survive restarts: the emergency pause, the last tick."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from bot.store.schema import control

PAUSE = "pause"
LAST_TICK = "last_tick"


@dataclass(frozen=True)
class Pause:
    """Why and until when every outgoing post is stopped."""

    reason: str
    by: str
    since: dt.datetime
    until: dt.datetime | None

    def describe(self) -> str:
        """One line for staff."""
        until = f" until {self.until:%Y-%m-%d %H:%M %Z}" if self.until else ""
        return f"paused since {self.since:%Y-%m-%d %H:%M %Z} by {self.by}{until}: {self.reason}"


def _get(conn: sa.Connection, name: str) -> str | None:
    value: str | None = conn.execute(
        sa.select(control.c.value).where(control.c.name == name)
    ).scalar()
    return value


def _put(conn: sa.Connection, name: str, value: str, now: dt.datetime) -> None:
    updated = conn.execute(
        control.update().where(control.c.name == name).values(value=value, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(control.insert().values(name=name, value=value, updated_at=now))


def pause(
    engine: sa.Engine, reason: str, by: str, now: dt.datetime, until: dt.datetime | None
) -> None:
    """Stop every outgoing post until `resume` (or `until`)."""
    data = {
        "reason": reason,
        "by": by,
        "since": now.isoformat(),
        "until": until.isoformat() if until else None,
    }
    with engine.begin() as conn:
        _put(conn, PAUSE, json.dumps(data), now)


def resume(engine: sa.Engine) -> bool:
    """Lift the pause; False if there was none."""
    with engine.begin() as conn:
        return bool(conn.execute(control.delete().where(control.c.name == PAUSE)).rowcount)


def current_pause(engine: sa.Engine, now: dt.datetime) -> Pause | None:
    """The pause in force now, if any (one whose `until` has passed is over)."""
    with engine.connect() as conn:
        raw = _get(conn, PAUSE)
    if raw is None:
        return None
    data = json.loads(raw)
    until = dt.datetime.fromisoformat(data["until"]) if data.get("until") else None
    if until is not None and until <= now:
        return None
    return Pause(data["reason"], data["by"], dt.datetime.fromisoformat(data["since"]), until)


def last_tick(engine: sa.Engine) -> dt.datetime | None:
    """When the scheduler last looked at the calendar."""
    with engine.connect() as conn:
        raw = _get(conn, LAST_TICK)
    return dt.datetime.fromisoformat(raw) if raw else None


def set_last_tick(engine: sa.Engine, now: dt.datetime) -> None:
    """Remember that the calendar was handled up to `now`."""
    with engine.begin() as conn:
        _put(conn, LAST_TICK, now.isoformat(), now)

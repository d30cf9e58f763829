"""Figures waiting for a second member of staff: typed beyond the believable change.

When the only objection to an entry is a change faster than `max_change_per_day` in
config/figures.toml, it waits here under a short code instead of being dropped. Another member
of staff looks at it and confirms (`bot figures confirm CODE`, or `/setfigures confirm=CODE` in
Telegram); the person who typed it cannot. It is then checked again in full and stored under
the name of whoever typed it, "confirmed by" the other in its origin. `--correction "why"`
remains the way for one person to let such a change through, with the reason on record.

A proposal lasts a day. It is kept in the `control` table, whose rows are small named values
that survive restarts, so it needs no table of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from bot.config.figuredefs import FigureBook
from bot.errors import FigureError
from bot.figures.entries import Entry, Outcome, enter_in
from bot.store.schema import control

PREFIX = "figures-proposal:"
LIFETIME = dt.timedelta(hours=24)
# Letters and digits that cannot be mistaken for each other when read aloud or retyped.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Proposal:
    """Figures one person typed, waiting for another to confirm them."""

    code: str
    entries: tuple[Entry, ...]
    by: str
    origin: str
    at: dt.datetime
    # What made them unusual, as the checks said it.
    reasons: tuple[str, ...]

    @property
    def expires(self) -> dt.datetime:
        """When it is dropped unconfirmed."""
        return self.at + LIFETIME


def _to_json(proposal: Proposal) -> str:
    return json.dumps(
        {
            "entries": [
                {
                    "figure": e.figure,
                    "value": e.value,
                    "as_of": e.as_of.isoformat(),
                    "period_start": e.period_start.isoformat() if e.period_start else None,
                    "source": e.source,
                    "where": e.where,
                }
                for e in proposal.entries
            ],
            "by": proposal.by,
            "origin": proposal.origin,
            "at": proposal.at.isoformat(),
            "reasons": list(proposal.reasons),
        },
        ensure_ascii=False,
    )


def _from_json(code: str, raw: str) -> Proposal:
    data = json.loads(raw)
    entries = tuple(
        Entry(
            e["figure"],
            int(e["value"]),
            dt.date.fromisoformat(e["as_of"]),
            dt.date.fromisoformat(e["period_start"]) if e["period_start"] else None,
            e["source"],
            e["where"],
        )
        for e in data["entries"]
    )
    at = dt.datetime.fromisoformat(data["at"])
    return Proposal(code, entries, data["by"], data["origin"], at, tuple(data["reasons"]))


def propose(
    engine: sa.Engine,
    entries: list[Entry],
    *,
    by: str,
    now: dt.datetime,
    origin: str,
    reasons: list[str],
) -> Proposal:
    """Keep `entries` for a second person; the proposal with its code."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    proposal = Proposal(code, tuple(entries), by, origin, now, tuple(reasons))
    with engine.begin() as conn:
        # Proposals nobody confirmed in time are dropped as new ones come.
        for old in _rows(conn):
            if old.expires <= now:
                conn.execute(control.delete().where(control.c.name == PREFIX + old.code))
        conn.execute(
            control.insert().values(name=PREFIX + code, value=_to_json(proposal), updated_at=now)
        )
    return proposal


def _rows(conn: sa.Connection) -> list[Proposal]:
    rows = conn.execute(
        sa.select(control.c.name, control.c.value).where(control.c.name.startswith(PREFIX))
    )
    return [_from_json(row.name.removeprefix(PREFIX), row.value) for row in rows]


def waiting(engine: sa.Engine, now: dt.datetime) -> list[Proposal]:
    """Proposals that may still be confirmed, oldest first."""
    with engine.connect() as conn:
        found = [p for p in _rows(conn) if p.expires > now]
    return sorted(found, key=lambda p: p.at)


def find(engine: sa.Engine, code: str, now: dt.datetime) -> Proposal:
    """The proposal `code`; FigureError when there is none (any more)."""
    with engine.connect() as conn:
        return _load(conn, code, now)


def _load(conn: sa.Connection, code: str, now: dt.datetime) -> Proposal:
    wanted = code.strip().upper()
    raw = conn.execute(sa.select(control.c.value).where(control.c.name == PREFIX + wanted)).scalar()
    if raw is None or not wanted:
        raise FigureError(
            f"no figures wait for confirmation as {code!r} (`bot figures confirm` lists them)"
        )
    proposal = _from_json(wanted, raw)
    if proposal.expires <= now:
        raise FigureError(
            f"the figures {wanted} waited more than a day and were dropped; enter them again"
        )
    return proposal


def confirm(
    engine: sa.Engine,
    book: FigureBook,
    code: str,
    *,
    by: str,
    now: dt.datetime,
    today: dt.date,
) -> tuple[Proposal, Outcome]:
    """Store a proposal as its author typed it, checked again in full, on a second person's word.

    Taken out and stored in one transaction: confirmed twice, it is stored once.
    """
    with engine.begin() as conn:
        proposal = _load(conn, code, now)
        if by == proposal.by:
            raise FigureError(
                f"{by} typed these figures, so someone else must confirm them (or enter them "
                'again with --correction "why")'
            )
        taken = conn.execute(control.delete().where(control.c.name == PREFIX + proposal.code))
        if taken.rowcount != 1:
            raise FigureError(f"the figures {proposal.code} were confirmed meanwhile")
        outcome = enter_in(
            conn,
            book,
            list(proposal.entries),
            entered_by=proposal.by,
            now=now,
            origin=f"{proposal.origin}; confirmed by {by}"[:500],
            today=today,
            confirmed=True,
        )
    return proposal, outcome

"""Approval requests and votes in the database, and who entered the figures they carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from bot.approvals.content import (
    Authorship,
    Content,
    Edition,
    Slot,
    from_json,
    slot_order,
    slot_text,
)
from bot.store.schema import approval_requests, approval_votes, figure_snapshots, figure_values

APPROVE, REJECT = "approve", "reject"
OPEN = ("pending", "approved")


@dataclass(frozen=True)
class Vote:
    """One person's decision on a request."""

    voter: str
    decision: str
    via: str
    reason: str | None
    at: dt.datetime


@dataclass(frozen=True)
class Request:
    """A request for approval of one occasion's editions."""

    id: int
    key: str
    message: str
    due_at: dt.datetime
    needed: int
    fingerprint: str
    content: str
    state: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    reason: str | None
    replaces: int | None
    votes: tuple[Vote, ...]

    @cached_property
    def parsed(self) -> Content:
        """The stored content: editions, who entered each value, who asked to publish."""
        return from_json(self.content)

    @property
    def editions(self) -> list[Edition]:
        """The editions asked about."""
        return self.parsed.editions

    @property
    def requesters(self) -> tuple[str, ...]:
        """Who asked to publish it (`bot post-now`, /postnow); the calendar is nobody."""
        return self.parsed.requesters

    def excluded(self, current: Authorship) -> dict[str, str]:
        """Who may not approve, and why: under two approvals, nobody who entered or corrected a
        value it carries (as stored with the request, or as the figures stand now), nor anyone
        who asked to publish it."""
        if self.needed < 2:
            return {}
        entered: dict[str, list[str]] = {}
        for slot in sorted(self.parsed.authors.keys() | current.keys(), key=slot_order):
            for name in (*self.parsed.authors.get(slot, ()), *current.get(slot, ())):
                if slot_text(slot) not in entered.setdefault(name, []):
                    entered[name].append(slot_text(slot))
        out = {name: f"entered or corrected {_some(slots)}" for name, slots in entered.items()}
        for name in self.requesters:
            out.setdefault(name, "asked to publish it")
        return out

    def approvers(self, current: Authorship) -> list[str]:
        """Who approved and counts (see `excluded`)."""
        excluded = self.excluded(current)
        return [v.voter for v in self.votes if v.decision == APPROVE and v.voter not in excluded]

    def approved(self, current: Authorship) -> bool:
        """Enough approvals from people who count, and no rejection."""
        if self.state in ("rejected", "void"):
            return False
        return len(self.approvers(current)) >= self.needed


def _some(items: list[str], shown: int = 3) -> str:
    """`a, b, c and 4 more`."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _votes(conn: sa.Connection, ids: list[int]) -> dict[int, list[Vote]]:
    found: dict[int, list[Vote]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = conn.execute(
        sa.select(approval_votes)
        .where(approval_votes.c.request_id.in_(ids))
        .order_by(approval_votes.c.at, approval_votes.c.id)
    )
    for r in rows:
        found[r.request_id].append(Vote(r.voter, r.decision, r.via, r.reason, r.at))
    return found


def _requests(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> list[Request]:
    rows = conn.execute(query).all()
    votes = _votes(conn, [r.id for r in rows])
    return [
        Request(
            r.id,
            r.key,
            r.message,
            r.due_at,
            r.needed,
            r.fingerprint,
            r.content,
            r.state,
            r.created_at,
            r.decided_at,
            r.reason,
            r.replaces,
            tuple(votes[r.id]),
        )
        for r in rows
    ]


def get(conn: sa.Connection, request_id: int) -> Request | None:
    """One request, or None."""
    found = _requests(
        conn, sa.select(approval_requests).where(approval_requests.c.id == request_id)
    )
    return found[0] if found else None


def current(conn: sa.Connection, key: str) -> Request | None:
    """The newest request for an occasion that is not void."""
    found = _requests(
        conn,
        sa.select(approval_requests)
        .where(approval_requests.c.key == key, approval_requests.c.state != "void")
        .order_by(approval_requests.c.id.desc())
        .limit(1),
    )
    return found[0] if found else None


def listing(conn: sa.Connection, states: tuple[str, ...], limit: int = 50) -> list[Request]:
    """Requests in these states, the soonest due first."""
    return _requests(
        conn,
        sa.select(approval_requests)
        .where(approval_requests.c.state.in_(states))
        .order_by(approval_requests.c.due_at, approval_requests.c.id)
        .limit(limit),
    )


def create(
    conn: sa.Connection,
    *,
    key: str,
    message: str,
    due_at: dt.datetime,
    needed: int,
    fingerprint: str,
    content: str,
    now: dt.datetime,
    replaces: int | None,
) -> int:
    """A new pending request; its id."""
    result = conn.execute(
        approval_requests.insert().values(
            key=key,
            message=message,
            due_at=due_at,
            needed=needed,
            fingerprint=fingerprint,
            content=content,
            state="pending",
            created_at=now,
            replaces=replaces,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def set_state(
    conn: sa.Connection, request_id: int, state: str, now: dt.datetime, reason: str | None
) -> None:
    """Record a decision (approved, rejected) or that the request no longer applies (void)."""
    conn.execute(
        approval_requests.update()
        .where(approval_requests.c.id == request_id)
        .values(state=state, decided_at=now, reason=reason)
    )


def add_vote(
    conn: sa.Connection,
    request_id: int,
    voter: str,
    decision: str,
    via: str,
    reason: str | None,
    now: dt.datetime,
) -> None:
    """One person's decision; the unique key refuses a second one (IntegrityError)."""
    conn.execute(
        approval_votes.insert().values(
            request_id=request_id, voter=voter, decision=decision, via=via, reason=reason, at=now
        )
    )


def set_content(conn: sa.Connection, request_id: int, content: str) -> None:
    """Replace the stored content (to add who asked to publish; the fingerprint stays)."""
    conn.execute(
        approval_requests.update()
        .where(approval_requests.c.id == request_id)
        .values(content=content)
    )


def authors(conn: sa.Connection, slots: Iterable[Slot]) -> dict[Slot, tuple[str, ...]]:
    """Who entered or corrected each of these values, in the order they did.

    Every entry for the value's figure and date (or span) counts: the first one and each
    correction of it, so neither the person who typed a figure nor whoever changed it can
    be one of the two who check it.
    """
    wanted = set(slots)
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(
            figure_values.c.figure,
            figure_values.c.as_of,
            figure_values.c.period_start,
            figure_snapshots.c.entered_by,
        )
        .join(figure_snapshots, figure_snapshots.c.id == figure_values.c.snapshot_id)
        .where(figure_values.c.figure.in_({slot[0] for slot in wanted}))
        .order_by(figure_snapshots.c.entered_at, figure_snapshots.c.id)
    )
    found: dict[Slot, list[str]] = {slot: [] for slot in wanted}
    for row in rows:
        names = found.get((row.figure, row.as_of, row.period_start))
        if names is not None and row.entered_by not in names:
            names.append(row.entered_by)
    return {slot: tuple(names) for slot, names in found.items()}

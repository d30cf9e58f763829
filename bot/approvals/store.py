"""Approval requests and votes in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from bot.approvals.content import Edition, from_json
from bot.store.schema import approval_requests, approval_votes, figure_snapshots

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

    @property
    def editions(self) -> list[Edition]:
        """The editions asked about."""
        return from_json(self.content)

    def approvers(self, last_changer: str | None) -> list[str]:
        """Who approved and counts: under a two-approval rule, not who entered the figures."""
        return [
            v.voter
            for v in self.votes
            if v.decision == APPROVE and not (self.needed >= 2 and v.voter == last_changer)
        ]

    def approved(self, last_changer: str | None) -> bool:
        """Enough approvals, and no rejection."""
        if self.state in ("rejected", "void"):
            return False
        return len(self.approvers(last_changer)) >= self.needed


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


def last_figure_changer(conn: sa.Connection) -> str | None:
    """Who entered the newest figures."""
    row = conn.execute(
        sa.select(figure_snapshots.c.entered_by)
        .order_by(figure_snapshots.c.entered_at.desc(), figure_snapshots.c.id.desc())
        .limit(1)
    ).first()
    return str(row.entered_by) if row else None

"""The delivery state machine: every change of a delivery's state, as statements on a connection.

Both ways the sender works (one delivery at a time, and a fan-out's group commit in
`bot.publish.ledger`) change states only through these functions, inside the caller's
transaction, so the two cannot drift apart and a crash at any point leaves a state the next run
reads the same way whichever path wrote it:

    pending ──claim──► sending ──sent──► sent
       ▲                  ├──retry──► pending (with next_attempt_at)
       │                  ├──finish─► failed, or unknown (it may have gone out)
       │                  └─(crash)── recover ──► unknown (never re-sent on its own)
       ├──cancel──► cancelled (the subscriber left after the publication was decided)
       └──finish──► failed (refused before any claim: over X's daily budget)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bot.channels.base import RateLimited, RecipientGone, Rejected, TemporaryFailure, Uncertain
from bot.store.schema import deliveries

# The errors a channel raises to say what became of a delivery (RecipientGone is a Rejected).
KNOWN = (RateLimited, TemporaryFailure, Rejected, Uncertain)
CANCELLED = "the subscriber is no longer subscribed"

# Built once, with bind parameters, so that SQLAlchemy reuses their compiled form: a fan-out runs
# the claim and the `sent` for every message, and an executemany of one compiled statement costs
# less than an UPDATE … IN of a list whose length varies (docs/PERFORMANCE.md).
_CLAIM = (
    deliveries.update()
    .where(deliveries.c.id == sa.bindparam("b_id"), deliveries.c.state == "pending")
    .values(
        state="sending",
        attempts=deliveries.c.attempts + 1,
        inflight_part=sa.bindparam("b_part"),
        updated_at=sa.bindparam("b_at"),
    )
)
_SENT = (
    deliveries.update()
    .where(deliveries.c.id == sa.bindparam("b_id"))
    .values(
        state="sent",
        ids=sa.bindparam("b_ids"),
        sent_at=sa.bindparam("b_at"),
        updated_at=sa.bindparam("b_at"),
        inflight_part=None,
        error=None,
    )
)
_CANCEL = (
    deliveries.update()
    .where(deliveries.c.id.in_(sa.bindparam("b_ids", expanding=True)))
    .values(
        state="cancelled",
        error=CANCELLED,
        inflight_part=None,
        updated_at=sa.bindparam("b_at"),
    )
)


@dataclass(frozen=True)
class Recovered:
    """A delivery a dead process left `sending`, now `unknown`."""

    id: int
    channel: str
    target: str
    detail: str


def claim(conn: sa.Connection, ids: Sequence[int], now: dt.datetime, part: int = 0) -> set[int]:
    """Mark these pending deliveries `sending` (`part` is the first to go out); those this got.

    The caller commits before handing any of them to a channel: a delivery that may be on the
    wire is `sending` in the database, so a crash leaves it to `recover`, never to a re-send.
    """
    params = [{"b_id": i, "b_at": now, "b_part": part} for i in ids]
    count = conn.execute(_CLAIM, params).rowcount
    if len(ids) == 1 or conn.dialect.supports_sane_multi_rowcount:
        if count == len(ids):
            return set(ids)
        if count == 0:
            return set()
    # Some were no longer pending. Within the lease nobody else claims: those `sending` now are
    # this claim's.
    return set(
        conn.execute(
            sa.select(deliveries.c.id).where(
                deliveries.c.id.in_(ids), deliveries.c.state == "sending"
            )
        ).scalars()
    )


def sent(conn: sa.Connection, landed: Sequence[tuple[int, list[str]]], now: dt.datetime) -> None:
    """Record these deliveries as sent, each with every platform id of its parts."""
    params = [{"b_id": i, "b_ids": json.dumps(ids), "b_at": now} for i, ids in landed]
    conn.execute(_SENT, params)


def cancel(conn: sa.Connection, ids: Sequence[int], now: dt.datetime) -> None:
    """Deliveries to people who unsubscribed after the publication was decided: never sent."""
    conn.execute(_CANCEL, {"b_ids": list(ids), "b_at": now})


def retry(
    conn: sa.Connection,
    delivery_id: int,
    ids: list[str],
    error: str,
    when: dt.datetime,
    now: dt.datetime,
) -> None:
    """Back to `pending`, not before `when`; the parts already out are kept and not re-sent."""
    conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id)
        .values(
            state="pending",
            ids=json.dumps(ids),
            error=error,
            inflight_part=None,
            next_attempt_at=when,
            updated_at=now,
        )
    )


def finish(
    conn: sa.Connection,
    delivery_id: int,
    state: str,
    error: str,
    ids: list[str] | None,
    now: dt.datetime,
) -> None:
    """End a delivery that was not sent: `failed`, or `unknown` for staff to check."""
    values: dict[str, object] = {"state": state, "error": error, "inflight_part": None}
    if ids is not None:
        values["ids"] = json.dumps(ids)
    conn.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(updated_at=now, **values)
    )


def after_error(
    conn: sa.Connection,
    delivery_id: int,
    attempts: int,
    ids: list[str],
    exc: Exception,
    now: dt.datetime,
    max_attempts: int,
) -> tuple[str, str]:
    """Record what a channel's error means for a claimed delivery: its new state, and why."""
    if isinstance(exc, RateLimited):
        when = now + dt.timedelta(seconds=exc.retry_after)
        retry(conn, delivery_id, ids, str(exc), when, now)
        return "pending", f"rate limited; retrying at {when:%H:%M:%S} UTC"
    if isinstance(exc, TemporaryFailure) and attempts + 1 < max_attempts:
        when = now + dt.timedelta(seconds=min(3600, 5 * 2**attempts))
        retry(conn, delivery_id, ids, str(exc), when, now)
        return "pending", f"{exc}; retrying at {when:%H:%M:%S} UTC"
    if isinstance(exc, TemporaryFailure):
        state, detail = "failed", f"{exc} (gave up after {max_attempts} attempts)"
    elif isinstance(exc, RecipientGone):
        # Never retried forever: the person blocked the bot or the address is gone.
        state, detail = "failed", f"{exc} (subscriber deactivated)"
    elif isinstance(exc, Rejected):
        state, detail = "failed", str(exc)
    else:  # Uncertain: it may have gone out, so only staff may decide to send it again
        state, detail = "unknown", str(exc)
    finish(conn, delivery_id, state, detail, ids, now)
    return state, detail


def recover(conn: sa.Connection, now: dt.datetime) -> list[Recovered]:
    """Deliveries left `sending` by a process that died: the part in flight may be out."""
    stale = conn.execute(
        sa.select(
            deliveries.c.id, deliveries.c.channel, deliveries.c.target, deliveries.c.inflight_part
        ).where(deliveries.c.state == "sending")
    ).all()
    found = []
    for delivery_id, channel, target, part in stale:
        detail = (
            f"interrupted while sending part {int(part or 0) + 1}; it may or may not have "
            "gone out: check the platform, then `bot deliveries resolve`"
        )
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id, deliveries.c.state == "sending")
            .values(state="unknown", error=detail, updated_at=now)
        )
        found.append(Recovered(delivery_id, channel, target, detail))
    return found


class PartProgress:
    """Writes each part's intent and result, so a crash mid-thread can resume or be flagged."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime],
        delivery_id: int,
        ids: list[str],
        total: int,
    ) -> None:
        self.engine, self.clock, self.delivery_id = engine, clock, delivery_id
        self.ids, self.total = ids, total

    async def before(self, index: int) -> None:
        if index > 0:  # part 0 was marked in flight by the claim
            self._update(inflight_part=index)

    async def after(self, index: int, platform_id: str) -> None:
        self.ids.append(platform_id)
        if index + 1 < self.total:  # the last id is written with the final state
            self._update(ids=json.dumps(self.ids), inflight_part=None)

    def _update(self, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == self.delivery_id)
                .values(updated_at=self.clock(), **values)
            )

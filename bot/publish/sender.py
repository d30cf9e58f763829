"""Working off the outbox: claim a delivery, send it, record what the platform answered.

Every step is written to the database before the next one starts, so a process killed at any
moment leaves a state the next run can act on: `pending` is sent, `sending` means the process
died mid-call, so that delivery becomes `unknown` and is never re-sent blindly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from bot.channels.base import (
    Channel,
    Payload,
    RateLimited,
    RecipientGone,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.errors import BotError
from bot.publish import lease
from bot.publish.budget import Budget
from bot.store.schema import deliveries, editions, subscribers

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
LEASE = "sender"
LEASE_TTL = dt.timedelta(minutes=2)
BATCH = 200
# A fan-out (one message per subscriber, on a channel sending several at a time) is claimed and
# recorded in chunks: `CHUNK_PER_WIDTH` × the channel's concurrency, at most `CHUNK_MAX`. A crash
# leaves at most one chunk `sending` (all of it becomes `unknown`, never re-sent). One chunk per
# width keeps that to what is really in flight at once (4 emails): larger chunks measured faster
# (43% of bare aiosmtplib against 32%, docs/PERFORMANCE.md), but each unsent message of a chunk
# left `unknown` by a crash is a person who gets nothing until staff resolve it.
CHUNK_PER_WIDTH = 1
CHUNK_MAX = 32
# How often a fan-out renews the lease between chunks; well within LEASE_TTL.
RENEW_EVERY = dt.timedelta(seconds=15)
# The errors a channel raises to say what became of a delivery (RecipientGone is a Rejected).
_KNOWN = (RateLimited, TemporaryFailure, Rejected, Uncertain)
_CANCELLED = "the subscriber is no longer subscribed"

# The plain successes of a chunk, in one executemany.
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


@dataclass(frozen=True)
class Outcome:
    """The end of one attempt at one delivery, for the terminal and the logs."""

    delivery_id: int
    channel: str
    target: str
    lang: str
    state: str
    detail: str
    # Which publication, and whose: a fan-out to subscribers is shown as a running count.
    publication_id: int | None = None
    subscriber_id: int | None = None


@dataclass
class Report:
    """What a run of the sender did."""

    # Every outcome except a subscriber's plain "sent": a fan-out of 100,000 must not keep
    # 100,000 records in memory; those are counted in `states` only.
    outcomes: list[Outcome] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    waiting_until: dt.datetime | None = None
    paused: str | None = None

    def count(self, state: str) -> int:
        """How many deliveries ended in `state` in this run."""
        return self.states[state]


@dataclass(frozen=True)
class _Due:
    """A pending delivery with what is needed to send it."""

    id: int
    target: str
    ids: str
    attempts: int
    subscriber_id: int | None
    payload: str
    status: str | None
    token: str | None
    publication_id: int | None = None
    edition_id: int | None = None


class SenderBusy(BotError):
    """Another process holds the sender lease."""


class _Progress:
    """Writes each part's intent and result, so a crash mid-thread can resume or be flagged."""

    def __init__(self, sender: Sender, delivery_id: int, ids: list[str], total: int) -> None:
        self.sender, self.delivery_id, self.ids, self.total = sender, delivery_id, ids, total

    async def before(self, index: int) -> None:
        if index > 0:  # part 0 was marked in flight when the delivery was claimed
            self.sender._update(self.delivery_id, inflight_part=index)

    async def after(self, index: int, platform_id: str) -> None:
        self.ids.append(platform_id)
        if index + 1 < self.total:  # the last id is written with the final state
            self.sender._update(self.delivery_id, ids=json.dumps(self.ids), inflight_part=None)


class Sender:
    """Sends pending deliveries through the channels, honouring rate limits and budgets."""

    def __init__(
        self,
        engine: sa.Engine,
        channels: Mapping[str, Channel],
        *,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        budgets: Mapping[str, Budget] | None = None,
        unsubscribe_url: Callable[[str], str] | None = None,
        concurrency: Mapping[str, int] | None = None,
        max_attempts: int = 8,
        max_wait_seconds: float = 600,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.engine = engine
        self.channels = channels
        self.clock = clock
        self.sleep = sleep
        self.budgets = budgets or {}
        # Subscriber token → this person's one-click unsubscribe URL (signed by the web app).
        self.unsubscribe_url = unsubscribe_url or (lambda token: "")
        self.concurrency = concurrency or {}
        self.max_attempts = max_attempts
        self.max_wait = dt.timedelta(seconds=max_wait_seconds)
        self.on_outcome = on_outcome
        self.owner = lease.new_owner()
        # The deliveries being attempted, so each outcome can say which publication and
        # subscriber it concerns (at most `concurrency` at a time).
        self._attempting: dict[int, _Due] = {}
        self._renewed_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        # Publications of which an outcome was emitted (see `_record_sent`).
        self._announced: set[int | None] = set()

    def _paused(self, report: Report) -> bool:
        # Checked before every delivery: a pause stops even a fan-out already under way.
        from bot import control

        found = control.current_pause(self.engine, self.clock())
        if found is not None:
            report.paused = found.describe()
        return found is not None

    def _update(self, delivery_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(updated_at=self.clock(), **values)
            )

    async def run(self, publication_id: int | None = None) -> Report:
        """Send everything due (of one publication, or all); returns what happened."""
        holder = lease.acquire(self.engine, LEASE, self.owner, self.clock(), LEASE_TTL)
        if holder is not None:
            raise SenderBusy(
                f"another bot process is sending ({holder}); it will send these deliveries too"
            )
        report = Report()
        try:
            self._recover(report)
            started = self.clock()
            await asyncio.gather(
                *(
                    self._work(name, channel, publication_id, report, started)
                    for name, channel in self.channels.items()
                )
            )
        finally:
            lease.release(self.engine, LEASE, self.owner)
        return report

    def _recover(self, report: Report) -> None:
        """Deliveries left `sending` by a process that died: the part in flight may be out."""
        with self.engine.begin() as conn:
            stale = conn.execute(
                sa.select(
                    deliveries.c.id,
                    deliveries.c.channel,
                    deliveries.c.target,
                    deliveries.c.inflight_part,
                ).where(deliveries.c.state == "sending")
            ).all()
            for delivery_id, channel, target, part in stale:
                detail = (
                    f"interrupted while sending part {int(part or 0) + 1}; it may or may not have "
                    "gone out: check the platform, then `bot deliveries resolve`"
                )
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id == delivery_id, deliveries.c.state == "sending")
                    .values(state="unknown", error=detail, updated_at=self.clock())
                )
                # Emitted, not only recorded: staff running `deliveries send` after a crash
                # must be told which deliveries now await their check.
                self._emit(report, delivery_id, channel, target, "", "unknown", detail)

    def _due(self, channel: str, publication_id: int | None) -> list[_Due]:
        now = self.clock()
        query = (
            sa.select(
                deliveries.c.id,
                deliveries.c.target,
                deliveries.c.ids,
                deliveries.c.attempts,
                deliveries.c.subscriber_id,
                editions.c.payload,
                subscribers.c.status,
                subscribers.c.token,
                deliveries.c.publication_id,
                deliveries.c.edition_id,
            )
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .outerjoin(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(
                deliveries.c.channel == channel,
                deliveries.c.state == "pending",
                sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
                self._via_matches(channel),
            )
            .order_by(deliveries.c.id)
            .limit(BATCH)
        )
        if publication_id is not None:
            query = query.where(deliveries.c.publication_id == publication_id)
        with self.engine.connect() as conn:
            return [_Due(**row._mapping) for row in conn.execute(query)]

    def _via_matches(self, channel: str) -> sa.ColumnElement[bool]:
        """Only deliveries meant for what this channel is (the platform, or the folder)."""
        return sa.or_(deliveries.c.via.is_(None), deliveries.c.via == self._via(channel))

    def _via(self, channel: str) -> str:
        from bot.channels.folder import FolderChannel

        return "folder" if isinstance(self.channels[channel], FolderChannel) else "platform"

    def waiting_elsewhere(self, publication_id: int | None = None) -> dict[str, int]:
        """Pending deliveries this sender will not send: meant for the platform, or the folder."""
        out = {}
        for channel in self.channels:
            query = (
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(
                    deliveries.c.channel == channel,
                    deliveries.c.state == "pending",
                    sa.not_(self._via_matches(channel)),
                )
            )
            if publication_id is not None:
                query = query.where(deliveries.c.publication_id == publication_id)
            with self.engine.connect() as conn:
                count = int(conn.execute(query).scalar() or 0)
            if count:
                out[channel] = count
        return out

    def _next_due(self, channel: str, publication_id: int | None) -> dt.datetime | None:
        query = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.channel == channel,
            deliveries.c.state == "pending",
            self._via_matches(channel),
        )
        if publication_id is not None:
            query = query.where(deliveries.c.publication_id == publication_id)
        with self.engine.connect() as conn:
            found: dt.datetime | None = conn.execute(query).scalar()
        if found is not None and found.tzinfo is None:
            found = found.replace(tzinfo=dt.UTC)
        return found

    async def _work(
        self,
        name: str,
        channel: Channel,
        publication_id: int | None,
        report: Report,
        started: dt.datetime,
    ) -> None:
        width = max(1, self.concurrency.get(name, 1))
        gate = asyncio.Semaphore(width)

        async def one(row: _Due) -> bool:
            async with gate:
                return await self._deliver(name, channel, row, report)

        while True:
            self._renew()
            if self._paused(report):
                return
            rows = self._due(name, publication_id)
            if rows:
                limited = False
                # Posts to the public chat or account go one at a time, in order, and a rate
                # limit stops the rest of the batch: parts of two editions must not interleave.
                # Only a fan-out (one message per subscriber) goes `width` at a time.
                fan = [row for row in rows if row.subscriber_id is not None] if width > 1 else []
                for row in rows if width == 1 else [r for r in rows if r.subscriber_id is None]:
                    if not await one(row):
                        limited = True
                        break
                if fan and not limited:
                    await self._fan_out(name, channel, fan, report, width, one)
                if not limited or report.paused:
                    continue  # (a pause ends the loop at its top)
                # ...and holds the channel until the limit ends. Going straight back to the
                # query sent the next delivery at once: the limit is the account's (Telegram
                # lengthens the wait of a bot that keeps sending) and the editions lost their
                # order. The rate-limited delivery is the one due first.
            due = self._next_due(name, publication_id)
            if due is None:
                return
            if due - started > self.max_wait:
                report.waiting_until = max(report.waiting_until or due, due)
                return
            await self.sleep(max(0.0, (due - self.clock()).total_seconds()))

    def _renew(self) -> None:
        # A long fan-out outlives the lease's first term; losing it means another process
        # may start sending the same deliveries, so stop rather than risk a double send.
        now = self.clock()
        holder = lease.acquire(self.engine, LEASE, self.owner, now, LEASE_TTL)
        if holder is not None:
            raise SenderBusy(f"the sending lease was taken over by {holder}; stopping")
        self._renewed_at = now

    async def _fan_out(
        self,
        name: str,
        channel: Channel,
        rows: list[_Due],
        report: Report,
        width: int,
        one: Callable[[_Due], Awaitable[bool]],
    ) -> None:
        """Subscribers' deliveries, a chunk at a time: one claim and one record per chunk.

        Per chunk: the pause is checked once, the chunk is claimed (`sending`) in one
        transaction before anything of it is sent, sent `width` at a time, and its plain
        successes are written in one executemany; every other outcome is written as it comes.
        """
        # A resumed thread (parts already out) or a budgeted channel: one at a time, as always.
        odd = [row for row in rows if row.ids != "[]" or name in self.budgets]
        if odd:
            await asyncio.gather(*(one(row) for row in odd))
            rows = [row for row in rows if row.ids == "[]" and name not in self.budgets]
        size = max(1, min(CHUNK_MAX, CHUNK_PER_WIDTH * width))
        parsed: dict[int | None, Payload] = {}  # each edition's payload, parsed once
        gate = asyncio.Semaphore(width)
        for start in range(0, len(rows), size):
            if self.clock() - self._renewed_at >= RENEW_EVERY:
                self._renew()
            if self._paused(report):
                return  # a pause stops a fan-out between chunks
            chunk = rows[start : start + size]
            for row in chunk:
                if row.edition_id not in parsed:
                    parsed[row.edition_id] = Payload.from_json(json.loads(row.payload))
            for row in chunk:
                self._attempting[row.id] = row
            try:
                await self._chunk(name, channel, chunk, parsed, report, gate)
            finally:
                for row in chunk:
                    self._attempting.pop(row.id, None)

    async def _chunk(
        self,
        name: str,
        channel: Channel,
        chunk: list[_Due],
        parsed: Mapping[int | None, Payload],
        report: Report,
        gate: asyncio.Semaphore,
    ) -> None:
        for row in chunk:
            if row.status != "active":
                lang = parsed[row.edition_id].lang
                self._finish(report, row.id, name, row.target, lang, "cancelled", _CANCELLED)
        wanted = [row for row in chunk if row.status == "active"]
        if not wanted:
            return
        claimed = self._claim([row.id for row in wanted])
        sent: list[tuple[_Due, str, list[str]]] = []  # (row, lang, ids), in order of landing

        async def send(row: _Due) -> None:
            base = parsed[row.edition_id]
            extra = dict(base.extra)
            if name == "email" and row.token:
                extra = {"unsubscribe_url": self.unsubscribe_url(row.token)}
            payload = replace(base, target=row.target, extra=extra)
            progress = _Progress(self, row.id, [], len(payload.parts))
            async with gate:
                try:
                    ids = await channel.publish(payload, [], progress)
                except _KNOWN as exc:
                    self._failed(report, name, row, payload.lang, progress.ids, exc)
                    return
            sent.append((row, payload.lang, ids))

        try:
            await asyncio.gather(*(send(row) for row in wanted if row.id in claimed))
        finally:
            # Also when interrupted: what landed is recorded; the rest of the chunk stays
            # `sending` and becomes `unknown` on the next run.
            self._record_sent(report, name, sent)

    def _claim(self, ids: list[int]) -> set[int]:
        """Mark these pending deliveries `sending` in one transaction; the ids this run got."""
        claim = (
            deliveries.update()
            .where(deliveries.c.id.in_(ids), deliveries.c.state == "pending")
            .values(
                state="sending",
                attempts=deliveries.c.attempts + 1,
                inflight_part=0,
                updated_at=self.clock(),
            )
        )
        with self.engine.begin() as conn:
            if self.engine.dialect.update_returning:
                return set(conn.execute(claim.returning(deliveries.c.id)).scalars())
            conn.execute(claim)
            # Within the lease nobody else claims: those `sending` now are this claim's.
            return set(
                conn.execute(
                    sa.select(deliveries.c.id).where(
                        deliveries.c.id.in_(ids), deliveries.c.state == "sending"
                    )
                ).scalars()
            )

    def _record_sent(
        self, report: Report, name: str, sent: list[tuple[_Due, str, list[str]]]
    ) -> None:
        """Write the plain successes in one executemany, then tell `on_outcome` of each."""
        group: list[tuple[_Due, str, list[str]]] = []
        for item in sent:
            if item[0].publication_id in self._announced:
                group.append(item)
                continue
            # A publication's first outcome goes on its own: a watcher (progress.Tracker) counts
            # what the table holds at the first outcome it hears of, and then each one after.
            self._write_sent(report, name, group)
            self._write_sent(report, name, [item])
            group = []
        self._write_sent(report, name, group)
        sent.clear()

    def _write_sent(
        self, report: Report, name: str, sent: list[tuple[_Due, str, list[str]]]
    ) -> None:
        if not sent:
            return
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                _SENT,
                [{"b_id": row.id, "b_ids": json.dumps(ids), "b_at": now} for row, _, ids in sent],
            )
        for row, lang, ids in sent:
            self._emit(report, row.id, name, row.target, lang, "sent", " ".join(ids))

    async def _deliver(self, name: str, channel: Channel, row: _Due, report: Report) -> bool:
        """One attempt; False when the channel asked us to slow down or the bot is paused."""
        self._attempting[row.id] = row
        try:
            return await self._attempt(name, channel, row, report)
        finally:
            del self._attempting[row.id]

    async def _attempt(self, name: str, channel: Channel, row: _Due, report: Report) -> bool:
        if self._paused(report):
            return False
        delivery_id, target, attempts = row.id, row.target, row.attempts
        data = json.loads(row.payload)
        data["target"] = target
        if row.subscriber_id is not None:
            if row.status != "active":
                self._finish(
                    report,
                    delivery_id,
                    name,
                    target,
                    data["lang"],
                    "cancelled",
                    _CANCELLED,
                )
                return True
            if name == "email" and row.token:
                data["extra"] = {"unsubscribe_url": self.unsubscribe_url(row.token)}
        payload = Payload.from_json(data)
        done: list[str] = json.loads(row.ids)
        # Only the parts still to send: those already out (a thread resumed after a failure)
        # are counted in today's use by the budget, and must not be paid for twice.
        rest = replace(payload, parts=payload.parts[len(done) :])
        refusal = self.budgets[name].refusal(rest, self.clock()) if name in self.budgets else None
        if refusal:
            self._finish(report, delivery_id, name, target, payload.lang, "failed", refusal)
            return True
        with self.engine.begin() as conn:
            claimed = conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id, deliveries.c.state == "pending")
                .values(
                    state="sending",
                    attempts=attempts + 1,
                    inflight_part=len(done),
                    updated_at=self.clock(),
                )
            ).rowcount
        if claimed != 1:
            return True  # someone else took it
        progress = _Progress(self, delivery_id, done, len(payload.parts))
        try:
            ids = await channel.publish(payload, list(done), progress)
        except _KNOWN as exc:
            return self._failed(report, name, row, payload.lang, progress.ids, exc)
        self._finish(
            report, delivery_id, name, target, payload.lang, "sent", " ".join(ids), ids, sent=True
        )
        return True

    def _failed(
        self, report: Report, name: str, row: _Due, lang: str, ids: list[str], exc: Exception
    ) -> bool:
        """Record what a channel's error means for this delivery; False for a rate limit."""
        delivery_id, target, attempts = row.id, row.target, row.attempts
        if isinstance(exc, RateLimited):
            retry = self.clock() + dt.timedelta(seconds=exc.retry_after)
            self._retry(delivery_id, ids, str(exc), retry)
            self._emit(
                report,
                delivery_id,
                name,
                target,
                lang,
                "pending",
                f"rate limited; retrying at {retry:%H:%M:%S} UTC",
            )
            return False
        if isinstance(exc, TemporaryFailure):
            if attempts + 1 >= self.max_attempts:
                self._finish(
                    report,
                    delivery_id,
                    name,
                    target,
                    lang,
                    "failed",
                    f"{exc} (gave up after {self.max_attempts} attempts)",
                    ids,
                )
            else:
                delay = min(3600, 5 * 2**attempts)
                retry = self.clock() + dt.timedelta(seconds=delay)
                self._retry(delivery_id, ids, str(exc), retry)
                self._emit(
                    report,
                    delivery_id,
                    name,
                    target,
                    lang,
                    "pending",
                    f"{exc}; retrying at {retry:%H:%M:%S} UTC",
                )
            return True
        if isinstance(exc, RecipientGone):
            # Never retried forever: the person blocked the bot or the address is gone.
            if row.subscriber_id is not None:
                from bot.subscribers.store import deactivate

                deactivate(self.engine, row.subscriber_id, self.clock())
            self._finish(
                report,
                delivery_id,
                name,
                target,
                lang,
                "failed",
                f"{exc} (subscriber deactivated)",
                ids,
            )
            return True
        if isinstance(exc, Rejected):
            self._finish(report, delivery_id, name, target, lang, "failed", str(exc), ids)
            return True
        self._finish(report, delivery_id, name, target, lang, "unknown", str(exc), ids)
        return True  # Uncertain: it may have gone out

    def _retry(self, delivery_id: int, ids: list[str], error: str, when: dt.datetime) -> None:
        self._update(
            delivery_id,
            state="pending",
            ids=json.dumps(ids),
            error=error,
            inflight_part=None,
            next_attempt_at=when,
        )

    def _finish(
        self,
        report: Report,
        delivery_id: int,
        channel: str,
        target: str,
        lang: str,
        state: str,
        detail: str,
        ids: list[str] | None = None,
        sent: bool = False,
    ) -> None:
        values: dict[str, object] = {
            "state": state,
            "inflight_part": None,
            "error": None if sent else detail,
        }
        if ids is not None:
            values["ids"] = json.dumps(ids)
        if sent:
            values["sent_at"] = self.clock()
        self._update(delivery_id, **values)
        self._emit(report, delivery_id, channel, target, lang, state, detail)

    def _emit(
        self,
        report: Report,
        delivery_id: int,
        channel: str,
        target: str,
        lang: str,
        state: str,
        detail: str,
    ) -> None:
        row = self._attempting.get(delivery_id)
        outcome = Outcome(
            delivery_id,
            channel,
            target,
            lang,
            state,
            detail,
            row.publication_id if row else None,
            row.subscriber_id if row else None,
        )
        report.states[state] += 1
        self._announced.add(outcome.publication_id)
        if not (state == "sent" and outcome.subscriber_id is not None):
            report.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)

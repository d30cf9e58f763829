"""Working off the outbox: claim a delivery, send it, record what the platform answered.

Every step is written to the database before the next one starts, so a process killed at any
moment leaves a state the next run can act on: `pending` is sent, `sending` means the process
died mid-call, so that delivery becomes `unknown` and is never re-sent blindly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter, deque
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
from bot.store.schema import control as control_table
from bot.store.schema import deliveries, editions, subscribers

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
LEASE = "sender"
LEASE_TTL = dt.timedelta(minutes=2)
BATCH = 200
# A fan-out (one message per subscriber, on a channel sending several at a time) runs one worker
# per connection, and each worker holds at most `CHUNK_PER_WIDTH` (one) delivery `sending`: the
# claim of its next delivery and the result of its last are one transaction. A crash therefore
# leaves at most one delivery per connection `sending` (it becomes `unknown`, never re-sent).
# Claiming more ahead measured faster (docs/PERFORMANCE.md), but each unsent message left
# `unknown` by a crash is a person who gets nothing until staff resolve it.
CHUNK_PER_WIDTH = 1
# The longest a fan-out worker waits for others to share its transaction (see `_Ledger`).
GATHER_SECONDS = 0.002
# How often a fan-out renews the lease between chunks; well within LEASE_TTL.
RENEW_EVERY = dt.timedelta(seconds=15)
# The errors a channel raises to say what became of a delivery (RecipientGone is a Rejected).
_KNOWN = (RateLimited, TemporaryFailure, Rejected, Uncertain)
_CANCELLED = "the subscriber is no longer subscribed"

# The statements of a fan-out, built once: SQLAlchemy then reuses their compiled form.
# The plain successes of the workers waiting, in one executemany.
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
# Their next deliveries: one executemany of a statement compiled once (cheaper than an
# UPDATE … IN of a list whose length varies), whose row count says whether all were claimed.
_CLAIM = (
    deliveries.update()
    .where(deliveries.c.id == sa.bindparam("b_id"), deliveries.c.state == "pending")
    .values(
        state="sending",
        attempts=deliveries.c.attempts + 1,
        inflight_part=0,
        updated_at=sa.bindparam("b_at"),
    )
)
# Whether a pause is set at all (`bot.control` reads it fully when one is).
_PAUSE_SET = sa.select(control_table.c.name).where(control_table.c.name == "pause")
# Deliveries to people who unsubscribed after the publication was decided.
_CANCEL = (
    deliveries.update()
    .where(deliveries.c.id.in_(sa.bindparam("b_ids", expanding=True)))
    .values(
        state="cancelled",
        error=sa.bindparam("b_error"),
        inflight_part=None,
        updated_at=sa.bindparam("b_at"),
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


@dataclass(frozen=True)
class _Landed:
    """A fan-out delivery the channel took, waiting for its `sent` to be written."""

    row: _Due
    lang: str
    ids: list[str]


@dataclass(frozen=True)
class _Booked:
    """What one transaction of the ledger claimed and cancelled, and the pause it found."""

    claimed: list[_Due]
    cancelled: list[_Due]
    paused: str | None


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
        """Subscribers' deliveries: `width` workers, each with one claimed delivery at a time.

        A worker hands the ledger what it sent and gets its next delivery, claimed; the ledger
        writes the results and the claims of all the workers waiting in one transaction while
        the other workers' messages are on the wire (see `_Ledger`).
        """
        # A resumed thread (parts already out) or a budgeted channel: one at a time, as always.
        odd = [row for row in rows if row.ids != "[]" or name in self.budgets]
        if odd:
            await asyncio.gather(*(one(row) for row in odd))
            rows = [row for row in rows if row.ids == "[]" and name not in self.budgets]
        if not rows:
            return
        parsed: dict[int | None, Payload] = {}  # each edition's payload, parsed once
        for row in rows:
            if row.edition_id not in parsed:
                parsed[row.edition_id] = Payload.from_json(json.loads(row.payload))
        count = min(width, len(rows))
        ledger = _Ledger(self, name, rows, parsed, report, count)
        workers = [
            asyncio.ensure_future(self._worker(name, channel, ledger, parsed, report))
            for _ in range(count)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            # One worker failed (or the run is cancelled): the others stop where they are, and
            # what landed is still written. Their deliveries in flight stay `sending`.
            for worker in workers:
                worker.cancel()
            await ledger.close()

    async def _worker(
        self,
        name: str,
        channel: Channel,
        ledger: _Ledger,
        parsed: Mapping[int | None, Payload],
        report: Report,
    ) -> None:
        """Send one claimed delivery after another until the ledger has none left."""
        try:
            row = await ledger.exchange(None)
            while row is not None:
                landed = await self._send_claimed(name, channel, row, parsed, report)
                row = await ledger.exchange(landed)
        except BaseException:
            ledger.stop()  # before any other task runs: nothing more is claimed
            raise
        finally:
            ledger.retire()

    async def _send_claimed(
        self,
        name: str,
        channel: Channel,
        row: _Due,
        parsed: Mapping[int | None, Payload],
        report: Report,
    ) -> _Landed | None:
        """One delivery, already `sending`: what landed, or None (its failure is recorded)."""
        base = parsed[row.edition_id]
        extra = dict(base.extra)
        if name == "email" and row.token:
            extra = {"unsubscribe_url": self.unsubscribe_url(row.token)}
        payload = replace(base, target=row.target, extra=extra)
        progress = _Progress(self, row.id, [], len(payload.parts))
        self._attempting[row.id] = row
        try:
            ids = await channel.publish(payload, [], progress)
        except _KNOWN as exc:
            self._failed(report, name, row, payload.lang, progress.ids, exc)
            return None
        finally:
            self._attempting.pop(row.id, None)
        return _Landed(row, payload.lang, ids)

    def _book(
        self, conn: sa.Connection, landed: list[_Landed], wanted: int, rows: deque[_Due]
    ) -> _Booked:
        """Within `conn`'s transaction: write `landed` as sent, claim up to `wanted` of `rows`."""
        if self.clock() - self._renewed_at >= RENEW_EVERY:
            self._renew()
        # Checked before every claim: a pause stops even a fan-out already under way.
        paused = self._pause_in(conn) if wanted and rows else None
        booked = _Booked([], [], paused)
        now = self.clock()
        if landed:
            conn.execute(
                _SENT,
                [{"b_id": i.row.id, "b_ids": json.dumps(i.ids), "b_at": now} for i in landed],
            )
        while paused is None and len(booked.claimed) < wanted and rows:
            take: list[_Due] = []
            while rows and len(take) < wanted - len(booked.claimed):
                row = rows.popleft()
                (take if row.status == "active" else booked.cancelled).append(row)
            got = self._claim(conn, [row.id for row in take], now) if take else set()
            booked.claimed.extend(row for row in take if row.id in got)
        if booked.cancelled:
            ids = [row.id for row in booked.cancelled]
            conn.execute(_CANCEL, {"b_ids": ids, "b_at": now, "b_error": _CANCELLED})
        return booked

    def _pause_in(self, conn: sa.Connection) -> str | None:
        """The pause in force, if any; one cheap query on `conn` when there is none (usual)."""
        if conn.execute(_PAUSE_SET).first() is None:
            return None
        from bot import control

        found = control.current_pause(self.engine, self.clock())
        return found.describe() if found else None

    def _claim(self, conn: sa.Connection, ids: list[int], now: dt.datetime) -> set[int]:
        """Mark these pending deliveries `sending`; the ids this run got."""
        count = conn.execute(_CLAIM, [{"b_id": i, "b_at": now} for i in ids]).rowcount
        if count == len(ids) and self.engine.dialect.supports_sane_multi_rowcount:
            return set(ids)
        # Some were no longer pending. Within the lease nobody else claims: those `sending`
        # now are this claim's.
        return set(
            conn.execute(
                sa.select(deliveries.c.id).where(
                    deliveries.c.id.in_(ids), deliveries.c.state == "sending"
                )
            ).scalars()
        )

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
        row: _Due | None = None,
    ) -> None:
        row = row or self._attempting.get(delivery_id)
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


class _Ledger:
    """Group commit for the workers of one fan-out.

    A worker that is done with a delivery asks for its next one (`exchange`). One transaction
    serves the workers waiting: it writes their results (`sent`) and claims one delivery for
    each, so each commit (an fsync on SQLite) serves several messages while the other workers'
    messages stay on the wire. A worker never holds more than one delivery `sending` (the claim
    of its next and the result of its last are one transaction), and it sends only what a
    committed claim gave it. The transaction runs on the event loop: with its commit in a
    thread, the hand-offs cost more CPU than the wait they hid (docs/PERFORMANCE.md).
    """

    def __init__(
        self,
        sender: Sender,
        name: str,
        rows: list[_Due],
        parsed: Mapping[int | None, Payload],
        report: Report,
        workers: int,
    ) -> None:
        self._sender, self._name, self._parsed, self._report = sender, name, parsed, report
        self._rows = deque(rows)  # not yet claimed
        self._waiting: list[tuple[_Landed | None, asyncio.Future[_Due | None]]] = []
        self._committing: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._running = workers
        self._stopped = False

    async def exchange(self, landed: _Landed | None) -> _Due | None:
        """Record `landed`, if any; the next delivery to send (claimed), or None when done."""
        future: asyncio.Future[_Due | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((landed, future))
        self._kick()
        return await future

    def retire(self) -> None:
        """A worker has ended: the others no longer wait for it."""
        self._running -= 1
        self._kick()

    def stop(self) -> None:
        """Claim nothing more; results still handed in are written."""
        self._stopped = True
        self._kick()

    async def close(self) -> None:
        """Stop claiming and wait until every result handed in is written."""
        self.stop()
        while self._committing is not None:
            await self._committing

    def _kick(self) -> None:
        # Each transaction costs about as much CPU as sending a message, so one waits until half
        # the workers still running want it, or GATHER_SECONDS at most when the others are slow.
        if self._committing is not None or not self._waiting:
            return  # a transaction is under way: those waiting are served after it
        if self._stopped or len(self._waiting) >= max(1, (self._running + 1) // 2):
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(GATHER_SECONDS, self._start)

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._committing is None and self._waiting:
            # A task, so that every worker ready in this turn of the loop joins it.
            self._committing = asyncio.ensure_future(self._commit_waiting())

    async def _commit_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            self._commit(batch)
        except Exception as exc:
            # The database failed (locked past its timeout…): every worker gets the error, so
            # the fan-out stops; their deliveries stay `sending`.
            self._stopped = True
            for _, future in batch + self._waiting:
                if not future.done():
                    future.set_exception(exc)
            self._waiting = []
        finally:
            self._committing = None
        self._kick()  # those who came meanwhile

    def _commit(self, batch: list[tuple[_Landed | None, asyncio.Future[_Due | None]]]) -> None:
        landed = [item for item, _ in batch if item is not None]
        # A publication's first outcome is written and told on its own: a watcher
        # (progress.Tracker) counts what the table holds at the first outcome it hears of,
        # and then each one after.
        for first in self._firsts(landed):
            landed.remove(first)
            self._transaction([first], 0)
            self._tell([first])
        takers = [future for _, future in batch if not future.done()]
        booked = self._transaction(landed, 0 if self._stopped else len(takers))
        self._tell(landed)
        for row in booked.cancelled:
            lang = self._parsed[row.edition_id].lang
            self._sender._emit(
                self._report, row.id, self._name, row.target, lang, "cancelled", _CANCELLED, row
            )
        if booked.paused is not None:
            self._report.paused = booked.paused
        claimed = iter(booked.claimed)
        for future in takers:
            # A taker cancelled meanwhile leaves its claim `sending`, as a crash would.
            if not future.done():
                future.set_result(next(claimed, None))

    def _transaction(self, landed: list[_Landed], wanted: int) -> _Booked:
        with self._sender.engine.begin() as conn:
            return self._sender._book(conn, landed, wanted, self._rows)

    def _firsts(self, landed: list[_Landed]) -> list[_Landed]:
        firsts: dict[int | None, _Landed] = {}
        for item in landed:
            if item.row.publication_id not in self._sender._announced:
                firsts.setdefault(item.row.publication_id, item)
        return list(firsts.values())

    def _tell(self, landed: list[_Landed]) -> None:
        for item in landed:
            row = item.row
            detail = " ".join(item.ids)
            self._sender._emit(
                self._report, row.id, self._name, row.target, item.lang, "sent", detail, row
            )

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
            return [_Due(*row) for row in conn.execute(query)]

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
                    await asyncio.gather(*(one(row) for row in fan))
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
        holder = lease.acquire(self.engine, LEASE, self.owner, self.clock(), LEASE_TTL)
        if holder is not None:
            raise SenderBusy(f"the sending lease was taken over by {holder}; stopping")

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
                    "the subscriber is no longer subscribed",
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
        except RateLimited as exc:
            retry = self.clock() + dt.timedelta(seconds=exc.retry_after)
            self._retry(delivery_id, progress.ids, str(exc), retry)
            self._emit(
                report,
                delivery_id,
                name,
                target,
                payload.lang,
                "pending",
                f"rate limited; retrying at {retry:%H:%M:%S} UTC",
            )
            return False
        except TemporaryFailure as exc:
            if attempts + 1 >= self.max_attempts:
                self._finish(
                    report,
                    delivery_id,
                    name,
                    target,
                    payload.lang,
                    "failed",
                    f"{exc} (gave up after {self.max_attempts} attempts)",
                    progress.ids,
                )
            else:
                delay = min(3600, 5 * 2**attempts)
                retry = self.clock() + dt.timedelta(seconds=delay)
                self._retry(delivery_id, progress.ids, str(exc), retry)
                self._emit(
                    report,
                    delivery_id,
                    name,
                    target,
                    payload.lang,
                    "pending",
                    f"{exc}; retrying at {retry:%H:%M:%S} UTC",
                )
            return True
        except RecipientGone as exc:
            # Never retried forever: the person blocked the bot or the address is gone.
            if row.subscriber_id is not None:
                from bot.subscribers.store import deactivate

                deactivate(self.engine, row.subscriber_id, self.clock())
            self._finish(
                report,
                delivery_id,
                name,
                target,
                payload.lang,
                "failed",
                f"{exc} (subscriber deactivated)",
                progress.ids,
            )
            return True
        except Rejected as exc:
            self._finish(
                report, delivery_id, name, target, payload.lang, "failed", str(exc), progress.ids
            )
            return True
        except Uncertain as exc:
            self._finish(
                report, delivery_id, name, target, payload.lang, "unknown", str(exc), progress.ids
            )
            return True
        self._finish(
            report, delivery_id, name, target, payload.lang, "sent", " ".join(ids), ids, sent=True
        )
        return True

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
        if not (state == "sent" and outcome.subscriber_id is not None):
            report.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)

"""Working off the outbox: claim a delivery, send it, record what the platform answered.

Every step is written to the database before the next one starts, so a process killed at any
moment leaves a state the next run can act on: `pending` is sent, `sending` means the process
died mid-call, so that delivery becomes `unknown` and is never re-sent blindly. The states are
written only by `bot.publish.transitions`; a fan-out to subscribers groups its writes in
`bot.publish.ledger`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from bot.channels.base import Channel, CredentialsRefused, Payload, RateLimited, RecipientGone
from bot.errors import BotError, ChannelError
from bot.publish import due, lease, transitions
from bot.publish.budget import Budget
from bot.publish.due import Due
from bot.publish.ledger import Landed, Ledger
from bot.publish.transitions import KNOWN
from bot.store.schema import control as control_table

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
LEASE = "sender"
LEASE_TTL = dt.timedelta(minutes=2)
BATCH = 200
# How often a fan-out renews the lease between transactions; well within LEASE_TTL.
RENEW_EVERY = dt.timedelta(seconds=15)

# Whether a pause is set at all (`bot.control` reads it fully when one is).
_PAUSE_SET = sa.select(control_table.c.name).where(control_table.c.name == "pause")


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
    # "folder" when it was written to the outbox folder: "sent" then means written, not posted.
    via: str | None = None


@dataclass
class Report:
    """What a run of the sender did."""

    # Every outcome except a subscriber's plain "sent": a fan-out of 100,000 must not keep
    # 100,000 records in memory; those are counted in `states` only.
    outcomes: list[Outcome] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    waiting_until: dt.datetime | None = None
    paused: str | None = None
    # Channel → why the platform refused the bot's login (the admins are told, once a run).
    refused: dict[str, str] = field(default_factory=dict)

    def count(self, state: str) -> int:
        """How many deliveries ended in `state` in this run."""
        return self.states[state]


class SenderBusy(BotError):
    """Another process holds the sender lease."""


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
        self._renewed_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        # Publications of which an outcome was emitted (see `Ledger._commit`).
        self._announced: set[int | None] = set()

    async def run(self, publication_id: int | None = None) -> Report:
        """Send everything due (of one publication, or all); returns what happened."""
        holder = lease.acquire(self.engine, LEASE, self.owner, self.clock(), LEASE_TTL)
        if holder is not None:
            raise SenderBusy(
                f"another bot process is sending ({holder}); it will send these deliveries too"
            )
        report = Report()
        try:
            with self.engine.begin() as conn:
                recovered = transitions.recover(conn, self.clock())
            for gone in recovered:
                # Emitted, not only recorded: staff running `deliveries send` after a crash
                # must be told which deliveries now await their check.
                self._emit(
                    report, Outcome(gone.id, gone.channel, gone.target, "", "unknown", gone.detail)
                )
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

    def waiting_elsewhere(self, publication_id: int | None = None) -> dict[str, int]:
        """Pending deliveries this sender will not send: meant for the platform, or the folder."""
        vias = {name: channel.via for name, channel in self.channels.items()}
        return due.waiting_elsewhere(self.engine, vias, publication_id)

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

        async def one(row: Due) -> bool:
            async with gate:
                return await self._deliver(name, channel, row, report)

        while True:
            self._renew()
            if self._paused(report):
                return
            rows = due.due(self.engine, name, channel.via, publication_id, self.clock(), BATCH)
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
            then = due.next_due(self.engine, name, channel.via, publication_id)
            if then is None:
                return
            if then - started > self.max_wait:
                report.waiting_until = max(report.waiting_until or then, then)
                return
            await self.sleep(max(0.0, (then - self.clock()).total_seconds()))

    def _renew(self) -> None:
        # A long fan-out outlives the lease's first term; losing it means another process
        # may start sending the same deliveries, so stop rather than risk a double send.
        now = self.clock()
        holder = lease.acquire(self.engine, LEASE, self.owner, now, LEASE_TTL)
        if holder is not None:
            raise SenderBusy(f"the sending lease was taken over by {holder}; stopping")
        self._renewed_at = now

    def _paused(self, report: Report) -> bool:
        # Checked before every delivery: a pause stops even a fan-out already under way.
        with self.engine.connect() as conn:
            found = self._pause_in(conn)
        if found is not None:
            report.paused = found
        return found is not None

    def _pause_in(self, conn: sa.Connection) -> str | None:
        """The pause in force, if any; one cheap query on `conn` when there is none (usual)."""
        if conn.execute(_PAUSE_SET).first() is None:
            return None
        from bot import control

        found = control.current_pause(self.engine, self.clock())
        return found.describe() if found else None

    async def _fan_out(
        self,
        name: str,
        channel: Channel,
        rows: list[Due],
        report: Report,
        width: int,
        one: Callable[[Due], Awaitable[bool]],
    ) -> None:
        """Subscribers' deliveries: `width` workers, each with one claimed delivery at a time.

        A worker hands the ledger what it sent and gets its next delivery, claimed; the ledger
        writes the results and the claims of all the workers waiting in one transaction while
        the other workers' messages are on the wire (see `bot.publish.ledger`).
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
        langs = {edition: payload.lang for edition, payload in parsed.items()}
        desk = _Desk(self, name, report)
        ledger = Ledger(self.engine, self.clock, desk, rows, langs, count)
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
        ledger: Ledger,
        parsed: Mapping[int | None, Payload],
        report: Report,
    ) -> None:
        """Send one claimed delivery after another until the ledger has none left."""
        try:
            row = await ledger.exchange(None)
            while row is not None:
                payload = self._addressed(name, row, parsed[row.edition_id])
                got = await self._send(name, channel, row, payload, [], report)
                landed = Landed(row, payload.lang, got) if isinstance(got, list) else None
                row = await ledger.exchange(landed)
        except BaseException:
            ledger.stop()  # before any other task runs: nothing more is claimed
            raise
        finally:
            ledger.retire()

    async def _deliver(self, name: str, channel: Channel, row: Due, report: Report) -> bool:
        """One delivery on its own; False when the channel asked to slow down or on a pause."""
        if self._paused(report):
            return False
        base = Payload.from_json(json.loads(row.payload))
        if row.subscriber_id is not None and row.status != "active":
            with self.engine.begin() as conn:
                transitions.cancel(conn, [row.id], self.clock())
            self._tell(report, name, row, base.lang, "cancelled", transitions.CANCELLED)
            return True
        payload = self._addressed(name, row, base)
        done: list[str] = json.loads(row.ids)
        # Only the parts still to send: those already out (a thread resumed after a failure)
        # are counted in today's use by the budget, and must not be paid for twice.
        # The card went with the first part: a resumed thread does not pay for it again.
        rest = replace(
            payload, parts=payload.parts[len(done) :], card=None if done else payload.card
        )
        refusal = self.budgets[name].refusal(rest, self.clock()) if name in self.budgets else None
        if refusal:
            with self.engine.begin() as conn:
                transitions.finish(conn, row.id, "failed", refusal, None, self.clock())
            self._tell(report, name, row, payload.lang, "failed", refusal)
            return True
        with self.engine.begin() as conn:
            if not transitions.claim(conn, [row.id], self.clock(), part=len(done)):
                return True  # someone else took it
        got = await self._send(name, channel, row, payload, done, report)
        if isinstance(got, list):
            with self.engine.begin() as conn:
                transitions.sent(conn, [(row.id, got)], self.clock())
            self._tell(report, name, row, payload.lang, "sent", " ".join(got))
        return not isinstance(got, RateLimited)

    def _addressed(self, name: str, row: Due, base: Payload) -> Payload:
        """The edition as this delivery's recipient gets it, with their own unsubscribe link.

        `key` names the delivery for platforms that take an idempotency key (see Payload).
        """
        key = f"delivery-{row.id}"
        if name == "email" and row.token:
            extra = {"unsubscribe_url": self.unsubscribe_url(row.token)}
            return replace(base, target=row.target, extra=extra, key=key)
        return replace(base, target=row.target, extra=dict(base.extra), key=key)

    async def _send(
        self,
        name: str,
        channel: Channel,
        row: Due,
        payload: Payload,
        done: list[str],
        report: Report,
    ) -> list[str] | ChannelError:
        """A claimed delivery to the channel: every id, or the error (already recorded)."""
        progress = transitions.PartProgress(
            self.engine, self.clock, row.id, done, len(payload.parts)
        )
        try:
            return await channel.publish(payload, list(done), progress)
        except KNOWN as exc:
            if isinstance(exc, RecipientGone) and row.subscriber_id is not None:
                from bot.subscribers.store import deactivate

                deactivate(self.engine, row.subscriber_id, self.clock())
            if isinstance(exc, CredentialsRefused):
                report.refused.setdefault(name, str(exc))
            with self.engine.begin() as conn:
                state, detail = transitions.after_error(
                    conn, row.id, row.attempts, progress.ids, exc, self.clock(), self.max_attempts
                )
            self._tell(report, name, row, payload.lang, state, detail)
            return exc

    def _tell(
        self, report: Report, name: str, row: Due, lang: str, state: str, detail: str
    ) -> None:
        channel = self.channels.get(name)
        outcome = Outcome(
            row.id,
            name,
            row.target,
            lang,
            state,
            detail,
            row.publication_id,
            row.subscriber_id,
            channel.via if channel is not None else None,
        )
        self._emit(report, outcome)

    def _emit(self, report: Report, outcome: Outcome) -> None:
        report.states[outcome.state] += 1
        self._announced.add(outcome.publication_id)
        if not (outcome.state == "sent" and outcome.subscriber_id is not None):
            report.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)


@dataclass
class _Desk:
    """One channel's fan-out, as its ledger sees the sender: what it tells goes in `report`."""

    sender: Sender
    name: str
    report: Report

    def keep_lease(self) -> None:
        if self.sender.clock() - self.sender._renewed_at >= RENEW_EVERY:
            self.sender._renew()

    def pause_in(self, conn: sa.Connection) -> str | None:
        return self.sender._pause_in(conn)

    def is_first(self, publication_id: int | None) -> bool:
        return publication_id not in self.sender._announced

    def tell(self, row: Due, lang: str, state: str, detail: str) -> None:
        self.sender._tell(self.report, self.name, row, lang, state, detail)

    def paused(self, reason: str) -> None:
        self.report.paused = reason

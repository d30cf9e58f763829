"""The confirmation sender: `bot run` turns queued sign-ups into confirmation emails.

For each request it decides, in one transaction, what the address needs: an active subscriber
gets nothing (and their choices stay as they are: a form anyone can fill in must not change
them); anyone else becomes (or stays) `pending` with a new confirmation token. The request is
claimed (`sending`) in that same transaction, before the email is handed to the channel, the
way a newsletter's delivery is: a process that dies mid-send leaves `sending`, which the next
run records as `unknown` and never sends again. A rate limit or a temporary failure puts the
request back in the queue (with backoff); a refusal fails it. A token whose email surely did
not go out is withdrawn.

One process at a time does this (the "confirmations" lease); a pause holds it like any post.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot import control
from bot.channels.base import Channel, Payload, RateLimited, Rejected, TemporaryFailure, Uncertain
from bot.config.settings import Retention
from bot.errors import ChannelError
from bot.privacy import mask_address
from bot.publish import lease
from bot.subscribers import pending, requests, store

log = logging.getLogger(__name__)

LEASE = "confirmations"
LEASE_TTL = dt.timedelta(minutes=2)
BATCH = 50
MAX_ATTEMPTS = 5
FIRST_BACKOFF = 30.0  # seconds, doubled per attempt
Clock = Callable[[], dt.datetime]
# (person, confirmation token) → the confirmation email.
MailMaker = Callable[[store.Subscriber, str], Payload]


@dataclass
class Report:
    """What one pass did: counts per outcome (sent, skipped, failed, unknown, retry)."""

    states: Counter[str] = field(default_factory=Counter)
    busy: bool = False
    paused: bool = False
    expired: int = 0

    @property
    def sent(self) -> int:
        """Confirmation emails handed over in this pass."""
        return self.states["sent"]


class _NoProgress:
    """A confirmation email is one part; its claim is the request's state."""

    async def before(self, index: int) -> None:
        """Nothing to record."""

    async def after(self, index: int, platform_id: str) -> None:
        """Nothing to record."""


class ConfirmationSender:
    """Works off the sign-up queue through the email channel (or the outbox folder)."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        connect: Callable[[], Channel],
        mail: MailMaker,
        max_attempts: int = MAX_ATTEMPTS,
        retention: Retention | None = None,
    ) -> None:
        self.engine = engine
        # Applied once a day by the pass that runs first that day (`bot run` only).
        self.retention = retention
        self.clock = clock
        self._connect = connect
        self._mail = mail
        self.max_attempts = max_attempts
        self.owner = lease.new_owner()

    def _retain(self, now: dt.datetime) -> None:
        from bot.subscribers.retention import purge_daily

        assert self.retention is not None
        done = purge_daily(self.engine, self.retention, now)
        if done is not None and (done.people or done.targets):
            log.info(
                "retention: %d person(s) deleted, %d delivery target(s) blanked",
                done.people,
                done.targets,
            )

    async def run(self) -> Report:
        """One pass: recover, expire old sign-ups, then send everything due."""
        report = Report()
        if lease.acquire(self.engine, LEASE, self.owner, self.clock(), LEASE_TTL) is not None:
            report.busy = True
            return report
        channel: Channel | None = None
        try:
            now = self.clock()
            lost = requests.recover(self.engine, now)
            if lost:
                log.warning("%d confirmation email(s) may or may not have gone out", lost)
            report.expired = pending.expire(self.engine, now)
            requests.sweep(self.engine, now)
            if self.retention is not None:
                self._retain(now)
            while True:
                if control.current_pause(self.engine, self.clock()) is not None:
                    report.paused = True
                    break
                batch = requests.due(self.engine, self.clock(), BATCH)
                for request in batch:
                    claimed = self._decide(request, report)
                    if claimed is None:
                        continue
                    channel = channel or self._connect()
                    if not await self._send(channel, request, *claimed, report):
                        batch = []  # told to slow down: the rest waits for the next pass
                        break
                lease.acquire(self.engine, LEASE, self.owner, self.clock(), LEASE_TTL)
                if len(batch) < BATCH:
                    break
        finally:
            if channel is not None:
                await channel.close()
            lease.release(self.engine, LEASE, self.owner)
        return report

    def _decide(self, request: requests.Request, report: Report) -> tuple[Payload, str] | None:
        """Claim the request and settle the person; the email and its token, or None."""
        now = self.clock()
        with self.engine.begin() as conn:
            if not requests.claim(conn, request.id, now):
                return None
            person = store.by_address(conn, "email", request.address)
            if person is not None and person.status == "active":
                requests.finish(conn, request.id, "skipped", now, "already subscribed")
                report.states["skipped"] += 1
                return None
            person, _ = store.add_in(
                conn, "email", request.address, request.lang, request.topics, now, confirmed=False
            )
            token = pending.issue(conn, person.id, now)
        try:
            return self._mail(person, token), token
        except Exception as exc:  # a template that fails: the request fails, the loop goes on
            self._end(request, "failed", type(exc).__name__, token, report)
            log.error("confirmation email not made: %s", type(exc).__name__)
            return None

    async def _send(
        self,
        channel: Channel,
        request: requests.Request,
        payload: Payload,
        token: str,
        report: Report,
    ) -> bool:
        """Hand one email to the channel; False when the channel asked to slow down."""
        masked = mask_address(request.address)
        try:
            await channel.publish(payload, [], _NoProgress())
        except RateLimited as exc:
            pending.withdraw(self.engine, token)
            later = self.clock() + dt.timedelta(seconds=max(exc.retry_after, 1.0))
            requests.again(self.engine, request.id, request.attempts, later, self.clock(), str(exc))
            report.states["retry"] += 1
            return False
        except TemporaryFailure as exc:
            attempts = request.attempts + 1
            if attempts >= self.max_attempts:
                self._end(request, "failed", str(exc), token, report)
            else:
                wait = dt.timedelta(seconds=FIRST_BACKOFF * 2 ** (attempts - 1))
                pending.withdraw(self.engine, token)
                requests.again(
                    self.engine, request.id, attempts, self.clock() + wait, self.clock(), str(exc)
                )
                report.states["retry"] += 1
            log.warning("confirmation email to %s not sent yet: %s", masked, exc)
            return True
        except Uncertain as exc:
            with self.engine.begin() as conn:
                requests.finish(conn, request.id, "unknown", self.clock(), str(exc))
            report.states["unknown"] += 1
            log.warning("confirmation email to %s may not have gone out: %s", masked, exc)
            return True
        except (Rejected, ChannelError) as exc:
            self._end(request, "failed", str(exc), token, report)
            log.warning("confirmation email to %s refused: %s", masked, exc)
            return True
        with self.engine.begin() as conn:
            requests.finish(conn, request.id, "sent", self.clock())
        report.states["sent"] += 1
        log.info("confirmation email sent to %s", masked)
        return True

    def _end(
        self, request: requests.Request, state: str, why: str, token: str, report: Report
    ) -> None:
        pending.withdraw(self.engine, token)
        with self.engine.begin() as conn:
            requests.finish(conn, request.id, state, self.clock(), why)
        report.states[state] += 1


async def keep_sending(
    make: Callable[[], ConfirmationSender], stop: asyncio.Event, every: float = 5.0
) -> None:
    """`bot run`: a pass every `every` seconds until `stop` is set.

    A pass that fails (the database away for a moment) is logged and tried again next time:
    the calendar beside it must keep running.
    """
    sender = make()
    while not stop.is_set():
        try:
            await sender.run()
        except Exception as exc:
            log.error(
                "confirmation emails: this pass failed (%s); trying again", type(exc).__name__
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)

"""The one way out to Telegram: every message the bot sends waits its turn here.

Channel posts, each subscriber's copy, replies to people, staff answers, alerts and approval
requests all go through one queue per runtime (`queue_for(wiring)`), so Telegram's limits
(telegram_pace.py) hold for all of them together, not for each path on its own.

- Each chat has a lane: its messages leave in the order they were handed in, one at a time. A
  message that must be tried again (a 429, a connection that failed) stays at the head of its
  lane, so nothing overtakes it in that chat.
- Between chats, the next free moment goes to the most urgent message that may go: an answer
  to a person first, then a post in the organisation's channel, then the fan-out. A person
  asking /latest during a broadcast is answered within a second or so, and a long answer goes
  out one message a second, in order, while the fan-out takes the moments left over.
- A 429 pauses everything for as long as Telegram asks, then the same message is tried again.
  A flood wait longer than `MAX_HELD_SECONDS` is handed back to the caller instead (the outbox
  sender then waits without holding claimed deliveries).

One dispatcher task per event loop hands out the turns; the callers make the requests
themselves, so several are in flight at once. `bot run` has one event loop, so one queue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
import math
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram_pace import Pace
from bot.privacy import mask_chat

if TYPE_CHECKING:
    from bot.channels.spec import Wiring

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger(__name__)

# A flood wait longer than this is not sat out in the queue (see the module's docstring).
MAX_HELD_SECONDS = 60.0
# Pauses before trying again after a failure that is not a 429: growing, a few at most.
BACKOFF_SECONDS = (1.0, 2.0, 4.0)
# httpx raises these only while opening a connection, before any byte of the request is sent.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class Priority(enum.IntEnum):
    """Who waits for the message: the lower, the sooner it goes when several may go."""

    PERSON = 0  # an answer to someone, a note to staff, an alert, an approval request
    CHANNEL = 1  # a post in the organisation's channel or group
    FANOUT = 2  # a subscriber's copy of a post


@dataclass(frozen=True)
class Retries:
    """Which failures a message is tried again after (a 429 always is)."""

    # Tries in all after a failure that may be passing.
    attempts: int
    # Also after failures that may have come after Telegram took the message (a 5xx, a
    # dropped connection, a timeout). For a reply a duplicate is better than silence; for a
    # post the outbox decides (a duplicate in a public channel is worse than a check).
    uncertain: bool


FOR_PEOPLE = Retries(attempts=len(BACKOFF_SECONDS) + 1, uncertain=True)
FOR_OUTBOX = Retries(attempts=len(BACKOFF_SECONDS) + 1, uncertain=False)


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asked for, in seconds."""
    # An int (with a deprecation warning) if PTB_TIMEDELTA was set to false, else a timedelta.
    # catch_warnings is process-global, which is safe only because nothing awaits inside it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def flood_wait(seconds: float) -> RetryAfter:
    """The RetryAfter PTB would raise for a wait of `seconds`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(dt.timedelta(seconds=seconds))


def surely_not_sent(exc: TelegramError) -> bool:
    """The request never left: the connection could not be opened."""
    return isinstance(exc.__cause__, NOT_SENT)


def _passing(exc: TelegramError, retries: Retries) -> bool:
    """Whether trying again may help (a 429 is handled apart)."""
    if isinstance(exc, BadRequest) or not isinstance(exc, NetworkError):
        return False  # refused (403, 400, a bad token): the same request is refused again
    # A timeout, a dropped connection, a 5xx: Telegram may have taken the message.
    return surely_not_sent(exc) or retries.uncertain


class _Ticket:
    """One message waiting for (or holding) its turn in its chat's lane."""

    __slots__ = ("chat", "granted", "not_before", "out", "priority", "seq")

    def __init__(self, chat: str, priority: Priority, seq: int) -> None:
        self.chat = chat
        self.priority = priority
        self.seq = seq
        self.not_before = -math.inf
        self.out = False  # granted: its request is (about to be) on its way
        self.granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()


@dataclass
class _Lanes:
    """The messages of one event loop, per chat, and the task handing out turns."""

    lanes: dict[str, deque[_Ticket]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class TelegramQueue:
    """Paces and orders everything sent to Telegram (see the module's docstring)."""

    def __init__(self, clock: Clock, sleep: Sleep, max_held: float = MAX_HELD_SECONDS) -> None:
        self._clock = clock
        self._sleep = sleep
        self.max_held = max_held
        self.pace = Pace()
        # Time as far as the queue knows: never before the end of its own last sleep, so a
        # clock that stands still (a test's) or rounds cannot keep it sleeping for ever.
        self._floor = -math.inf
        self._seq = 0
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lanes] = (
            weakref.WeakKeyDictionary()
        )
        # Requests let go and not yet answered, across loops (a test's clock waits for them).
        self.in_flight = 0

    async def send(
        self,
        chat: str | int,
        call: Callable[[], Awaitable[T]],
        *,
        priority: Priority,
        retries: Retries = FOR_OUTBOX,
    ) -> T:
        """Make `call` (one request to `chat`) in its turn; its result, or its last error.

        A 429 is waited out and tried again; other failures as `retries` says. The error
        raised is PTB's, as `call` raised it; a flood wait beyond `max_held` is a RetryAfter
        with the time left.
        """
        lanes = self._lanes()
        ticket = self._enqueue(lanes, str(chat), priority)
        failures = 0
        try:
            while True:
                await ticket.granted
                try:
                    return await call()
                except RetryAfter as exc:
                    seconds = retry_after_seconds(exc)
                    log.info("telegram: Telegram asked to wait %g s; every message waits", seconds)
                    until = self._now() + seconds
                    self.pace.pause(until)
                    if seconds > self.max_held:
                        raise
                    self._again(lanes, ticket, until)
                except TelegramError as exc:
                    if not _passing(exc, retries) or failures + 1 >= retries.attempts:
                        raise
                    wait = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
                    failures += 1
                    log.info(
                        "telegram: %s; trying again in %g s (%d of %d)",
                        type(exc).__name__,
                        wait,
                        failures + 1,
                        retries.attempts,
                    )
                    self._again(lanes, ticket, self._now() + wait)
        finally:
            self._leave(lanes, ticket)

    # -- the lanes ------------------------------------------------------------------------

    def _lanes(self) -> _Lanes:
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._loops.get(loop)
            if found is None:
                found = self._loops[loop] = _Lanes()
            return found

    def _enqueue(self, lanes: _Lanes, chat: str, priority: Priority) -> _Ticket:
        with self._lock:
            self._seq += 1
            seq = self._seq
        ticket = _Ticket(chat, priority, seq)
        lanes.lanes.setdefault(chat, deque()).append(ticket)
        if lanes.task is None or lanes.task.done():
            lanes.task = asyncio.get_running_loop().create_task(self._dispatch(lanes))
        lanes.wake.set()
        return ticket

    def _again(self, lanes: _Lanes, ticket: _Ticket, not_before: float) -> None:
        """The ticket's request failed and is tried again: back to waiting, still first."""
        self._returned(ticket)
        ticket.not_before = not_before
        ticket.granted = asyncio.get_running_loop().create_future()
        lanes.wake.set()

    def _leave(self, lanes: _Lanes, ticket: _Ticket) -> None:
        self._returned(ticket)
        lane = lanes.lanes.get(ticket.chat)
        if lane is not None:
            if ticket in lane:
                lane.remove(ticket)
            if not lane:
                del lanes.lanes[ticket.chat]
        if not ticket.granted.done():
            ticket.granted.cancel()
        lanes.wake.set()

    def _returned(self, ticket: _Ticket) -> None:
        if ticket.out:
            ticket.out = False
            with self._lock:
                self.in_flight -= 1

    # -- handing out turns ----------------------------------------------------------------

    async def _dispatch(self, lanes: _Lanes) -> None:
        while lanes.lanes:
            lanes.wake.clear()
            delay = self._grant(lanes)
            if delay is None:
                await lanes.wake.wait()
            else:
                await self._nap(lanes, delay)

    def _grant(self, lanes: _Lanes) -> float | None:
        """Let go every message that may go now; seconds until the next may (None: none waits)."""
        while True:
            now = self._now()
            if self.pace.paused_until - now > self.max_held:
                self._refuse_all(lanes, self.pace.paused_until - now)
                return None
            best: _Ticket | None = None
            soonest = math.inf
            for chat, lane in lanes.lanes.items():
                head = lane[0]
                if head.out or head.granted.done():
                    continue  # in flight, or let go and not yet resumed: the chat is busy
                ready = max(head.not_before, self.pace.chat_ready(chat))
                if ready > now:
                    soonest = min(soonest, ready)
                elif best is None or (head.priority, head.seq) < (best.priority, best.seq):
                    best = head
            if best is None:
                return None if soonest == math.inf else soonest - now
            slot = self.pace.next_slot()
            if slot > now:
                return slot - now
            self.pace.take(best.chat, now)
            best.out = True
            with self._lock:
                self.in_flight += 1
            best.granted.set_result(None)

    def _refuse_all(self, lanes: _Lanes, seconds: float) -> None:
        """A flood wait too long to sit out: every waiting message is handed back."""
        for lane in lanes.lanes.values():
            for ticket in lane:
                if not ticket.out and not ticket.granted.done():
                    ticket.granted.set_exception(flood_wait(seconds))

    async def _nap(self, lanes: _Lanes, seconds: float) -> None:
        """Sleep `seconds`, or less when a message comes in or a request comes back."""
        start = self._now()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(lanes.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
        if sleeper.done() and not sleeper.cancelled() and sleeper.exception() is None:
            self._floor = max(self._floor, start + seconds)

    def _now(self) -> float:
        return max(self._clock(), self._floor)


def undelivered(chat: str, exc: BaseException) -> str:
    """A log line's words for a message given up on: the chat masked, Telegram's reason."""
    said = str(exc) if isinstance(exc, TelegramError) else ""
    return f"a message to {mask_chat(chat)} was not delivered: {type(exc).__name__} {said}".strip()


_QUEUES: weakref.WeakKeyDictionary[Wiring, TelegramQueue] = weakref.WeakKeyDictionary()
_QUEUES_LOCK = threading.Lock()


def queue_for(wiring: Wiring) -> TelegramQueue:
    """The queue of everything sent to Telegram with this wiring (one runtime's)."""
    with _QUEUES_LOCK:
        found = _QUEUES.get(wiring)
        if found is None:
            found = _QUEUES[wiring] = TelegramQueue(wiring.monotonic, wiring.sleep)
        return found

"""A steady clock for tests whose time moves only when the code under test sleeps.

It is what the bot paces itself by (`Wiring(monotonic=clock, sleep=clock.sleep)`) and what a
fake server with limits reads (`Limits(clock)`). Time never moves while a request is on its
way (`busy`, e.g. the Telegram queue's `in_flight`): the server stamps each message with the
moment the bot let it go, so a limit kept by the bot is a limit kept at the server. Sleepers
wake in the order of their deadlines, and a cancelled sleep is forgotten. No real waiting,
except brief yields while requests are answered.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable

MICROSECONDS = 1_000_000


class VirtualClock:
    """Whole microseconds since an arbitrary start; see the module's docstring."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.us = round(start * MICROSECONDS)
        self.start = self.us
        # How many requests are on their way; time waits for them.
        self.busy: Callable[[], int] = lambda: 0
        self._sleeping: list[tuple[int, int]] = []
        self._numbers = itertools.count()

    def __call__(self) -> float:
        return self.us / MICROSECONDS

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return (self.us - self.start) / MICROSECONDS

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` of virtual time have passed (rounded up to a microsecond)."""
        entry = (self.us + math.ceil(max(seconds, 0) * MICROSECONDS), next(self._numbers))
        heapq.heappush(self._sleeping, entry)
        deadline = time.monotonic() + 30
        try:
            while True:
                await asyncio.sleep(0.0002)  # (real) lets every runnable task run
                if not self.busy() and self._sleeping[0] == entry:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("a request was never answered, or time never moved")
        except BaseException:
            self._sleeping.remove(entry)
            heapq.heapify(self._sleeping)
            raise
        heapq.heappop(self._sleeping)
        self.us = max(self.us, entry[0])


class FastClock:
    """Real time, sped up `scale` times: for a bot running in a thread beside a test (which
    cannot share a virtual clock's event loop), so that Telegram's pace of one message a second
    in a chat costs a test a few hundredths of a second. Order and spacing stay as they are."""

    def __init__(self, scale: float = 50.0) -> None:
        self.scale = scale

    def __call__(self) -> float:
        return time.monotonic() * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0) / self.scale)

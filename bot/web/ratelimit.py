"""Sliding-window limits kept in memory, so the sign-up form cannot be used to flood a mailbox.

Keys are hashed with a secret made at start-up: the table holds no address and no client IP
in clear, should the process memory ever be dumped. The limits reset when the process
restarts, which is acceptable: they stop floods, they are not an accounting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], dt.datetime]
# Beyond this many keys, expired ones are swept so the table cannot grow without end.
SWEEP_AT = 10_000


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window` for one key."""

    count: int
    window: dt.timedelta


class Limiter:
    """Counts events per key within a window; `clock` is injectable for tests."""

    def __init__(self, limit: Limit, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._seen: dict[bytes, deque[dt.datetime]] = {}

    def _key(self, value: str) -> bytes:
        return hashlib.blake2b(value.encode("utf-8"), key=self._salt, digest_size=16).digest()

    def _recent(self, key: bytes, now: dt.datetime) -> deque[dt.datetime]:
        times = self._seen.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.limit.window:
            times.popleft()
        if not times:
            del self._seen[key]
        return times

    def allows(self, value: str) -> bool:
        """Whether one more event for `value` stays within the limit (records nothing)."""
        return len(self._recent(self._key(value), self._clock())) < self.limit.count

    def record(self, value: str) -> None:
        """Count one event for `value` now."""
        now = self._clock()
        if len(self._seen) >= SWEEP_AT:
            for key in list(self._seen):
                self._recent(key, now)
        key = self._key(value)
        times = self._recent(key, now)
        times.append(now)
        self._seen[key] = times

"""What the Bluesky channel keeps between runs: its login, and the points its writes spent.

Logins are limited (30 per 5 minutes, 300 a day per account), so the session the PDS hands
out is kept in a file readable by its owner only (mode 0600, written whole) and used again
until it stops working. Bluesky also limits what an account writes: 5,000 points an hour and
35,000 a day, a post costing 3 and a deletion 1. The channel notes each write in the same file
and waits rather than pass a limit; if something else spends from the account (a person
posting by hand), the PDS's own 429 says when to go on.

A file that cannot be read as ours (damaged, another account's) is set aside as if absent:
the worst it costs is one login.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.channels.base import RateLimited

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 86400.0
POST_POINTS = 3
DELETE_POINTS = 1


class SavedState:
    """One account's session string and recent writes, in one JSON file."""

    def __init__(self, path: Path, account: str) -> None:
        self.path = path
        # handle@base_url: a session of another account, or of another server, is not reused.
        self.account = account
        self._data: dict[str, Any] = self._read()

    def __repr__(self) -> str:
        return f"SavedState({str(self.path)!r}, session={'***' if self.session else None})"

    @property
    def session(self) -> str | None:
        found = self._data.get("session")
        return found if isinstance(found, str) and found else None

    def keep_session(self, session: str) -> None:
        """Keep the session the PDS gave (after a login or a refresh)."""
        self._data["session"] = session
        self._write()

    def forget_session(self) -> None:
        """The session no longer works: the next use logs in again."""
        if self._data.pop("session", None) is not None:
            self._write()

    def writes(self) -> list[tuple[float, int]]:
        """(epoch seconds, points) of each write of the last day, oldest first."""
        found = self._data.get("writes")
        if not isinstance(found, list):
            return []
        return [
            (float(at), int(points)) for at, points in (entry for entry in found if _pair(entry))
        ]

    def note_write(self, at: float, points: int) -> None:
        """Record a write; entries older than a day are dropped."""
        kept = [(t, p) for t, p in self.writes() if t > at - DAY]
        self._data["writes"] = [[t, p] for t, p in [*kept, (at, points)]]
        self._write()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"account": self.account}
        except (OSError, ValueError) as exc:
            log.warning("Bluesky: ignoring %s, which cannot be read (%s)", self.path, exc)
            return {"account": self.account}
        if not isinstance(data, dict) or data.get("account") != self.account:
            return {"account": self.account}
        return data

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".bluesky-")
            try:
                # mkstemp creates the file 0600: the session in it is a credential.
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(self._data, stream)
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            # Not fatal to a post already made; the next run logs in again if it must.
            log.warning("Bluesky: cannot save %s: %s", self.path, exc.strerror or exc)


def _pair(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(x, int | float) for x in entry)
    )


class WriteBudget:
    """Bluesky's write points per hour and per day, spent as the file records them."""

    def __init__(
        self, state: SavedState, per_hour: int, per_day: int, now: Callable[[], float]
    ) -> None:
        self.state = state
        self.limits = ((HOUR, per_hour, "an hour"), (DAY, per_day, "a day"))
        self.now = now

    def check(self, points: int) -> None:
        """RateLimited, saying how long, if `points` more would pass a limit."""
        now = self.now()
        writes = self.state.writes()
        waits = []
        for span, limit, name in self.limits:
            recent = [(t, p) for t, p in writes if t > now - span]
            spent = sum(p for _, p in recent)
            if spent + points <= limit:
                continue
            # The wait until enough of the oldest writes fall out of the window.
            freed, until = 0, now
            for at, spent_then in recent:
                freed += spent_then
                until = at + span
                if spent - freed + points <= limit:
                    break
            waits.append((until - now, limit, name, spent))
        if waits:
            wait, limit, name, spent = max(waits)
            raise RateLimited(
                f"the Bluesky account's write budget is spent ({spent} of {limit} points "
                f"{name}, [channels.bluesky] points_per_hour / points_per_day); "
                f"going on in {wait:.0f} s",
                max(1.0, wait),
            )

    def spend(self, points: int) -> None:
        self.state.note_write(self.now(), points)

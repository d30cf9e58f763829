"""Group commit for the workers of one fan-out.

A worker that is done with a delivery asks for its next one (`Ledger.exchange`). One transaction
serves the workers waiting: it writes their results (`sent`) and claims one delivery for each, so
each commit (an fsync on SQLite) serves several messages while the other workers' messages stay
on the wire. A worker never holds more than one delivery `sending` (the claim of its next and the
result of its last are one transaction), and it sends only what a committed claim gave it. The
transaction runs on the event loop: with its commit in a thread, the hand-offs cost more CPU than
the wait they hid (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from bot.publish import transitions
from bot.publish.due import Due

# The longest a worker waits for others to share its transaction.
GATHER_SECONDS = 0.002


class Desk(Protocol):
    """The sender's side of one channel's fan-out, as the ledger needs it."""

    def keep_lease(self) -> None:
        """Renew the sending lease if it is due (raises when another process took it)."""

    def pause_in(self, conn: sa.Connection) -> str | None:
        """The pause in force, if any."""

    def is_first(self, publication_id: int | None) -> bool:
        """Whether no outcome of this publication was told yet."""

    def tell(self, row: Due, lang: str, state: str, detail: str) -> None:
        """Report a delivery's outcome."""

    def paused(self, reason: str) -> None:
        """Report that a pause stopped the fan-out."""


@dataclass(frozen=True)
class Landed:
    """A delivery the channel took, waiting for its `sent` to be written."""

    row: Due
    lang: str
    ids: list[str]


@dataclass(frozen=True)
class _Booked:
    """What one transaction claimed and cancelled, and the pause it found."""

    claimed: list[Due]
    cancelled: list[Due]
    paused: str | None


_Waiting = tuple[Landed | None, asyncio.Future[Due | None]]


class Ledger:
    """Writes the workers' results and hands out their next deliveries, a few per commit."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime],
        desk: Desk,
        rows: list[Due],
        langs: Mapping[int | None, str],
        workers: int,
    ) -> None:
        self._engine, self._clock, self._desk, self._langs = engine, clock, desk, langs
        self._rows = deque(rows)  # not yet claimed
        self._waiting: list[_Waiting] = []
        self._committing: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._running = workers
        self._stopped = False

    async def exchange(self, landed: Landed | None) -> Due | None:
        """Record `landed`, if any; the next delivery to send (claimed), or None when done."""
        future: asyncio.Future[Due | None] = asyncio.get_running_loop().create_future()
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

    def _commit(self, batch: list[_Waiting]) -> None:
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
            self._desk.tell(row, self._langs[row.edition_id], "cancelled", transitions.CANCELLED)
        if booked.paused is not None:
            self._desk.paused(booked.paused)
        claimed = iter(booked.claimed)
        for future in takers:
            # A taker cancelled meanwhile leaves its claim `sending`, as a crash would.
            if not future.done():
                future.set_result(next(claimed, None))

    def _transaction(self, landed: list[Landed], wanted: int) -> _Booked:
        with self._engine.begin() as conn:
            return self._book(conn, landed, wanted)

    def _book(self, conn: sa.Connection, landed: list[Landed], wanted: int) -> _Booked:
        """Within `conn`'s transaction: write `landed` as sent, claim up to `wanted` more."""
        self._desk.keep_lease()
        # Checked before every claim: a pause stops even a fan-out already under way.
        paused = self._desk.pause_in(conn) if wanted and self._rows else None
        booked = _Booked([], [], paused)
        now = self._clock()
        if landed:
            transitions.sent(conn, [(item.row.id, item.ids) for item in landed], now)
        while paused is None and len(booked.claimed) < wanted and self._rows:
            take: list[Due] = []
            while self._rows and len(take) < wanted - len(booked.claimed):
                row = self._rows.popleft()
                (take if row.status == "active" else booked.cancelled).append(row)
            got = transitions.claim(conn, [row.id for row in take], now) if take else set()
            booked.claimed.extend(row for row in take if row.id in got)
        if booked.cancelled:
            transitions.cancel(conn, [row.id for row in booked.cancelled], now)
        return booked

    def _firsts(self, landed: list[Landed]) -> list[Landed]:
        firsts: dict[int | None, Landed] = {}
        for item in landed:
            if self._desk.is_first(item.row.publication_id):
                firsts.setdefault(item.row.publication_id, item)
        return list(firsts.values())

    def _tell(self, landed: list[Landed]) -> None:
        for item in landed:
            self._desk.tell(item.row, item.lang, "sent", " ".join(item.ids))

"""How far a fan-out to subscribers has got: sent, failed, unknown, remaining, rate, time left.

Two views of the same counts: `Tracker` follows a running sender outcome by outcome (for
`post-now`'s progress line), and `fan_out_progress` reads them from the deliveries table (for
`bot status`, from any process). A fan-out delivery is one made for a subscriber, including one
whose subscriber was erased since (its target is then "(erased)").
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot.publish.sender import Outcome
from bot.store.schema import ERASED, deliveries, publications

DONE = ("sent", "failed", "unknown", "cancelled")
# A fan-out this small is still shown a line per delivery (a trial with a few staff
# addresses); a larger one as a progress line.
LINE_EACH_UP_TO = 20
# A pace measured over less than this is noise (the first message "at 100000/s").
MIN_PACE_SECONDS = 1.0
# `bot status` measures the pace over this window: long enough to smooth out a rate-limit
# pause, short enough to notice a fan-out that has stalled.
RATE_WINDOW = dt.timedelta(minutes=5)

Monotonic = Callable[[], float]


def _is_fan_out() -> sa.ColumnElement[bool]:
    return sa.or_(deliveries.c.subscriber_id.is_not(None), deliveries.c.target.startswith(ERASED))


def _counts(
    sent: int, failed: int, unknown: int, cancelled: int, remaining: int, rate: float | None
) -> str:
    parts = [f"{sent} sent"]
    if failed:
        parts.append(f"{failed} failed")
    if unknown:
        parts.append(f"{unknown} unknown")
    if cancelled:
        parts.append(f"{cancelled} skipped")
    parts.append(f"{remaining} to go")
    if rate:
        parts.append(_pace(rate))
        if remaining:
            parts.append(f"about {_duration(remaining / rate)} left")
    return " · ".join(parts)


def _pace(per_second: float) -> str:
    if per_second >= 10:
        return f"{per_second:.0f}/s"
    if per_second >= 1:
        return f"{per_second:.1f}/s"
    return f"{per_second * 60:.1f}/min"  # a slow SMTP server, or one waiting out a limit


def _duration(seconds: float) -> str:
    whole = max(1, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@dataclass
class Tally:
    """One publication's fan-out, as counted since the tracker started following it."""

    publication_id: int
    total: int
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    started: float = 0.0
    # Finished during this run only: the pace is this run's, not that of an earlier one.
    finished_now: int = 0

    @property
    def remaining(self) -> int:
        """Deliveries not finished yet (pending, being sent, or waiting for a rate limit)."""
        return max(0, self.total - self.sent - self.failed - self.unknown - self.cancelled)

    def rate(self, now: float) -> float | None:
        """Deliveries finished per second during this run; None before there is a pace."""
        elapsed = now - self.started
        if self.finished_now == 0 or elapsed < MIN_PACE_SECONDS:
            return None
        return self.finished_now / elapsed

    def eta(self, now: float) -> float | None:
        """Seconds until the last delivery at the pace so far; None without a pace."""
        rate = self.rate(now)
        return self.remaining / rate if rate else None

    def describe(self, now: float) -> str:
        """One line: `fan-out #3: 1200 sent · 2 failed · 798 to go · 30/s · about 27 s left`."""
        counts = _counts(
            self.sent, self.failed, self.unknown, self.cancelled, self.remaining, self.rate(now)
        )
        return f"fan-out #{self.publication_id}: {counts}"


@dataclass
class Tracker:
    """Counts each publication's fan-out from the sender's outcomes, as they come."""

    engine: sa.Engine
    clock: Monotonic = time.monotonic
    tallies: dict[int, Tally] = field(default_factory=dict)

    def follow(self, publication_id: int) -> Tally:
        """Start counting a publication from what the deliveries table holds now."""
        found = self.tallies.get(publication_id)
        if found is None:
            found = self._load(publication_id)
            self.tallies[publication_id] = found
        return found

    def record(self, outcome: Outcome) -> Tally | None:
        """Count one outcome; the publication's tally, or None if not a fan-out delivery."""
        if outcome.subscriber_id is None or outcome.publication_id is None:
            return None
        known = outcome.publication_id in self.tallies
        tally = self.follow(outcome.publication_id)
        if not known:
            # Loaded after the sender wrote this outcome: it is already in the counts.
            if outcome.state in DONE:
                tally.finished_now += 1
            return tally
        if outcome.state in DONE:
            setattr(tally, outcome.state, getattr(tally, outcome.state) + 1)
            tally.finished_now += 1
        return tally

    def _load(self, publication_id: int) -> Tally:
        query = (
            sa.select(deliveries.c.state, sa.func.count())
            .where(deliveries.c.publication_id == publication_id, _is_fan_out())
            .group_by(deliveries.c.state)
        )
        with self.engine.connect() as conn:
            states = {state: int(number) for state, number in conn.execute(query)}
        return Tally(
            publication_id,
            total=sum(states.values()),
            sent=states.get("sent", 0),
            failed=states.get("failed", 0),
            unknown=states.get("unknown", 0),
            cancelled=states.get("cancelled", 0),
            started=self.clock(),
        )


@dataclass(frozen=True)
class FanOutState:
    """A fan-out with deliveries still to send, as the deliveries table has it."""

    publication_id: int
    key: str
    channel: str
    sent: int
    failed: int
    unknown: int
    cancelled: int
    remaining: int
    # Sent per second over the last RATE_WINDOW; None if nothing was sent in it.
    rate: float | None

    @property
    def eta(self) -> dt.timedelta | None:
        """Time until the last delivery at the recent pace; None without one."""
        if not self.rate:
            return None
        return dt.timedelta(seconds=round(self.remaining / self.rate))

    def describe(self) -> str:
        """One line for `bot status`."""
        counts = _counts(
            self.sent, self.failed, self.unknown, self.cancelled, self.remaining, self.rate
        )
        stalled = "" if self.rate else " · nothing sent in the last 5 min"
        return f"fan-out #{self.publication_id} {self.key} ({self.channel}): {counts}{stalled}"


def fan_out_progress(engine: sa.Engine, now: dt.datetime | None = None) -> list[FanOutState]:
    """Every fan-out (publication × channel) with deliveries still pending, oldest first."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - RATE_WINDOW

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    state = deliveries.c.state
    waiting = count(state.in_(("pending", "sending")))
    query = (
        sa.select(
            deliveries.c.publication_id,
            publications.c.key,
            deliveries.c.channel,
            count(state == "sent"),
            count(state == "failed"),
            count(state == "unknown"),
            count(state == "cancelled"),
            waiting,
            count((state == "sent") & (deliveries.c.sent_at >= since)),
        )
        .join(publications, publications.c.id == deliveries.c.publication_id)
        .where(_is_fan_out())
        .group_by(deliveries.c.publication_id, publications.c.key, deliveries.c.channel)
        .having(waiting > 0)
        .order_by(deliveries.c.publication_id, deliveries.c.channel)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    window = RATE_WINDOW.total_seconds()
    return [
        FanOutState(
            int(publication_id),
            str(key),
            str(channel),
            int(sent),
            int(failed),
            int(unknown),
            int(cancelled),
            int(remaining),
            int(recent) / window if recent else None,
        )
        for (
            publication_id,
            key,
            channel,
            sent,
            failed,
            unknown,
            cancelled,
            remaining,
            recent,
        ) in rows
    ]


class ProgressLine:
    """One line that is redrawn in place on a terminal, and written now and then elsewhere.

    On a terminal the line is rewritten at most every `interval` seconds; in a log (a pipe, a
    file, cron's mail) each redraw would be a new line, so one is written per tenth of the
    fan-out instead.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        terminal: bool,
        clock: Monotonic = time.monotonic,
        interval: float = 0.2,
    ) -> None:
        self._write = write
        self._terminal = terminal
        self._clock = clock
        self._interval = interval
        self._shown = ""
        self._drawn_at = -interval
        self._tenths: dict[int, int] = {}

    def show(self, tally: Tally) -> None:
        """Update the line for this tally (drawn only when it is time to)."""
        now = self._clock()
        done = tally.total - tally.remaining
        if self._terminal:
            if now - self._drawn_at < self._interval and tally.remaining:
                return
            text = tally.describe(now)
            self._write(f"\r{text}\x1b[K")
            self._shown, self._drawn_at = text, now
            return
        tenth = 10 * done // tally.total if tally.total else 10
        if self._tenths.get(tally.publication_id, -1) >= tenth:
            return
        self._tenths[tally.publication_id] = tenth
        self._write(tally.describe(now) + "\n")

    def clear(self) -> None:
        """Make room for an ordinary line (a failure) below or instead of the progress line."""
        if self._terminal and self._shown:
            self._write("\r\x1b[K")
            self._shown = ""
            self._drawn_at = -self._interval  # drawn again with the next outcome

    def finish(self) -> None:
        """End the line on a terminal so what follows starts on its own line."""
        if self._terminal and self._shown:
            self._write("\n")
            self._shown = ""


class FanOutPrinter:
    """The sender's `on_outcome` for a person watching: a fan-out is one progress line.

    One line per delivery stays for public posts and for every delivery that failed or may
    not have gone out: those need a person, a message sent to one subscriber does not.
    """

    def __init__(
        self,
        engine: sa.Engine,
        print_outcome: Callable[[Outcome], None],
        write: Callable[[str], None],
        *,
        terminal: bool | None = None,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self.tracker = Tracker(engine, clock)
        self._print = print_outcome
        if terminal is None:
            terminal = sys.stdout.isatty()
        self._line = ProgressLine(write, terminal=terminal, clock=clock)

    def __call__(self, outcome: Outcome) -> None:
        tally = self.tracker.record(outcome)
        if tally is None or tally.total <= LINE_EACH_UP_TO:
            self._line.clear()
            self._print(outcome)  # print_outcome masks people's addresses and chat ids
            return
        if outcome.state in ("failed", "unknown"):
            self._line.clear()
            self._print(outcome)
        self._line.show(tally)

    def finish(self) -> None:
        """End the progress line, so what is printed next starts on a line of its own."""
        self._line.finish()

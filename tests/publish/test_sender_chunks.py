"""A fan-out on a channel with several connections is claimed and recorded a chunk at a time."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from bot import control
from bot.app import App
from bot.channels.base import Payload, Progress, Rejected, TemporaryFailure, Uncertain
from bot.compose.context import Occasion
from bot.compose.drafts import Draft
from bot.publish.outbox import publish
from bot.publish.sender import Outcome, Sender
from bot.store.schema import deliveries, subscribers

START = dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)
WIDTH = 4
# One delivery in flight per connection: what a crash can leave `sending` is one per connection.
CHUNK = WIDTH
PEOPLE = 40
CHUNKS = math.ceil(PEOPLE / CHUNK)


def _end_of_chunk(call: int) -> int:
    """How many deliveries are claimed once the chunk holding send number `call` is."""
    return math.ceil(call / CHUNK) * CHUNK


class Killed(BaseException):
    """The process dying in the middle of a chunk (not an error any channel would raise)."""


class Scripted:
    """Email that answers from a script by recipient; records what it saw and when."""

    name: ClassVar[str] = "email"
    via: ClassVar[str] = "platform"

    def __init__(self, app: App, errors: dict[str, Exception] | None = None) -> None:
        self.app = app
        self.errors = errors or {}
        self.posted: list[str] = []
        self.states_at_first_call: Counter[str] | None = None
        self.crash_at: int | None = None  # the call that kills the process
        self.calls = 0
        self.after_send: Any = None

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        self.calls += 1
        if self.states_at_first_call is None:
            self.states_at_first_call = Counter(state for _, state in _states(self.app))
        if self.crash_at is not None and self.calls > self.crash_at:
            await asyncio.Future()  # the process is dying: this send never ends
        if self.calls == self.crash_at:
            raise Killed
        await progress.before(0)
        error = self.errors.get(payload.target)
        if error is not None:
            raise error
        assert payload.extra == {"unsubscribe_url": f"https://example.org/u/tok-{payload.target}"}
        self.posted.append(payload.target)
        if self.after_send:
            self.after_send(len(self.posted))
        await progress.after(0, f"<{len(self.posted)}@test>")
        return [f"<{len(self.posted)}@test>"]

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        return None

    async def close(self) -> None:
        return None


def _address(number: int) -> str:
    return f"p{number:02d}@example.org"


def _fan_out(app: App, people: int = PEOPLE, gone: tuple[int, ...] = ()) -> None:
    with app.engine.begin() as conn:
        conn.execute(
            subscribers.insert(),
            [
                {
                    "address": _address(n),
                    "lang": "en",
                    "status": "active",
                    "token": f"tok-{_address(n)}",
                    "created_at": START,
                }
                for n in range(people)
            ],
        )
    draft = Draft("daily-briefing", "email", "en", ("text",), (4,), 280, ())
    occasion = Occasion("daily-briefing", dt.date(2024, 2, 1))
    publish(app.engine, occasion, [draft], [], now=START, created_by="t")
    with app.engine.begin() as conn:  # unsubscribed after the publication was decided
        conn.execute(
            subscribers.update()
            .where(subscribers.c.address_hash.in_([app.sealer.lookup(_address(n)) for n in gone]))
            .values(status="unsubscribed")
        )


def _states(app: App) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries.c.target, deliveries.c.state).order_by(deliveries.c.id)
        ).all()
    return [(target, state) for target, state in rows]


def _sender(app: App, channel: Scripted, outcomes: list[Outcome] | None = None) -> Sender:
    return Sender(
        app.engine,
        {"email": channel},  # type: ignore[dict-item]
        clock=lambda: START,
        unsubscribe_url=lambda token: f"https://example.org/u/{token}",
        concurrency={"email": WIDTH},
        max_wait_seconds=1,  # a retry in 5 s is left for a later run
        on_outcome=outcomes.append if outcomes is not None else None,
    )


@pytest.fixture
def updates(app: App) -> Iterator[list[tuple[str, bool]]]:
    """Every UPDATE of the deliveries table: (statement, executemany)."""
    seen: list[tuple[str, bool]] = []

    def listen(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            seen.append((statement, many))

    sa.event.listen(app.engine, "before_cursor_execute", listen)
    yield seen
    sa.event.remove(app.engine, "before_cursor_execute", listen)


def test_a_chunk_is_claimed_at_once_before_anything_is_sent(app: App) -> None:
    _fan_out(app)
    channel = Scripted(app)
    asyncio.run(_sender(app, channel).run())
    assert channel.states_at_first_call == {"sending": CHUNK, "pending": PEOPLE - CHUNK}
    assert sorted(channel.posted) == [_address(n) for n in range(PEOPLE)]
    assert {state for _, state in _states(app)} == {"sent"}
    with app.engine.connect() as conn:
        attempts = conn.execute(sa.select(deliveries.c.attempts)).scalars().all()
        inflight = conn.execute(sa.select(deliveries.c.inflight_part)).scalars().all()
    assert set(attempts) == {1} and set(inflight) == {None}


def test_one_claim_and_one_result_write_per_chunk(
    app: App, updates: list[tuple[str, bool]]
) -> None:
    _fan_out(app)
    outcomes: list[Outcome] = []
    report = asyncio.run(_sender(app, Scripted(app), outcomes).run())
    claims = [s for s, _ in updates if "attempts" in s]
    results = [s for s, _ in updates if "sent_at" in s]
    assert len(claims) == CHUNKS
    # One per chunk, and the publication's very first outcome on its own (so a progress
    # tracker that reads the table at the first outcome it hears of counts it right).
    assert len(results) == CHUNKS + 1
    assert len(updates) == len(claims) + len(results)
    # Every delivery still has its outcome, saying whose it is.
    assert len(outcomes) == PEOPLE and report.count("sent") == PEOPLE
    assert {o.state for o in outcomes} == {"sent"}
    assert all(o.subscriber_id is not None and o.publication_id for o in outcomes)


def test_a_failure_in_a_chunk_affects_only_its_delivery(app: App) -> None:
    _fan_out(app, gone=(2,))
    errors: dict[str, Exception] = {
        _address(4): Rejected("550 no such user"),
        _address(6): Uncertain("dropped during DATA"),
        _address(9): TemporaryFailure("421 try later"),
    }
    outcomes: list[Outcome] = []
    asyncio.run(_sender(app, Scripted(app, errors), outcomes).run())
    states = dict(_states(app))
    assert states.pop(_address(2)) == "cancelled"
    assert states.pop(_address(4)) == "failed"
    assert states.pop(_address(6)) == "unknown"
    assert states.pop(_address(9)) == "pending"  # retried later, with backoff
    assert set(states.values()) == {"sent"}
    with app.engine.connect() as conn:  # targets are sealed: read them, then pick
        [row] = [
            row
            for row in conn.execute(
                sa.select(
                    deliveries.c.target,
                    deliveries.c.error,
                    deliveries.c.next_attempt_at,
                    deliveries.c.attempts,
                )
            )
            if row.target == _address(9)
        ]
    assert "421" in row.error and row.next_attempt_at is not None and row.attempts == 1
    by_target = {o.target: o.state for o in outcomes}
    assert len(by_target) == PEOPLE
    assert by_target[_address(2)] == "cancelled" and by_target[_address(9)] == "pending"


def test_the_pause_stops_a_fan_out_at_the_end_of_the_chunk(app: App) -> None:
    _fan_out(app)
    channel = Scripted(app)
    channel.after_send = lambda sent: (
        control.pause(app.engine, "wrong figure", "staff", START, None) if sent == 5 else None
    )
    report = asyncio.run(_sender(app, channel).run())
    assert report.paused is not None
    # The chunk under way when the pause came (after the fifth) is finished, then nothing.
    assert len(channel.posted) == _end_of_chunk(5)
    assert Counter(state for _, state in _states(app)) == {
        "sent": _end_of_chunk(5),
        "pending": PEOPLE - _end_of_chunk(5),
    }


def test_a_crash_mid_chunk_leaves_it_sending_then_unknown_never_resent(app: App) -> None:
    _fan_out(app)
    channel = Scripted(app)
    channel.crash_at = 6  # five have gone out; the sixth, and the rest of the chunk, hang
    with pytest.raises(Killed):
        asyncio.run(_sender(app, channel).run())
    after_crash = Counter(state for _, state in _states(app))
    # What landed is recorded; the rest of the chunk stays `sending`; no other chunk was claimed.
    end = _end_of_chunk(6)
    assert after_crash == {"sent": 5, "sending": end - 5, "pending": PEOPLE - end}
    first = list(channel.posted)

    again = Scripted(app)
    report = asyncio.run(_sender(app, again).run())
    states = dict(_states(app))
    unknown = {target for target, state in states.items() if state == "unknown"}
    assert len(unknown) == end - 5 and report.count("unknown") == end - 5
    assert not unknown & set(again.posted)  # never re-sent blindly
    assert sorted(first + again.posted) == sorted(set(states) - unknown)
    assert {state for target, state in states.items() if target not in unknown} == {"sent"}

"""The sender's state machine, with a scripted channel and an injected clock: no waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.channels.base import Payload, Progress, RateLimited, Rejected, TemporaryFailure, Uncertain
from bot.compose.context import Occasion
from bot.compose.drafts import Draft
from bot.publish import lease
from bot.publish.outbox import Target, publish
from bot.publish.sender import Sender, SenderBusy
from bot.store.schema import deliveries, subscribers

START = dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)


class Clock:
    """A clock that moves only when the sender 'sleeps'."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Scripted:
    """A channel that answers from a script: an exception to raise, or None to post."""

    script: list[Exception | None] = field(default_factory=list)
    posted: list[tuple[str, str]] = field(default_factory=list)
    name: ClassVar[str] = "scripted"
    via: ClassVar[str] = "platform"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        ids = list(done)
        for index in range(len(done), len(payload.parts)):
            await progress.before(index)
            outcome = self.script.pop(0) if self.script else None
            if outcome is not None:
                raise outcome
            self.posted.append((payload.target, payload.parts[index]))
            ids.append(f"id{len(self.posted)}")
            await progress.after(index, ids[-1])
        return ids

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        return None

    async def close(self) -> None:
        return None


def _draft(channel: str, parts: tuple[str, ...], lang: str = "en") -> Draft:
    return Draft("daily-briefing", channel, lang, parts, tuple(len(p) for p in parts), 280, ())


def _publish(app: App, drafts: list[Draft], targets: list[Target], again: bool = False) -> int:
    occasion = Occasion("daily-briefing", dt.date(2024, 2, 1))
    created = publish(app.engine, occasion, drafts, targets, now=START, created_by="t", again=again)
    return created.publication_id


def _states(app: App) -> list[tuple[str, str, list[str]]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries.c.target, deliveries.c.state, deliveries.c.ids).order_by(
                deliveries.c.id
            )
        ).all()
    return [(target, state, json.loads(ids)) for target, state, ids in rows]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _sender(app: App, channel: Scripted, clock: Clock, **kw: object) -> Sender:
    return Sender(app.engine, {"x": channel}, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_a_thread_goes_out_in_order_and_is_recorded(app: App, clock: Clock) -> None:
    channel = Scripted()
    _publish(app, [_draft("x", ("one", "two", "three"))], [Target("x", "")])
    report = asyncio.run(_sender(app, channel, clock).run())
    assert [text for _, text in channel.posted] == ["one", "two", "three"]
    assert _states(app) == [("", "sent", ["id1", "id2", "id3"])]
    assert report.count("sent") == 1


def test_a_rate_limit_waits_as_asked_then_sends_once(app: App, clock: Clock) -> None:
    channel = Scripted([RateLimited("slow down", retry_after=90)])
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    asyncio.run(_sender(app, channel, clock).run())
    assert clock.slept == [90]
    assert channel.posted == [("", "one")]
    assert _states(app)[0][1] == "sent"


def test_a_rate_limit_beyond_the_wait_leaves_it_pending(app: App, clock: Clock) -> None:
    channel = Scripted([RateLimited("daily cap", retry_after=6 * 3600)])
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    report = asyncio.run(_sender(app, channel, clock, max_wait_seconds=600).run())
    assert clock.slept == [] and channel.posted == []
    assert _states(app)[0][1] == "pending"
    assert report.waiting_until == START + dt.timedelta(hours=6)


def test_a_thread_failing_midway_resumes_after_the_last_posted_part(app: App, clock: Clock) -> None:
    channel = Scripted([None, TemporaryFailure("503")])
    _publish(app, [_draft("x", ("one", "two", "three"))], [Target("x", "")])
    asyncio.run(_sender(app, channel, clock).run())
    assert [text for _, text in channel.posted] == ["one", "two", "three"]
    assert clock.slept == [5]  # the first retry after a temporary failure
    assert _states(app) == [("", "sent", ["id1", "id2", "id3"])]


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (Rejected("400 text too long"), "failed"),
        (Uncertain("timed out after sending"), "unknown"),
    ],
    ids=["rejected-fails", "uncertain-is-unknown"],
)
def test_errors_end_in_their_state_and_are_never_retried(
    app: App, clock: Clock, error: Exception, state: str
) -> None:
    channel = Scripted([error])
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    asyncio.run(_sender(app, channel, clock).run())
    asyncio.run(_sender(app, channel, clock).run())  # a second run changes nothing
    assert channel.posted == []
    assert _states(app)[0][1] == state
    with app.engine.connect() as conn:
        error_text = conn.execute(sa.select(deliveries.c.error)).scalar()
    assert str(error) in str(error_text)


def test_temporary_failures_give_up_after_the_last_attempt(app: App, clock: Clock) -> None:
    channel = Scripted([TemporaryFailure("connection refused")] * 3)
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    asyncio.run(_sender(app, channel, clock, max_attempts=3).run())
    assert clock.slept == [5, 10]
    assert _states(app)[0][1] == "failed"


def test_a_delivery_left_sending_by_a_dead_process_becomes_unknown(app: App, clock: Clock) -> None:
    _publish(app, [_draft("x", ("one", "two"))], [Target("x", "")])
    with app.engine.begin() as conn:
        conn.execute(deliveries.update().values(state="sending", inflight_part=1, ids='["id1"]'))
    channel = Scripted()
    report = asyncio.run(_sender(app, channel, clock).run())
    assert channel.posted == []
    assert _states(app) == [("", "unknown", ["id1"])]
    assert "part 2" in report.outcomes[0].detail


def test_a_second_sender_is_refused_while_the_first_holds_the_lease(app: App, clock: Clock) -> None:
    holder = "elsewhere:1:abc"
    assert lease.acquire(app.engine, "sender", holder, START, dt.timedelta(minutes=2)) is None
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    with pytest.raises(SenderBusy, match="another bot process is sending"):
        asyncio.run(_sender(app, Scripted(), clock).run())
    assert _states(app)[0][1] == "pending"


def test_publishing_an_occasion_twice_adds_nothing(app: App) -> None:
    drafts = [_draft("x", ("one",)), _draft("telegram", ("one",))]
    targets = [Target("x", ""), Target("telegram", "@chat")]
    first = _publish(app, drafts, targets)
    second = _publish(app, drafts, targets)
    assert first == second and len(_states(app)) == 2
    third = _publish(app, drafts, targets, again=True)
    assert third != first and len(_states(app)) == 4


def _subscribe(app: App, people: list[tuple[str, str, str]]) -> None:
    with app.engine.begin() as conn:
        for email, lang, status in people:
            conn.execute(
                subscribers.insert().values(
                    address=email, lang=lang, status=status, token=f"tok-{email}", created_at=START
                )
            )


def test_email_fans_out_to_active_subscribers_of_each_language(app: App) -> None:
    _subscribe(
        app,
        [
            ("a@example.org", "en", "active"),
            ("b@example.org", "my", "active"),
            ("c@example.org", "en", "unsubscribed"),
            ("d@example.org", "en", "pending"),
        ],
    )
    drafts = [_draft("email", ("text",), "en"), _draft("email", ("စာ",), "my")]
    _publish(app, drafts, [])
    assert sorted(target for target, _, _ in _states(app)) == ["a@example.org", "b@example.org"]
    _subscribe(app, [("e@example.org", "my", "active")])
    _publish(app, drafts, [])  # a repeat adds only the newcomer, never a second copy
    assert sorted(target for target, _, _ in _states(app)) == [
        "a@example.org",
        "b@example.org",
        "e@example.org",
    ]


def test_an_unsubscribed_person_is_not_sent_what_was_queued(app: App, clock: Clock) -> None:
    _subscribe(app, [("a@example.org", "en", "active"), ("b@example.org", "en", "active")])
    _publish(app, [_draft("email", ("text",))], [])
    with app.engine.begin() as conn:
        conn.execute(
            subscribers.update()
            .where(subscribers.c.address_hash == app.sealer.lookup("b@example.org"))
            .values(status="unsubscribed")
        )
    channel = Scripted()
    sender = Sender(
        app.engine,
        {"email": channel},
        clock=clock,
        sleep=clock.sleep,
        unsubscribe_url=lambda token: f"https://example.org/u/{token}",
    )
    asyncio.run(sender.run())
    assert channel.posted == [("a@example.org", "text")]
    assert [state for _, state, _ in _states(app)] == ["sent", "cancelled"]


@pytest.fixture
def _no_leftover_lease(app: App) -> Iterator[None]:
    yield
    with app.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM leases")).scalar() == 0


@pytest.mark.usefixtures("_no_leftover_lease")
def test_the_lease_is_released_after_a_run(app: App, clock: Clock) -> None:
    _publish(app, [_draft("x", ("one",))], [Target("x", "")])
    asyncio.run(_sender(app, Scripted(), clock).run())


def test_a_post_composed_for_the_folder_never_reaches_a_platform(app: App, clock: Clock) -> None:
    # Made in a rehearsal (or without credentials), then a run that has the real keys.
    _publish(app, [_draft("x", ("rehearsed",))], [Target("x", "", via="folder")])
    channel = Scripted()
    sender = _sender(app, channel, clock)
    asyncio.run(sender.run())
    assert channel.posted == []
    assert _states(app)[0][1] == "pending"
    assert sender.waiting_elsewhere() == {"x": 1}


def test_a_post_meant_for_the_platform_is_not_filed_away_by_a_run_without_keys(
    app: App, clock: Clock, tmp_path: Path
) -> None:
    from bot.channels.folder import FolderChannel

    _publish(app, [_draft("x", ("real",))], [Target("x", "", via="platform")])
    folder = FolderChannel("x", tmp_path / "outbox", clock)
    sender = Sender(app.engine, {"x": folder}, clock=clock, sleep=clock.sleep)
    asyncio.run(sender.run())
    assert not (tmp_path / "outbox").exists()
    assert _states(app)[0][1] == "pending"
    assert sender.waiting_elsewhere() == {"x": 1}

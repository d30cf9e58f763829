"""The bot under load, through a Bot API that refuses what Telegram would refuse.

The fake answers 429 to anything over 30 messages a second overall, one a second in a chat or
20 a minute in a group (tests/peers/telegram_server.py `Limits`). The bot and the fake read one
virtual clock (tests/peers/virtual_clock.py) that moves only when the bot's Telegram queue
sleeps, never while a message is on its way: a limit the bot keeps is a limit kept at the
fake, and nothing waits for real.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot import control
from bot.app import App
from bot.channels.spec import Wiring
from bot.runtime import Runtime, build_runtime
from bot.store.schema import deliveries, subscribers
from bot.telegram_bot import build_application
from tests.conftest import FIXED_NOW
from tests.peers.telegram_server import Call, FakeTelegram, Limits
from tests.peers.virtual_clock import MICROSECONDS, VirtualClock
from tests.publish.helpers import CHAT, publish_occasion
from tests.telegram_bot.conftest import NAME, RunningBot
from tests.telegram_bot.test_staff import STAFF, staffed  # noqa: F401 (a fixture)

SENDS = ("sendMessage", "sendPhoto")


class Landed:
    """What landed at the fake, in order: (virtual µs, chat, text), stamped on arrival."""

    def __init__(self, telegram: FakeTelegram, clock: VirtualClock) -> None:
        self.items: list[tuple[int, str, str]] = []
        for method in SENDS:
            self._wrap(telegram, method, clock)

    def _wrap(self, telegram: FakeTelegram, method: str, clock: VirtualClock) -> None:
        handler = telegram.handlers[method]

        def stamped(call: Call) -> Any:
            result = handler(call)
            text = call.params.get("text") or call.params.get("caption") or ""
            self.items.append((clock.us, str(call.params["chat_id"]), str(text)))
            return result

        telegram.handlers[method] = stamped

    def to(self, chat: int | str) -> list[tuple[int, str]]:
        return [(at, text) for at, to, text in self.items if to == str(chat)]


def paced(app: App, telegram: FakeTelegram) -> tuple[Runtime, VirtualClock, Landed]:
    """The runtime on a virtual clock, and the fake enforcing Telegram's limits on it."""
    clock = VirtualClock()
    telegram.limits = Limits(clock)
    runtime = build_runtime(app, Wiring(clock=app.clock, monotonic=clock, sleep=clock.sleep))
    clock.busy = lambda: runtime.telegram_queue().in_flight
    return runtime, clock, Landed(telegram, clock)


@pytest.fixture
def quiet_429(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The log, to show that no 429 and no undelivered message was logged."""
    with caplog.at_level(logging.INFO):
        yield caplog
    said = caplog.text
    assert "was not delivered" not in said
    assert "RetryAfter" not in said and "asked to wait" not in said


@pytest.mark.timeout(120)
def test_a_hundred_people_sending_start_at_once_get_a_hundred_welcomes(
    wired: App, telegram: FakeTelegram, quiet_429: pytest.LogCaptureFixture
) -> None:
    runtime, clock, landed = paced(wired, telegram)
    people = [7_720_000_000 + n for n in range(100)]
    application = build_application(runtime)
    assert application is not None

    with RunningBot(application):
        for person in people:
            telegram.push_message(person, "/start", first_name=NAME)
        assert telegram.wait_for(lambda: len(landed.items) >= 100, timeout=60), len(landed.items)

    assert telegram.refused == []
    assert sorted(chat for _, chat, _ in landed.items) == sorted(map(str, people))
    # Within the overall limit, not slower than it: 100 messages at 29 a second.
    assert clock.elapsed < 100 / 29 + 1


@pytest.mark.timeout(120)
def test_subscribe_then_latest_at_once_get_both_answers_in_order(
    wired: App, telegram: FakeTelegram, quiet_429: pytest.LogCaptureFixture
) -> None:
    runtime, _, landed = paced(wired, telegram)
    person = 7_720_100_000
    application = build_application(runtime)
    assert application is not None

    with RunningBot(application):
        telegram.push_message(person, "/subscribe", first_name=NAME)
        telegram.push_message(person, "/latest", first_name=NAME)
        telegram.push_message(person, "/help", first_name=NAME)
        assert telegram.wait_for(lambda: len(landed.to(person)) >= 3, timeout=30)

    assert telegram.refused == []
    [(first, asked), (second, latest), (third, helped)] = landed.to(person)
    assert "English" in asked or "language" in asked.lower()  # /subscribe: choose a language
    assert "/latest" not in latest and latest != asked and latest != helped
    assert "/latest" in helped  # /help lists the commands
    assert second - first >= MICROSECONDS and third - second >= MICROSECONDS  # one a second


def add_people(app: App, count: int) -> list[str]:
    """`count` active Telegram subscribers (half en, half my); their chat ids."""
    chats = [str(5_100_000_000 + n) for n in range(count)]
    with app.engine.begin() as conn:
        conn.execute(
            subscribers.insert(),
            [
                {
                    "channel": "telegram",
                    "address": chat,
                    "lang": ("en", "my")[n % 2],
                    "status": "active",
                    "token": secrets.token_urlsafe(18),
                    "created_at": FIXED_NOW,
                }
                for n, chat in enumerate(chats)
            ],
        )
    return chats


FAN_OUT = 3000


@pytest.mark.timeout(300)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_staff_preview_arrives_whole_during_a_fan_out_without_a_429(
    staffed: App,  # noqa: F811 (the fixture imported above)
    telegram: FakeTelegram,
    quiet_429: pytest.LogCaptureFixture,
) -> None:
    runtime, _, landed = paced(staffed, telegram)
    chats = set(add_people(staffed, FAN_OUT))
    publication = publish_occasion(staffed, "daily-briefing", "2024-02-01", ["telegram"])
    application = build_application(runtime)
    assert application is not None
    shown = runtime.publisher().preview(_ask(staffed))
    # The summary, then each language's card (a photo) and one message per edition.
    labels_expected = []
    for edition in shown.editions:
        card = f"<b>anniversary · card · {edition.lang}"
        if getattr(edition, "card", None) is not None and card not in labels_expected:
            labels_expected.append(card)
        labels_expected.append(f"<b>anniversary · {edition.channel} · {edition.lang}")
    assert sum("· card ·" in label for label in labels_expected) == 2  # en and my
    expected = len(labels_expected) + 1

    def fanned() -> int:
        return sum(chat in chats for _, chat, _ in landed.items)

    with RunningBot(application) as bot:
        assert bot.loop is not None
        wired = runtime.connect(["telegram"])
        sending = asyncio.run_coroutine_threadsafe(runtime.sender(wired).run(publication), bot.loop)
        assert telegram.wait_for(lambda: fanned() >= 100, timeout=60)
        telegram.push_message(STAFF, "/preview anniversary", first_name=NAME)
        assert telegram.wait_for(lambda: len(landed.to(STAFF)) >= expected, timeout=120)
        at_preview = fanned()
        # Enough seen: the rest of the fan-out is stopped as staff would stop it (a pause),
        # which keeps the test to a few seconds; what was not sent stays pending.
        assert telegram.wait_for(lambda: fanned() >= at_preview + 200, timeout=60)
        control.pause(staffed.engine, "enough for the test", "tester", staffed.clock(), None)
        report = sending.result(timeout=60)
        asyncio.run_coroutine_threadsafe(wired.close(), bot.loop).result(timeout=30)

    # The preview: every edition and card, in order, one a second, while the fan-out went on.
    preview = landed.to(STAFF)
    assert len(preview) == expected
    assert preview[0][1].startswith("<b>anniversary</b>")
    labels = [text.split("</b>", 1)[0] for _, text in preview[1:]]
    assert labels == labels_expected, "an edition or a card is missing or out of order"
    assert all(b - a >= MICROSECONDS for (a, _), (b, _) in itertools.pairwise(preview))
    assert 100 <= at_preview < FAN_OUT // 2
    # The fan-out: nobody refused, nobody twice, at the pace the queue allows, the preview's
    # messages taking their turns from it.
    assert telegram.refused == []
    fan = [chat for _, chat, _ in landed.items if chat in chats]
    assert len(fan) == len(set(fan)) >= at_preview + 200
    assert report.paused
    with staffed.engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(deliveries.c.state, sa.func.count()).group_by(deliveries.c.state)
            ).all()
        )
    posts = [chat for _, chat, _ in landed.items if chat == CHAT]
    assert 1 <= len(posts) <= 2  # the channel's own posts (the second may wait for the pause)
    assert states["sent"] == len(fan) + len(posts)
    assert states["sent"] + states["pending"] == FAN_OUT + 2 and set(states) == {"sent", "pending"}
    seconds = (landed.items[-1][0] - landed.items[0][0]) / MICROSECONDS
    assert len(landed.items) / seconds > 25  # the overall pace kept close to its 29 a second


def _ask(app: App) -> Any:
    from bot.publishing.decision import Ask

    return Ask("anniversary", "telegram", "Aye Aye")

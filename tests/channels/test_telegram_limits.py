"""The Telegram channel's pace: 30 messages a second, 1 a second per chat, a 429 stops all.

Time is virtual (`VirtualTime`): it moves only when the channel sleeps, and never while a
request is on its way, so the fake server can stamp each message with the moment the channel
let it go, and no test waits for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Bot

from bot.channels.base import Payload, RateLimited, RecipientGone, Rejected
from bot.channels.telegram import TelegramSettings
from bot.channels.telegram_api import MAX_HELD_SECONDS, MESSAGES_PER_SECOND, TelegramChannel
from bot.errors import ChannelError
from tests.peers import telegram_server
from tests.peers.telegram_server import ApiError, Call, FakeTelegram, error

TOKEN = "123456789:AAHsecret-Token_value-0123456789abcdef"
CHAT = "@rights_figures"
MICROSECONDS = 1_000_000
# Telegram's limits as the fake checks them, in whole microseconds of virtual time.
OVERALL_GAP = MICROSECONDS // 30
CHAT_GAP = MICROSECONDS


class VirtualTime:
    """Microseconds that pass only when someone sleeps, and never while a request is out.

    A sleep first waits (for real, briefly) until every message the channel let go has been
    answered, then moves the time on: what the fake server reads from this clock is the moment
    the channel let the message go, and a 429 is heard before anyone's time moves past it.
    """

    def __init__(self, start: int = 1_000 * MICROSECONDS) -> None:
        self.us = start
        self.start = start
        self.in_flight = 0
        self.slept: list[float] = []
        self._sleeping: list[tuple[int, int]] = []
        self._numbers = itertools.count()

    def __call__(self) -> float:
        return self.us / MICROSECONDS

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return (self.us - self.start) / MICROSECONDS

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` of virtual time have passed (rounded up to a microsecond).

        Sleepers wake in the order of their deadlines, as they would in real time, and only
        when nothing else can run: every task that is about to sleep has done so, and every
        message let go has been answered.
        """
        self.slept.append(seconds)
        entry = (self.us + math.ceil(seconds * MICROSECONDS), next(self._numbers))
        heapq.heappush(self._sleeping, entry)
        deadline = time.monotonic() + 10
        while True:
            await asyncio.sleep(0.0002)  # (real) lets every runnable task run, replies come in
            if not self.in_flight and self._sleeping[0] == entry:
                break
            if time.monotonic() > deadline:
                raise AssertionError("a message to the fake Telegram was never answered")
        heapq.heappop(self._sleeping)
        self.us = max(self.us, entry[0])


def count_in_flight(monkeypatch: pytest.MonkeyPatch, clock: VirtualTime) -> None:
    """Count the sendMessage calls under way, from the moment the channel makes them."""
    original = Bot.send_message

    async def counted(self: Bot, *args: Any, **kwargs: Any) -> Any:
        clock.in_flight += 1
        try:
            return await original(self, *args, **kwargs)
        finally:
            clock.in_flight -= 1

    monkeypatch.setattr(Bot, "send_message", counted)


class Stamps:
    """Records, on the fake's side, the virtual moment and chat of each message that landed."""

    def __init__(self, telegram: FakeTelegram, clock: VirtualTime) -> None:
        self.sent: list[tuple[int, str]] = []
        handler = telegram.handlers["sendMessage"]

        def stamped(call: Call) -> Any:
            result = handler(call)
            self.sent.append((clock.us, str(call.params["chat_id"])))
            return result

        telegram.handlers["sendMessage"] = stamped

    def gaps(self) -> list[int]:
        """Microseconds between one landed message and the next."""
        times = [at for at, _ in self.sent]
        return [b - a for a, b in itertools.pairwise(times)]

    def times_in(self, chat: str) -> list[int]:
        """When each message to `chat` landed."""
        return [at for at, to in self.sent if to == chat]


def answer_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """TCP_NODELAY in the fake: its reply goes out in two writes, and Nagle's algorithm with
    the client's delayed ACK would hold the second back 40 ms, for every message."""
    monkeypatch.setattr(telegram_server._RequestHandler, "disable_nagle_algorithm", True)


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    answer_at_once(monkeypatch)
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    found = VirtualTime()
    count_in_flight(monkeypatch, found)
    return found


def channel_for(telegram: FakeTelegram, clock: VirtualTime) -> TelegramChannel:
    settings = TelegramSettings(chat=CHAT, base_url=telegram.base_url, timeout_seconds=5)
    return TelegramChannel(settings, TOKEN, clock=clock, sleep=clock.sleep)


class NoProgress:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


def payload(target: str, *parts: str) -> Payload:
    return Payload("telegram", "en", parts or ("<b>Killed</b>: 6000",), target=target)


def send_all(
    telegram: FakeTelegram, clock: VirtualTime, payloads: list[Payload], width: int = 10
) -> list[list[str] | ChannelError]:
    """Publish the payloads `width` at a time, as the sender does; ids or the error each."""

    async def run() -> list[list[str] | ChannelError]:
        channel = channel_for(telegram, clock)
        gate = asyncio.Semaphore(width)

        async def one(sent: Payload) -> list[str] | ChannelError:
            async with gate:
                try:
                    return await channel.publish(sent, [], NoProgress())
                except ChannelError as exc:
                    return exc

        try:
            return list(await asyncio.gather(*(one(p) for p in payloads)))
        finally:
            await channel.close()

    return asyncio.run(run())


def person(number: int) -> str:
    return str(700_000_000 + number)


def test_a_hundred_chats_get_at_most_thirty_messages_a_second(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    stamps = Stamps(telegram, clock)

    results = send_all(telegram, clock, [payload(person(n)) for n in range(100)])

    assert all(isinstance(result, list) for result in results)
    assert len(stamps.sent) == 100
    assert {chat for _, chat in stamps.sent} == {person(n) for n in range(100)}
    assert min(stamps.gaps()) >= OVERALL_GAP
    # As fast as the channel allows itself, not slower: 99 gaps at its pace (29 a second,
    # one below Telegram's limit, so timing jitter never meets a 429).
    assert clock.elapsed == pytest.approx(99 / MESSAGES_PER_SECOND, abs=0.001)


def test_parts_to_one_chat_are_a_second_apart_while_other_chats_go_on(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    stamps = Stamps(telegram, clock)
    thread = payload("", "<b>1/3</b> Killed", "<b>2/3</b> Arrested", "<b>3/3</b> Held")
    others = [payload(person(n)) for n in range(5)]

    results = send_all(telegram, clock, [thread, *others])

    assert all(isinstance(result, list) for result in results)
    parts = stamps.times_in(CHAT)
    assert len(parts) == 3
    assert [b - a for a, b in itertools.pairwise(parts)] == [CHAT_GAP, CHAT_GAP]
    # The thread's wait holds back only its own chat: the others went within the first second.
    assert all(at - parts[0] < CHAT_GAP for n in range(5) for at in stamps.times_in(person(n)))
    assert min(stamps.gaps()) >= OVERALL_GAP
    assert [text for text in telegram.texts() if "/3" in text] == list(thread.parts)


def test_a_429_pauses_every_concurrent_send_for_as_long_as_asked(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    stamps = Stamps(telegram, clock)
    telegram.script("sendMessage", error(429, "Too Many Requests: retry after 5", retry_after=5))
    started = clock.us

    results = send_all(telegram, clock, [payload(person(n)) for n in range(10)])

    [limited] = [result for result in results if isinstance(result, RateLimited)]
    assert limited.retry_after == 5.0
    assert results[0] is limited  # the first to go was refused...
    assert len(stamps.sent) == 9  # ...and every other one waited, then went
    assert all(at >= started + 5 * MICROSECONDS for at, _ in stamps.sent)
    assert min(stamps.gaps()) >= OVERALL_GAP
    assert len(telegram.calls_to("sendMessage")) == 10  # no call during the wait


def test_a_long_flood_wait_is_handed_back_to_the_sender(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    wait = int(MAX_HELD_SECONDS) * 5
    telegram.script(
        "sendMessage", error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
    )

    results = send_all(telegram, clock, [payload(person(n)) for n in range(10)])

    # Nothing was sent; the claimed deliveries go back to the outbox instead of being held.
    assert all(isinstance(result, RateLimited) for result in results)
    assert all(r.retry_after > MAX_HELD_SECONDS for r in results if isinstance(r, RateLimited))
    assert len(telegram.calls_to("sendMessage")) == 1
    assert clock.elapsed < 1


def test_the_chats_remembered_are_only_those_of_the_last_second(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    channel = channel_for(telegram, clock)

    async def run() -> None:
        try:
            for n in range(200):
                await channel.publish(payload(person(n)), [], NoProgress())
        finally:
            await channel.close()

    asyncio.run(run())

    assert len(channel._limits._chats) <= 31  # a fan-out to many never grows it


# A refusal concerning one person: (Telegram's answer, the words shown).
GONE = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "chat not found": (400, "Bad Request: chat not found"),
    "never started": (403, "Forbidden: bot can't initiate conversation with a user"),
}


@pytest.mark.parametrize("case", GONE)
def test_a_person_who_is_gone_is_recipient_gone_without_their_chat_id(
    telegram: FakeTelegram, clock: VirtualTime, case: str
) -> None:
    code, said = GONE[case]
    telegram.script("sendMessage", error(code, said))

    [result] = send_all(telegram, clock, [payload(person(42))])

    assert type(result) is RecipientGone
    assert "Telegram refused part 1 of 1 to chat 7***42" in str(result)
    assert person(42) not in str(result)
    assert TOKEN not in str(result)


@pytest.mark.parametrize("case", GONE)
def test_the_same_answer_for_the_public_chat_stays_rejected(
    telegram: FakeTelegram, clock: VirtualTime, case: str
) -> None:
    code, said = GONE[case]
    telegram.script("sendMessage", error(code, said))

    results = send_all(telegram, clock, [payload(""), payload(CHAT)])

    assert [type(result) for result in results] == [Rejected, list]
    assert f"to {CHAT}" in str(results[0])


def test_other_refusals_of_a_person_are_not_taken_for_gone(
    telegram: FakeTelegram, clock: VirtualTime
) -> None:
    # A message Telegram cannot parse is the bot's fault, not a sign the person left.
    telegram.handlers["sendMessage"] = _refuse_markup

    [result] = send_all(telegram, clock, [payload(person(1))])

    assert type(result) is Rejected


def _refuse_markup(call: Call) -> Any:
    raise ApiError(400, "Bad Request: can't parse entities: unsupported start tag")

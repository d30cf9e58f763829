"""The Telegram channel's pace, against a fake Bot API that enforces Telegram's limits.

The fake refuses with 429 whatever goes over 30 messages a second, one a second in a chat or
20 a minute in a group (tests/peers/telegram_server.py `Limits`). Time is virtual: it moves
only when the queue sleeps and never while a request is on its way, so the fake stamps each
message with the moment the queue let it go, and no test waits for real.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.base import Payload, RateLimited, RecipientGone, Rejected
from bot.channels.telegram import TelegramSettings
from bot.channels.telegram_api import MAX_HELD_SECONDS, TelegramChannel
from bot.channels.telegram_pace import MESSAGES_PER_SECOND
from bot.errors import ChannelError
from tests.peers.telegram_server import ApiError, Call, FakeTelegram, Limits, error
from tests.peers.virtual_clock import MICROSECONDS, VirtualClock

TOKEN = "123456789:AAHsecret-Token_value-0123456789abcdef"
CHAT = "@rights_figures"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def telegram(clock: VirtualClock) -> Iterator[FakeTelegram]:
    with FakeTelegram(limits=Limits(clock)) as fake:
        yield fake


class Stamps:
    """Records, on the fake's side, the virtual moment and chat of each message that landed."""

    def __init__(self, telegram: FakeTelegram, clock: VirtualClock) -> None:
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


def channel_for(telegram: FakeTelegram, clock: VirtualClock) -> TelegramChannel:
    settings = TelegramSettings(chat=CHAT, base_url=telegram.base_url, timeout_seconds=5)
    channel = TelegramChannel(settings, TOKEN, clock=clock, sleep=clock.sleep)
    clock.busy = lambda: channel.queue.in_flight
    return channel


class NoProgress:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


def payload(target: str, *parts: str) -> Payload:
    return Payload("telegram", "en", parts or ("<b>Killed</b>: 6000",), target=target)


Result = list[str] | ChannelError


def send_all(
    telegram: FakeTelegram,
    clock: VirtualClock,
    payloads: list[Payload],
    width: int = 10,
    staff: list[Payload] | None = None,
) -> tuple[list[Result], list[Result]]:
    """Publish the payloads `width` at a time, as the sender does, and tell `staff` meanwhile
    (as alerts are told); the ids or the error of each."""

    async def run() -> tuple[list[Result], list[Result]]:
        channel = channel_for(telegram, clock)
        gate = asyncio.Semaphore(width)

        async def one(sent: Payload) -> Result:
            async with gate:
                try:
                    return await channel.publish(sent, [], NoProgress())
                except ChannelError as exc:
                    return exc

        async def told(sent: Payload) -> Result:
            await asyncio.sleep(0.01)  # (real) the fan-out is under way first
            try:
                return await channel.tell(sent)
            except ChannelError as exc:
                return exc

        try:
            fan = asyncio.gather(*(one(p) for p in payloads))
            notes = asyncio.gather(*(told(p) for p in staff or []))
            return list(await fan), list(await notes)
        finally:
            await channel.close()

    return asyncio.run(run())


def person(number: int) -> str:
    return str(700_000_000 + number)


def test_a_hundred_chats_get_at_most_thirty_messages_a_second(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    stamps = Stamps(telegram, clock)

    results, _ = send_all(telegram, clock, [payload(person(n)) for n in range(100)])

    assert all(isinstance(result, list) for result in results)
    assert telegram.refused == []
    assert {chat for _, chat in stamps.sent} == {person(n) for n in range(100)}
    assert len(stamps.sent) == 100
    # As fast as the queue allows itself, not slower: 99 gaps at its pace (29 a second,
    # one below Telegram's limit, so timing jitter never meets a 429).
    assert clock.elapsed == pytest.approx(99 / MESSAGES_PER_SECOND, abs=0.001)


def test_parts_to_one_chat_are_a_second_apart_while_other_chats_go_on(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    stamps = Stamps(telegram, clock)
    thread = payload("", "<b>1/3</b> Killed", "<b>2/3</b> Arrested", "<b>3/3</b> Held")
    others = [payload(person(n)) for n in range(5)]

    results, _ = send_all(telegram, clock, [thread, *others])

    assert all(isinstance(result, list) for result in results)
    assert telegram.refused == []
    parts = stamps.times_in(CHAT)
    assert len(parts) == 3
    assert all(MICROSECONDS <= b - a < 1.1 * MICROSECONDS for a, b in itertools.pairwise(parts))
    # The thread's wait holds back only its own chat: the others went within the first second.
    assert all(at - parts[0] < MICROSECONDS for n in range(5) for at in stamps.times_in(person(n)))
    assert [text for text in telegram.texts() if "/3" in text] == list(thread.parts)


def test_a_group_gets_twenty_messages_a_minute_and_no_more(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    stamps = Stamps(telegram, clock)
    parts = [f"<b>{n}</b>" for n in range(25)]

    results, _ = send_all(telegram, clock, [payload(CHAT, *parts)])

    assert isinstance(results[0], list) and telegram.texts() == parts
    assert telegram.refused == []
    times = stamps.times_in(CHAT)
    assert all(b - a >= 60 * MICROSECONDS for a, b in zip(times, times[20:], strict=False))
    # The 21st waited for the first to leave the minute, and not much longer.
    assert times[20] - times[0] < 61 * MICROSECONDS


def test_a_429_pauses_every_message_for_as_long_as_asked_then_each_goes(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    stamps = Stamps(telegram, clock)
    telegram.script("sendMessage", error(429, "Too Many Requests: retry after 5", retry_after=5))
    started = clock.us

    results, _ = send_all(telegram, clock, [payload(person(n)) for n in range(10)])

    # Nothing was lost: the refused message was sent again after the wait, and nothing went
    # during it.
    assert all(isinstance(result, list) for result in results)
    assert sorted(chat for _, chat in stamps.sent) == sorted(person(n) for n in range(10))
    assert all(at >= started + 5 * MICROSECONDS for at, _ in stamps.sent)
    assert len(telegram.calls_to("sendMessage")) == 11


def test_a_429_does_not_let_a_chats_later_message_overtake(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    telegram.script("sendMessage", error(429, "Too Many Requests: retry after 2", retry_after=2))
    first = payload(person(1), "<b>1/2</b> first")
    second = payload(person(1), "<b>2/2</b> second")

    results, _ = send_all(telegram, clock, [first, second])

    assert all(isinstance(result, list) for result in results)
    assert telegram.texts() == ["<b>1/2</b> first", "<b>2/2</b> second"]


def test_a_long_flood_wait_is_handed_back_to_the_sender(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    wait = int(MAX_HELD_SECONDS) * 5
    telegram.script(
        "sendMessage", error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
    )

    results, _ = send_all(telegram, clock, [payload(person(n)) for n in range(10)])

    # Nothing was sent; the claimed deliveries go back to the outbox instead of being held.
    assert all(isinstance(result, RateLimited) for result in results)
    assert all(r.retry_after > MAX_HELD_SECONDS for r in results if isinstance(r, RateLimited))
    assert len(telegram.calls_to("sendMessage")) == 1
    assert clock.elapsed < 1


def test_staff_are_told_ahead_of_a_fan_out(telegram: FakeTelegram, clock: VirtualClock) -> None:
    stamps = Stamps(telegram, clock)
    admins = "-100777"
    alert = payload(admins, "⚠ held: the daily briefing", "second part", "third part")

    results, told = send_all(
        telegram, clock, [payload(person(n)) for n in range(300)], staff=[alert]
    )

    assert all(isinstance(result, list) for result in results + told)
    assert telegram.refused == []
    # The alert's three parts went a second apart, in order, long before the fan-out ended
    # (300 messages take over ten seconds).
    times = stamps.times_in(admins)
    assert [b - a < 1.1 * MICROSECONDS for a, b in itertools.pairwise(times)] == [True, True]
    assert times[-1] - clock.start < 3 * MICROSECONDS
    assert [t for t in telegram.texts() if not t.startswith("<b>")] == list(alert.parts)


def test_the_chats_remembered_stay_few_during_a_fan_out(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    channel = channel_for(telegram, clock)

    async def run() -> None:
        try:
            for n in range(600):
                await channel.publish(payload(person(n)), [], NoProgress())
        finally:
            await channel.close()

    asyncio.run(run())

    assert channel.queue.pace.remembered() <= 300  # a fan-out to many never grows it


# A refusal concerning one person: (Telegram's answer, the words shown).
GONE = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "chat not found": (400, "Bad Request: chat not found"),
    "never started": (403, "Forbidden: bot can't initiate conversation with a user"),
}


@pytest.mark.parametrize("case", GONE)
def test_a_person_who_is_gone_is_recipient_gone_without_their_chat_id(
    telegram: FakeTelegram, clock: VirtualClock, case: str
) -> None:
    code, said = GONE[case]
    telegram.script("sendMessage", error(code, said))

    [result], _ = send_all(telegram, clock, [payload(person(42))])

    assert type(result) is RecipientGone
    assert "Telegram refused part 1 of 1 to chat 7***42" in str(result)
    assert person(42) not in str(result)
    assert TOKEN not in str(result)


@pytest.mark.parametrize("case", GONE)
def test_the_same_answer_for_the_public_chat_stays_rejected(
    telegram: FakeTelegram, clock: VirtualClock, case: str
) -> None:
    code, said = GONE[case]
    telegram.script("sendMessage", error(code, said))

    results, _ = send_all(telegram, clock, [payload(""), payload(CHAT)])

    assert [type(result) for result in results] == [Rejected, list]
    assert f"to {CHAT}" in str(results[0])


def test_other_refusals_of_a_person_are_not_taken_for_gone(
    telegram: FakeTelegram, clock: VirtualClock
) -> None:
    # A message Telegram cannot parse is the bot's fault, not a sign the person left.
    telegram.handlers["sendMessage"] = _refuse_markup

    [result], _ = send_all(telegram, clock, [payload(person(1))])

    assert type(result) is Rejected


def _refuse_markup(call: Call) -> Any:
    raise ApiError(400, "Bad Request: can't parse entities: unsupported start tag")

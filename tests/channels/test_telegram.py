"""The Telegram channel against a fake Bot API on loopback, through the configurable base URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.base import (
    Payload,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.telegram import TelegramSettings
from bot.channels.telegram_api import TelegramChannel
from bot.errors import ChannelError
from tests.peers.ports import free_port
from tests.peers.telegram_server import FakeTelegram, Reply, delayed, dropped, error
from tests.peers.virtual_clock import VirtualClock

TOKEN = "123456789:AAHsecret-Token_value-0123456789abcdef"
CHAT = "@rights_figures"
PARTS = ("<b>1/3</b> Killed: 6,000", "<b>2/3</b> Arrested: 28,000", "<b>3/3</b> Still held: 21,000")


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def settings_for(telegram: FakeTelegram, **changes: Any) -> TelegramSettings:
    values: dict[str, Any] = {"chat": CHAT, "base_url": telegram.base_url, "timeout_seconds": 5}
    return TelegramSettings(**(values | changes))


def payload(*parts: str, target: str = "") -> Payload:
    return Payload(channel="telegram", lang="en", parts=parts or PARTS, target=target)


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    async def before(self, index: int) -> None:
        self.events.append(("before", index))

    async def after(self, index: int, platform_id: str) -> None:
        self.events.append(("after", index, platform_id))


def publish(
    settings: TelegramSettings,
    sent: Payload,
    done: tuple[str, ...] = (),
    progress: Any = None,
    clock: VirtualClock | None = None,
) -> list[str]:
    # Virtual time: parts to one chat go a second apart, and retries wait, without waiting.
    clock = clock or VirtualClock()

    async def run() -> list[str]:
        channel = TelegramChannel(settings, TOKEN, clock=clock, sleep=clock.sleep)
        try:
            return await channel.publish(sent, list(done), progress or Progress())
        finally:
            await channel.close()

    return asyncio.run(run())


def retract(settings: TelegramSettings, sent: Payload, ids: list[str]) -> None:
    async def run() -> None:
        channel = TelegramChannel(settings, TOKEN)
        try:
            await channel.retract(sent, ids)
        finally:
            await channel.close()

    asyncio.run(run())


def assert_no_token(exc: BaseException) -> None:
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert exc.__cause__ is None


def test_parts_become_messages_in_order(telegram: FakeTelegram) -> None:
    progress = Progress()

    ids = publish(settings_for(telegram), payload(), progress=progress)

    calls = telegram.calls_to("sendMessage")
    assert [call.params["text"] for call in calls] == list(PARTS)
    assert {call.params["parse_mode"] for call in calls} == {"HTML"}
    assert {call.params["chat_id"] for call in calls} == {CHAT}
    assert all(call.json("link_preview_options") == {"is_disabled": True} for call in calls)
    assert ids == [str(key[1]) for key in telegram.messages]
    assert len(set(ids)) == 3
    assert progress.events == [
        ("before", 0),
        ("after", 0, ids[0]),
        ("before", 1),
        ("after", 1, ids[1]),
        ("before", 2),
        ("after", 2, ids[2]),
    ]
    assert telegram.tokens == {TOKEN}
    assert [call.method for call in telegram.calls] == ["sendMessage"] * 3


def test_resume_sends_only_the_remaining_parts(telegram: FakeTelegram) -> None:
    progress = Progress()

    ids = publish(settings_for(telegram), payload(), done=("41",), progress=progress)

    assert telegram.texts() == list(PARTS[1:])
    assert ids[0] == "41"
    assert len(ids) == 3
    assert [event[:2] for event in progress.events] == [
        ("before", 1),
        ("after", 1),
        ("before", 2),
        ("after", 2),
    ]


def test_payload_target_overrides_configured_chat(telegram: FakeTelegram) -> None:
    publish(settings_for(telegram), payload("hello", target="-1001234567890"))

    assert telegram.calls_to("sendMessage")[0].params["chat_id"] == "-1001234567890"


def test_no_chat_is_rejected_before_any_call(telegram: FakeTelegram) -> None:
    with pytest.raises(Rejected, match=r"\[channels\.telegram\] chat in config/bot\.toml"):
        publish(settings_for(telegram, chat=""), payload())

    assert telegram.calls == []


# (answer to the first sendMessage, error kind, words in its message, messages that landed)
FAILURES = {
    "bad html": (
        error(400, 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte 5'),
        Rejected,
        "Can't parse entities: unsupported start tag",
        0,
    ),
    "chat not found": (error(400, "Bad Request: chat not found"), Rejected, "Chat not found", 0),
    "blocked": (
        error(403, "Forbidden: bot was blocked by the user"),
        Rejected,
        "Forbidden: bot was blocked by the user",
        0,
    ),
    "not a member": (
        error(403, "Forbidden: bot is not a member of the channel chat"),
        Rejected,
        "bot is not a member of the channel chat",
        0,
    ),
    "migrated": (
        error(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009876543210),
        Rejected,
        '[channels.telegram] chat in config/bot.toml to "-1009876543210"',
        0,
    ),
    "revoked token": (
        error(401, "Unauthorized"),
        Rejected,
        "the Telegram token is not valid; check BOT_TELEGRAM_TOKEN",
        0,
    ),
    "malformed token": (
        error(404, "Not Found"),
        Rejected,
        "the Telegram token is not valid; check BOT_TELEGRAM_TOKEN",
        0,
    ),
    "server error": (error(500, "Internal Server Error"), Uncertain, "Internal Server Error", 0),
    "dropped after posting": (dropped(), Uncertain, "may have been posted", 1),
}


@pytest.mark.parametrize("case", FAILURES)
def test_errors_map_to_kinds(telegram: FakeTelegram, case: str) -> None:
    reply, kind, words, landed = FAILURES[case]
    telegram.script("sendMessage", reply)
    progress = Progress()

    with pytest.raises(ChannelError) as raised:
        publish(settings_for(telegram), payload(), progress=progress)

    assert type(raised.value) is kind
    assert words in str(raised.value)
    assert "part 1 of 3" in str(raised.value) or (kind is Rejected and "token" in case)
    assert_no_token(raised.value)
    assert progress.events == [("before", 0)]
    assert len(telegram.messages) == landed


@pytest.mark.parametrize(
    "ptb_timedelta",
    [
        # Unset: `bot` opts in to timedelta at its start (bot/cli/__init__.py); a program that
        # embeds the channel without it gets PTB's deprecation warning, then the same answer.
        pytest.param(
            None,
            marks=pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
        ),
        "true",
        # The operator's own choice is kept: PTB then gives int seconds and warns once.
        pytest.param(
            "false",
            marks=pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
        ),
    ],
)
def test_flood_control_is_rate_limited(
    telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch, ptb_timedelta: str | None
) -> None:
    if ptb_timedelta is None:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    else:
        monkeypatch.setenv("PTB_TIMEDELTA", ptb_timedelta)
    # Longer than the queue sits out (MAX_HELD_SECONDS): handed back to the sender.
    telegram.script(
        "sendMessage", Reply(), error(429, "Too Many Requests: retry after 300", retry_after=300)
    )
    progress = Progress()

    with pytest.raises(RateLimited) as raised:
        publish(settings_for(telegram), payload(), progress=progress)

    assert raised.value.retry_after == 300.0
    assert isinstance(raised.value.retry_after, float)
    assert_no_token(raised.value)
    assert telegram.texts() == [PARTS[0]]  # the second part did not land
    assert [event[0] for event in progress.events] == ["before", "after", "before"]


def test_a_short_flood_wait_is_sat_out_and_the_same_part_sent_again(
    telegram: FakeTelegram,
) -> None:
    telegram.script(
        "sendMessage", Reply(), error(429, "Too Many Requests: retry after 3", retry_after=3)
    )
    clock = VirtualClock()
    progress = Progress()

    ids = publish(settings_for(telegram), payload(), progress=progress, clock=clock)

    assert telegram.texts() == list(PARTS)  # every part, in order, none twice
    assert [c.params["text"] for c in telegram.calls_to("sendMessage")] == [
        PARTS[0],
        PARTS[1],
        PARTS[1],
        PARTS[2],
    ]
    assert len(ids) == 3
    assert [event[0] for event in progress.events] == ["before", "after"] * 3
    assert clock.elapsed >= 3 + 1  # the wait asked for, then a second before the last part


def test_a_connection_that_fails_then_works_is_tried_again() -> None:
    # Nothing listens at first: the channel tries again with a pause, and then the fake is up.
    port = free_port()
    clock = VirtualClock()
    settings = TelegramSettings(chat=CHAT, base_url=f"http://127.0.0.1:{port}/bot")
    fake = FakeTelegram()
    fake.port = port
    slept = clock.sleep

    async def start_on_first_pause(seconds: float) -> None:
        if fake._server is None:
            fake.start()
        await slept(seconds)

    clock.sleep = start_on_first_pause  # type: ignore[method-assign]
    try:
        ids = publish(settings, payload(PARTS[0]), clock=clock)
    finally:
        fake.stop()

    assert fake.texts() == [PARTS[0]] and len(ids) == 1


def test_timeout_after_telegram_accepted_is_uncertain(telegram: FakeTelegram) -> None:
    telegram.script("sendMessage", delayed(1.0))

    with pytest.raises(Uncertain, match=r"no answer from Telegram within 0\.3 s") as raised:
        publish(settings_for(telegram, timeout_seconds=0.3), payload())

    assert_no_token(raised.value)
    assert telegram.texts() == [PARTS[0]]


def test_connection_refused_is_temporary() -> None:
    settings = TelegramSettings(chat=CHAT, base_url=f"http://127.0.0.1:{free_port()}/bot")

    with pytest.raises(TemporaryFailure, match="could not reach Telegram") as raised:
        publish(settings, payload())

    assert_no_token(raised.value)


def test_retract_deletes_each_part(telegram: FakeTelegram) -> None:
    settings = settings_for(telegram)
    ids = publish(settings, payload())

    retract(settings, payload(), ids)

    assert telegram.deleted == [(CHAT, int(i)) for i in ids]
    assert telegram.messages == {}
    assert {call.params["message_id"] for call in telegram.calls_to("deleteMessage")} == set(ids)


def test_retract_of_a_message_already_gone_is_done(telegram: FakeTelegram) -> None:
    settings = settings_for(telegram)
    ids = publish(settings, payload())

    retract(settings, payload(), ids[:1])
    retract(settings, payload(), ids)

    assert telegram.messages == {}


def test_retract_of_an_old_message_is_rejected(telegram: FakeTelegram) -> None:
    telegram.script("deleteMessage", error(400, "Bad Request: message can't be deleted"))

    with pytest.raises(Rejected) as raised:
        retract(settings_for(telegram), payload(), ["7"])

    said = str(raised.value)
    assert "Telegram only allows deleting messages for 48 hours" in said
    assert "edit or post a correction instead" in said
    assert_no_token(raised.value)


def test_retract_in_an_unknown_chat_is_rejected(telegram: FakeTelegram) -> None:
    telegram.script("deleteMessage", error(400, "Bad Request: chat not found"))

    with pytest.raises(Rejected, match="Chat not found") as raised:
        retract(settings_for(telegram), payload(), ["7"])

    assert_no_token(raised.value)


def test_retract_without_answer_can_be_retried(telegram: FakeTelegram) -> None:
    telegram.script("deleteMessage", delayed(1.0))

    with pytest.raises(TemporaryFailure) as raised:
        retract(settings_for(telegram, timeout_seconds=0.3), payload(), ["7"])

    assert_no_token(raised.value)


def test_token_stays_out_of_repr_and_logs(
    telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    channel = TelegramChannel(settings_for(telegram), TOKEN)
    assert TOKEN not in repr(channel)
    assert "token='***'" in repr(channel)

    with caplog.at_level(logging.DEBUG):
        publish(settings_for(telegram), payload("one"))

    assert "/bot***/sendMessage" in caplog.text  # httpx logged the request URL, masked
    assert TOKEN not in caplog.text


def test_from_settings_reads_the_token(
    telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOT_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("BOT_TELEGRAM_TOKEN_FILE", raising=False)
    assert TelegramChannel.from_settings(settings_for(telegram)) is None

    monkeypatch.setenv("BOT_TELEGRAM_TOKEN", "42:from-the-environment")
    channel = TelegramChannel.from_settings(settings_for(telegram))
    assert channel is not None

    async def run() -> None:
        try:
            await channel.publish(payload("hello"), [], Progress())
        finally:
            await channel.close()

    asyncio.run(run())
    assert telegram.tokens == {"42:from-the-environment"}

"""Building and running the bot: no token, no bot; failures logged without secrets or people."""

from __future__ import annotations

import logging

import pytest

from bot.app import App
from bot.runtime import build_runtime
from bot.subscribers import store
from bot.telegram_bot import build_application
from bot.telegram_bot.application import file_url
from bot.telegram_bot.texts import COMMANDS, both, text
from tests.peers.telegram_server import FakeTelegram, dropped, error
from tests.telegram_bot.conftest import NAME, PERSON, TOKEN, RunningBot, press, say, subscribe


def leaks(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    """Every log record (message and traceback) that contains one of `secrets`."""
    found = []
    for record in caplog.records:
        whole = f"{record.getMessage()}\n{record.exc_text or ''}\n{record.stack_info or ''}"
        if record.exc_info:
            whole += logging.Formatter().formatException(record.exc_info)
        if any(secret in whole for secret in secrets):
            found.append(f"{record.name}: {whole}")
    return found


def test_no_token_no_bot(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("BOT_TELEGRAM_TOKEN_FILE", raising=False)

    assert build_application(build_runtime(app)) is None


def test_no_bot_in_a_rehearsal(wired: App) -> None:
    wired.rehearsal = True

    assert build_application(build_runtime(wired)) is None


def test_the_file_address_follows_the_base_address() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert (
        file_url("http://127.0.0.1:81/tg/bot{token}/") == "http://127.0.0.1:81/tg/file/bot{token}"
    )


def test_the_command_menu_is_set_per_language(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    say(telegram, PERSON, "/help")  # the bot is up once it answers

    menus = {
        lang: {command["command"]: command["description"] for command in commands}
        for lang, commands in telegram.commands.items()
    }
    assert menus == {"": COMMANDS["en"], "en": COMMANDS["en"], "my": COMMANDS["my"]}


def test_nothing_secret_or_personal_in_the_log_at_debug(
    wired: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    application = build_application(build_runtime(wired))
    assert application is not None
    with RunningBot(application):
        subscribe(telegram, PERSON, "my")
        say(telegram, PERSON, "/latest")
        say(telegram, PERSON, "/stop")

    assert any(record.name == "httpx" for record in caplog.records)  # the URLs were logged …
    assert any("***" in record.getMessage() for record in caplog.records)  # … masked
    assert leaks(caplog, TOKEN, str(PERSON), NAME, text("unsubscribed", "my")) == []
    assert telegram.tokens == {TOKEN}


def test_a_rejected_token_is_logged_without_it_and_the_bot_stays_off(
    wired: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram.script("getMe", error(401, "Unauthorized"))
    application = build_application(build_runtime(wired))
    assert application is not None

    with RunningBot(application):
        telegram.wait_calls("getMe", 1)

    assert "rejected the token" in caplog.text
    assert leaks(caplog, TOKEN) == []
    assert len(telegram.calls_to("getMe")) == 1  # no point asking again
    assert telegram.calls_to("getUpdates") == []


def test_an_unreachable_telegram_is_tried_again_then_answers(
    wired: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram.script("getMe", dropped(), error(502, "Bad Gateway"))
    application = build_application(build_runtime(wired))
    assert application is not None

    with RunningBot(application):
        assert say(telegram, PERSON, "/help").params["text"] == text("help", "en")

    starts = [r for r in caplog.records if "cannot start" in r.getMessage()]
    assert len(starts) == 2
    assert all(r.levelno == logging.WARNING for r in starts)
    assert leaks(caplog, TOKEN) == []


def test_stopping_while_telegram_is_unreachable(
    wired: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.script("getMe", *[dropped()] * 50)
    application = build_application(build_runtime(wired))
    assert application is not None

    with RunningBot(application):
        telegram.wait_calls("getMe", 3)
    # run_bot returned without raising (RunningBot re-raises), and said why it could not start.
    assert "cannot start" in caplog.text
    assert leaks(caplog, TOKEN) == []


def test_polling_failures_are_logged_and_polling_goes_on(
    wired: App, telegram: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    say(telegram, PERSON, "/help")
    telegram.script("getUpdates", error(500, "Internal Server Error"))

    # The poll under way may bring the first; the second comes after the failed one for sure.
    say(telegram, PERSON, "/help")
    assert say(telegram, PERSON, "/help").params["text"] == text("help", "en")
    assert "fetching updates failed (NetworkError: Internal Server Error)" in caplog.text
    assert leaks(caplog, TOKEN) == []


def test_a_failing_handler_is_answered_and_logged_without_the_persons_data(
    wired: App,
    telegram: FakeTelegram,
    bot: RunningBot,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"cannot store {args[2]!r} ({TOKEN})")

    monkeypatch.setattr(store, "add", broken)
    say(telegram, PERSON, "/start")

    assert press(telegram, PERSON, "lang:en") == both("failed")
    bot.stop()  # after the update in hand is handled, i.e. logged

    assert "an update failed: RuntimeError\n" in caplog.text
    assert leaks(caplog, TOKEN, str(PERSON)) == []
    assert store.find(wired.engine, "telegram", str(PERSON)) is None


def test_a_failing_command_is_answered(
    wired: App,
    telegram: FakeTelegram,
    bot: RunningBot,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"no database for {args[2]}")

    monkeypatch.setattr(store, "find", broken)

    assert say(telegram, PERSON, "/subscribe").params["text"] == both("failed")
    bot.stop()
    assert "an update failed: RuntimeError\n" in caplog.text
    assert leaks(caplog, TOKEN, str(PERSON)) == []

"""The subscriber bot running in a thread against the fake Bot API, and people talking to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import pytest

from bot.app import App
from bot.channels.spec import Wiring
from bot.runtime import Runtime, build_runtime
from bot.telegram_bot import build_application, run_bot
from bot.telegram_bot.application import BotApplication
from tests.peers.telegram_server import Call, FakeTelegram
from tests.peers.virtual_clock import FastClock
from tests.publish.helpers import use_peers

TOKEN = "5550001234:AAF-subscriberBot_Token-Zx81q"
PERSON = 7710001234
OTHER = 7710005678
GROUP = -1001234567890
NAME = "Thandar-Qv7"  # distinctive, to be looked for in the logs


def fast_runtime(app: App) -> Runtime:
    """The runtime with Telegram's pace kept on a sped-up clock: a private chat's one message
    a second takes 20 ms, so a staff command's ten answers do not take ten seconds."""
    fast = FastClock()
    return build_runtime(app, Wiring(clock=app.clock, monotonic=fast, sleep=fast.sleep))


class RunningBot:
    """`run_bot` in its own thread and event loop, as `bot run` runs it beside the scheduler."""

    def __init__(self, application: BotApplication, retry_seconds: float = 0.05) -> None:
        self.application = application
        self.retry_seconds = retry_seconds
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="subscriber-bot", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await run_bot(
            self.application, self._stop, poll_timeout=0.2, retry_seconds=self.retry_seconds
        )

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The bot's event loop (to run something beside it, as `bot run` does)."""
        return self._loop

    def __enter__(self) -> RunningBot:
        self._thread.start()
        assert self._ready.wait(10), "the bot's event loop did not start"
        return self

    def stop(self) -> None:
        """Set the stop event and wait for `run_bot` to return; re-raise what it raised."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "run_bot did not return after stop was set"
        if self.error is not None:
            raise self.error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def wired(app: App, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> App:
    """The app pointed at the fake, with the bot's token in the environment."""
    use_peers(app, monkeypatch, telegram=telegram, secrets={"BOT_TELEGRAM_TOKEN": TOKEN}, timeout=5)
    return app


@pytest.fixture
def bot(wired: App) -> Iterator[RunningBot]:
    application = build_application(fast_runtime(wired))
    assert application is not None
    with RunningBot(application) as running:
        yield running


def say(telegram: FakeTelegram, chat: int, text: str, **sender: Any) -> Call:
    """Send `text` to the bot and return its one answer."""
    before = len(telegram.calls_to("sendMessage"))
    telegram.push_message(chat, text, first_name=NAME, **sender)
    return telegram.wait_calls("sendMessage", before + 1)[before]


def press(telegram: FakeTelegram, chat: int, data: str, **where: Any) -> str:
    """Press a button with `data` and return the bot's answer to the press."""
    query = telegram.push_callback(chat, data, first_name=NAME, **where)
    assert telegram.wait_for(lambda: query in telegram.callback_answers), "press not answered"
    return telegram.callback_answers[query]


def subscribe(telegram: FakeTelegram, chat: int, lang: str) -> None:
    """/start, then the button for `lang`, as a person would."""
    say(telegram, chat, "/start")
    press(telegram, chat, f"lang:{lang}")

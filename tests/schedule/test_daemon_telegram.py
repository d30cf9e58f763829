"""`bot run` with a Telegram token answers subscribers while it keeps the calendar."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.ports import free_port
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import set_toml
from tests.schedule.test_daemon_support import Daemon, bot_env, make_home

TOKEN = "4242:daemon-test-token"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def test_the_running_bot_subscribes_a_person_who_says_start(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    home = make_home(tmp_path / "home", free_port())
    set_toml(home, "channels.telegram", base_url=telegram.base_url, chat="@public")
    env = bot_env(home, None, None) | {"BOT_TELEGRAM_TOKEN": TOKEN}
    daemon = Daemon("bot run", env)
    try:
        daemon.expect("Telegram bot: answering subscribers")
        telegram.push_message(777, "/start")
        answers = telegram.wait_calls("sendMessage", 1, timeout=20)
        buttons = answers[0].json("reply_markup")["inline_keyboard"]
        choices = {button["callback_data"]: button["text"] for row in buttons for button in row}
        assert choices == {"lang:en": "English", "lang:my": "မြန်မာ"}
        assert daemon.stop(signal.SIGTERM) == 0
    finally:
        daemon.kill()
    assert "Stopped." in daemon.transcript()
    assert TOKEN not in daemon.transcript()

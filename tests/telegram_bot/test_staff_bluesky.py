"""Staff's /postnow to Bluesky from Telegram: the same publisher, the posts on the local PDS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app import App
from bot.runtime import build_runtime
from bot.telegram_bot import build_application
from tests.compose.helpers import enter_seed
from tests.peers.bluesky_server import BlueskyServer
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import delivery_rows, reload_settings, set_toml
from tests.telegram_bot.conftest import RunningBot, press
from tests.telegram_bot.test_staff import STAFF, STAFF_NAME, ask_to_post, published, wait_text


@pytest.fixture
def pds() -> Iterator[BlueskyServer]:
    with BlueskyServer() as server:
        yield server


@pytest.fixture
def on_bluesky(wired: App, pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch) -> App:
    """A staff member, the seed figures, and the Bluesky channel on the local PDS."""
    home = wired.settings.home
    config = home / "config" / "bot.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\n[staff]\n", f'\n[staff]\n"{STAFF_NAME}" = {STAFF}\n', 1))
    set_toml(home, "channels.bluesky", base_url=pds.base_url, timeout_seconds=5)
    monkeypatch.setenv("BOT_BLUESKY_HANDLE", pds.handle)
    monkeypatch.setenv("BOT_BLUESKY_APP_PASSWORD", pds.password)
    reload_settings(wired)
    enter_seed(wired)
    return wired


@pytest.fixture
def bot(on_bluesky: App) -> Iterator[RunningBot]:
    application = build_application(build_runtime(on_bluesky))
    assert application is not None
    with RunningBot(application) as running:
        yield running


def test_postnow_to_bluesky_posts_each_edition_once_and_reports_it(
    on_bluesky: App, telegram: FakeTelegram, pds: BlueskyServer, bot: RunningBot
) -> None:
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing bluesky")
    assert pds.posts == []

    since = len(telegram.calls_to("sendMessage"))
    assert press(telegram, STAFF, confirm) == "Confirmed."
    report = wait_text(telegram, STAFF, "Deliveries of #", since)

    assert "✓ bluesky · en · (account) · sent" in report
    assert "✓ bluesky · my · (account) · sent" in report
    assert [post.value["langs"] for post in pds.posts] == [["en"], ["my"]]
    assert [row.channel for row in delivery_rows(on_bluesky.engine)] == ["bluesky", "bluesky"]

    # The same order again publishes nothing twice.
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing bluesky")
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, confirm)
    wait_text(telegram, STAFF, "Already published", since)
    wait_text(telegram, STAFF, "Deliveries of #", since)
    assert len(published(on_bluesky)) == 1 and len(pds.posts) == 2

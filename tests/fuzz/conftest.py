"""Fuzz fixtures: SQLite only, so each property runs once and stays quick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.runtime import build_runtime
from bot.telegram_bot import build_application
from tests.conftest import FIXED_NOW, Cli
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import use_peers
from tests.telegram_bot.conftest import TOKEN, RunningBot


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fuzz.sqlite3'}"


@pytest.fixture
def fuzz_cli(home: Path, sqlite_url: str) -> Cli:
    return Cli(home, sqlite_url)


@pytest.fixture
def sqlite_app(home: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("BOT_DATABASE_URL", sqlite_url)
    built = build_app(home, clock=lambda: FIXED_NOW)
    yield built
    built.close()


@pytest.fixture
def sqlite_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def sqlite_bot(
    sqlite_app: App, sqlite_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningBot]:
    """The subscriber bot on SQLite, talking to the fake Bot API."""
    use_peers(
        sqlite_app,
        monkeypatch,
        telegram=sqlite_telegram,
        secrets={"BOT_TELEGRAM_TOKEN": TOKEN},
        timeout=5,
    )
    application = build_application(build_runtime(sqlite_app))
    assert application is not None
    with RunningBot(application) as running:
        yield running

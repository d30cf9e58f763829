"""The cards' fixture: the bot on SQLite with the third-anniversary figures entered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW


@pytest.fixture
def seeded_app(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The bot on SQLite with the statement's figures entered."""
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cards.sqlite3'}")
    app = build_app(home, clock=lambda: FIXED_NOW)
    enter_seed(app)
    yield app
    app.close()

"""Web tests send email through the outbox folder unless a test points the home at a peer."""

from __future__ import annotations

import pytest

from tests.publish.helpers import ALL_SECRET_NAMES


@pytest.fixture(autouse=True)
def _no_channel_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine has set, nothing leaves the test unless it says so."""
    for base in ALL_SECRET_NAMES:
        monkeypatch.delenv(base, raising=False)
        monkeypatch.delenv(f"{base}_FILE", raising=False)
    monkeypatch.delenv("BOT_WEB_SECRET", raising=False)
    monkeypatch.delenv("BOT_CLOCK_START", raising=False)

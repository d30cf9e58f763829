"""The web secret made on first use: whole or not at all, and the same for every later run."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from bot.config.settings import Settings, load_settings
from bot.errors import ConfigError
from bot.subscribers.tokens import web_secret


@pytest.fixture
def settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("BOT_WEB_SECRET", raising=False)
    return load_settings(home)


def test_made_once_readable_by_the_owner_only(settings: Settings, home: Path) -> None:
    first = web_secret(settings)
    path = home / "var" / "web-secret"
    assert len(first) == 64 and web_secret(settings) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["web-secret"]


def test_a_full_disk_leaves_no_secret_and_says_so(
    settings,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ConfigError, match=r"No space left on device \(nothing was written\)"):
        web_secret(settings)
    assert list((home / "var").iterdir()) == []
    monkeypatch.undo()
    assert len(web_secret(settings)) == 64


def test_a_cut_off_secret_is_refused_not_used(settings: Settings, home: Path) -> None:
    path = home / "var" / "web-secret"
    path.parent.mkdir(parents=True)
    path.write_text("Qx81-short", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds 10 characters, too few"):
        web_secret(settings)

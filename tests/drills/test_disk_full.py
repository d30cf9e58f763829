"""Disk full: the outbox folder, the cards' folder, and the SQLite file.

The bot runs with a cap on the size of the files it writes (tests/drills/limited.py): past it,
every write fails as on a full disk, with no privileges needed. What a person must find: a
clear line naming the folder or database, no traceback, no half-written file anywhere, and a
database that is consistent and finishes the job once there is room again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import os
import re
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.channels import registry
from bot.channels.base import Payload, TemporaryFailure
from bot.channels.folder import FolderChannel
from bot.compose.drafts import Draft, occasion_for
from bot.store.schema import deliveries, editions, publications
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, dump_database
from tests.drills.helpers import (
    CONNECTIONS,
    FIGURES_SET,
    POST,
    RESEND,
    Watch,
    assert_complete,
    assert_consistent,
    assert_stopped_cleanly,
    email_fan_out,
    run,
    start,
    tally,
)
from tests.peers.smtp_server import SmtpPeer
from tests.publish.helpers import add_subscribers, bot_env, delivery_rows

# Every channel, none with credentials: each writes to the outbox folder.
DAY = "2024-02-01"
TO_FOLDER = ("post-now", "daily-briefing", "--on", DAY, "--yes")
CHANNELS = tuple(spec.name for spec in registry.REGISTRY)
# Made once by the first run that needs it; given here, so that only the outbox is written.
WEB_SECRET = {"BOT_WEB_SECRET": "drill-web-secret-drill-web-secret-drill"}
# Room for the database's shared-memory index (32 KiB), not for a fan-out's journal.
DATABASE_ROOM = 400_000


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _count(app: App, table: sa.Table) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _keep_cards(app: App) -> list[Path]:
    """Compose the briefing's editions and keep their cards, as a first composition does."""
    message = app.composer.message("daily-briefing")
    occasion = occasion_for(app.settings, message, dt.date.fromisoformat(DAY), app.today())
    kept = set()
    for draft in app.composer.compose(message, occasion, None, list(CHANNELS)):
        assert isinstance(draft, Draft), draft
        assert draft.card is not None
        draft.card.save()
        kept.add(Path(draft.card.path))
    return sorted(kept)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite would hit the cap too
def test_no_room_for_a_card_records_nothing_and_says_where(
    app: App, home: Path, db_url: str
) -> None:
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    cards = home / "var" / "cards"

    status, output = run(bot_env(home, db_url, WEB_SECRET), home, *TO_FOLDER, file_size_limit=64)

    # A post decided without its card could never be sent as approved: nothing is decided.
    error = assert_stopped_cleanly(
        status, output, f"cannot keep the card {cards}", "File too large"
    )
    assert error.endswith(".png: File too large")
    assert _files(cards) == []  # the write got as far as the cap allowed, and was removed
    assert _count(app, publications) == _count(app, editions) == _count(app, deliveries) == 0

    # Room again: the same command keeps the cards and publishes.
    status, output = run(bot_env(home, db_url, WEB_SECRET), home, *TO_FOLDER)
    assert status == 0, output
    assert len(_files(cards)) == 2  # one per language, shared by every channel
    assert {row.state for row in delivery_rows(app.engine)} == {"sent"}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite would hit the cap too
def test_a_full_outbox_folder_leaves_nothing_half_written_and_resumes_once_freed(
    app: App, home: Path, db_url: str
) -> None:
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    # The cards were kept when the post was first composed (content-addressed: a card already
    # on disk is not written again), so it is the outbox folder that finds the disk full.
    cards = _keep_cards(app)
    before = {path: path.read_bytes() for path in _files(home / "var" / "cards")}
    assert sorted(before) == cards and len(cards) == 2
    outbox = home / "var" / "outbox"
    bot = Watch(start(bot_env(home, db_url, WEB_SECRET), home, *TO_FOLDER, file_size_limit=64))
    # Every channel in both languages (email: one reader each): each delivery fails once, and
    # says where and why.
    expected = 2 * len(CHANNELS)
    assert bot.wait_for("(nothing was written); retrying at", count=expected), bot.finish()
    for channel in CHANNELS:
        assert f"cannot write to {outbox / channel}: File too large" in bot.seen
    assert "Traceback" not in bot.seen
    # Each write got as far as the cap allowed, and was removed: no file, whole or partial.
    assert _files(outbox) == []
    assert {path: path.read_bytes() for path in _files(home / "var" / "cards")} == before
    rows = delivery_rows(app.engine)
    assert len(rows) == expected and {row.state for row in rows} == {"pending"}

    # Room again (as if someone freed the disk): the bot's own retry writes each post once.
    resource.prlimit(bot.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    output = bot.finish()
    assert bot.process.returncode == 0, output
    rows = delivery_rows(app.engine)
    assert {row.state for row in rows} == {"sent"}, output
    written = _files(outbox)
    assert all(path.parent.name != "tmp" and not path.name.startswith(".") for path in written)
    assert len([p for p in written if p.parent.parent.name == "email"]) == 2  # one per person
    assert {Path(path) for row in rows for path in json.loads(row.ids)} == set(written)
    assert "Traceback" not in output


class _Progress:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


@pytest.mark.parametrize("channel", ["x", "telegram", "email"])
def test_a_disk_that_fills_as_the_file_is_closed_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: str
) -> None:
    """Some file systems (NFS, quotas, delayed allocation) say the disk is full only when the
    written data is flushed to it: for a Maildir, Python's `mailbox` then left half a message."""

    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    folder = FolderChannel(channel, tmp_path, lambda: FIXED_NOW, lambda payload: b"x" * 300)
    payload = Payload(channel, "en", ("A post",), subject="A post", target="a@example.org")
    expected = f"cannot write to {tmp_path / channel}: No space left on device"
    with pytest.raises(TemporaryFailure, match=re.escape(expected)):
        asyncio.run(folder.publish(payload, [], _Progress()))
    assert _files(tmp_path) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_database_file_full_mid_fan_out_stops_cleanly_and_a_rerun_finishes(
    app: App, home: Path, db_url: str, smtp: SmtpPeer
) -> None:
    people = 300
    fan = email_fan_out(app, home, db_url, smtp, people)
    app.engine.dispose()  # the bot starts a fresh journal, which the cap stops from growing
    status, output = run(fan.env, home, *POST, file_size_limit=DATABASE_ROOM)
    path = sa.make_url(db_url).database
    assert_stopped_cleanly(status, output, f"cannot write to the database {path}", "disk")
    found = tally(app, smtp)
    assert_consistent(found, people, output)
    assert found.count("sending") <= CONNECTIONS, output
    assert found.count("pending") > 0 and found.count("sent") > 0, output  # stopped mid-way
    with app.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"

    status, output = run(fan.env, home, *RESEND)
    assert status in (0, 1), output  # 1 when the deliveries in flight are now `unknown`
    assert_complete(tally(app, smtp), people, CONNECTIONS, output)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_database_file_full_figures_set_stops_cleanly_and_stores_nothing(
    app: App, home: Path, db_url: str
) -> None:
    enter_seed(app)
    app.engine.dispose()
    before = dump_database(db_url)
    env = bot_env(home, db_url, {})
    status, output = run(env, home, *FIGURES_SET, file_size_limit=0)
    assert_stopped_cleanly(status, output, sa.make_url(db_url).database or "", "disk I/O error")
    assert dump_database(db_url) == before
    status, output = run(env, home, *FIGURES_SET)
    assert status == 0, output
    assert "Stored 1 value." in output

"""SQLite locked: another process holds the write lock while the bot writes.

Held briefly, the bot waits (its busy timeout) and carries on when the lock is released. Held
past the timeout (`?timeout=SECONDS` in the URL, short here), it stops with one clear line, no
traceback, and leaves nothing half-done: figures unchanged, the outbox consistent, and a rerun
sends each remaining copy once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.conftest import dump_database
from tests.drills.helpers import (
    CONNECTIONS,
    DEADLINE,
    FIGURES_SET,
    POST,
    RESEND,
    assert_complete,
    assert_consistent,
    assert_stopped_cleanly,
    email_fan_out,
    finish,
    run,
    start,
    still_running,
    tally,
)
from tests.peers.smtp_server import SmtpPeer
from tests.publish.helpers import bot_env

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PEOPLE = 400
HOLD = 1.5  # seconds a lock is held for the bot to wait out (its timeout is 10 s)
SHORT = "?timeout=0.3"  # a busy timeout the drills can outlast


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@contextlib.contextmanager
def write_lock(db_url: str) -> Iterator[None]:
    """Another process's transaction holding the database's write lock (BEGIN IMMEDIATE)."""
    path = sa.make_url(db_url).database
    assert path
    holder = sqlite3.connect(path, timeout=DEADLINE, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # waits for a write of the bot's own to end
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def _value(app: App, key: str) -> int | None:
    with app.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT MAX(value) FROM figure_values WHERE figure = :key"), {"key": key}
        ).scalar()


def test_figures_set_waits_for_the_lock_then_stores(app: App, home: Path, db_url: str) -> None:
    enter_seed(app)
    env = bot_env(home, db_url, {})
    with write_lock(db_url):
        bot = start(env, home, *FIGURES_SET)
        assert still_running(bot, HOLD), finish(bot)
    output = finish(bot)
    assert bot.returncode == 0, output
    assert "Stored 1 value." in output
    assert _value(app, "killed") == 4500


def test_figures_set_held_past_its_timeout_stops_and_stores_nothing(
    app: App, home: Path, db_url: str
) -> None:
    enter_seed(app)
    before = dump_database(db_url)
    env = bot_env(home, db_url + SHORT, {})
    with write_lock(db_url):
        status, output = run(env, home, *FIGURES_SET)
    assert_stopped_cleanly(status, output, "locked", "bot.sqlite3")
    assert dump_database(db_url) == before
    # Nothing is left that stops the next attempt.
    status, output = run(env, home, *FIGURES_SET)
    assert status == 0, output
    assert _value(app, "killed") == 4500


def test_the_sender_waits_for_the_lock_then_finishes(
    app: App, home: Path, db_url: str, smtp: SmtpPeer
) -> None:
    fan = email_fan_out(app, home, db_url, smtp, PEOPLE)
    bot = start(fan.env, home, *POST)
    assert smtp.wait_for(lambda: len(smtp.messages) >= 100, DEADLINE), finish(bot)
    with write_lock(db_url):
        held_at = len(smtp.messages)
        assert still_running(bot, HOLD), finish(bot)
        # Only the chunk already claimed went out while the lock was held.
        assert len(smtp.messages) - held_at <= CONNECTIONS
    output = finish(bot)
    assert bot.returncode == 0, output
    assert_complete(tally(app, smtp), PEOPLE, 0, output)


def test_the_sender_held_past_its_timeout_stops_and_a_rerun_finishes(
    app: App, home: Path, db_url: str, smtp: SmtpPeer
) -> None:
    fan = email_fan_out(app, home, db_url, smtp, PEOPLE, {"BOT_DATABASE_URL": db_url + SHORT})
    bot = start(fan.env, home, *POST)
    assert smtp.wait_for(lambda: len(smtp.messages) >= 100, DEADLINE), finish(bot)
    with write_lock(db_url):
        output = finish(bot)
    assert_stopped_cleanly(bot.returncode, output, "locked", "bot.sqlite3")
    found = tally(app, smtp)
    assert_consistent(found, PEOPLE, output)
    assert found.count("sending") <= CONNECTIONS, output
    assert found.count("pending") > 0, output  # it did stop mid-way

    status, output = run(fan.env, home, *RESEND)
    assert status in (0, 1), output  # 1 when the deliveries in flight are now `unknown`
    assert_complete(tally(app, smtp), PEOPLE, CONNECTIONS, output)

"""Shared fixtures: a copy of the shipped config per test; databases on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from bot.app import App, build_app

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get(
    "BOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)  # 07:30 in Yangon


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches for a host other than this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise AssertionError(f"test tried to reach {host}; tests stay on loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """As `bot` does at its start: PTB's RetryAfter in seconds as a timedelta, no warning."""
    if "PTB_TIMEDELTA" not in os.environ:
        monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A copy of the shipped config/ and messages/ that a test may change."""
    target = tmp_path / "home"
    shutil.copytree(ROOT / "config", target / "config")
    shutil.copytree(ROOT / "messages", target / "messages")
    return target


def _postgres_available() -> str | None:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL to a new, empty schema on the PostgreSQL server, dropped afterwards.

    Unreachable PostgreSQL skips the test locally and fails it under CI.
    """
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def app(home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The bot wired on the test's home folder and database, with a fixed clock."""
    monkeypatch.setenv("BOT_DATABASE_URL", db_url)
    built = build_app(home, clock=lambda: FIXED_NOW)
    yield built
    built.close()


class Cli:
    """Runs `bot …` in-process against the test's home and database."""

    def __init__(self, home: Path, db_url: str) -> None:
        self.home = home
        self.env = {"BOT_DATABASE_URL": db_url, "BOT_USER": "tester", "BOT_HOME": str(home)}

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from bot.cli import main

        return CliRunner().invoke(
            main, list(args), env=self.env, input=input, catch_exceptions=False
        )


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    """`bot` as staff would type it."""
    return Cli(home, db_url)


FIGURE_TABLES = ("figure_snapshots", "figure_values")


def dump_database(
    url: str, tables: tuple[str, ...] = FIGURE_TABLES
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the bot's tables, to prove a refused command changed nothing."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            return {
                table: sorted(conn.execute(sa.text(f"SELECT * FROM {table}")).all(), key=repr)
                for table in tables
                if table in existing
            }
    finally:
        engine.dispose()

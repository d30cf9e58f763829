"""Opening the database: create the SQLite file on first use (0600) and apply migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.errors import BotError
from bot.store.files import private_database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration. Checked against Alembic by a test; lets a command skip importing
# Alembic (a tenth of a second) when the database is already up to date.
HEAD = "0010"


class DatabaseError(BotError):
    """The database cannot be opened or migrated."""


# How long a SQLite writer waits for another process's lock before giving up, in seconds.
# `?timeout=SECONDS` in the URL (which SQLAlchemy hands to sqlite3) changes it.
SQLITE_BUSY_SECONDS = 10.0


def busy_seconds(url: sa.URL) -> float:
    """How long a writer on this SQLite URL waits for a lock held by another process."""
    given = url.query.get("timeout", str(SQLITE_BUSY_SECONDS))
    text = given if isinstance(given, str) else given[-1]
    try:
        return float(text)
    except ValueError:
        raise DatabaseError(f"timeout={text!r} in the database URL is not a number") from None


def _sqlite_pragmas(busy: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers (preview, status) run while a writer holds the file;
        # the busy timeout makes a second process wait instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def create_engine(url: str) -> sa.Engine:
    """An engine for `url`; for SQLite the folder of the file is created if needed."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_database(Path(parsed.database))
        busy = busy_seconds(parsed)
        engine = sa.create_engine(parsed, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy))
        return engine
    try:
        # hide_parameters: a failed statement's values (addresses, tokens) stay out of the
        # exception's text, and so out of every log line and traceback that quotes it.
        return sa.create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise DatabaseError(f"cannot use database URL {parsed!r}: {exc}") from None


def migrate(engine: sa.Engine) -> None:
    """Bring the schema up to the newest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # A rebuilt table (SQLite's only way to alter one) is dropped and renamed: with
            # foreign keys on, the drop would cascade to or fail on the rows that refer to it.
            # The pragma works outside a transaction only; the keys are checked afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise DatabaseError("the migration left rows whose references are broken")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _at_head(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        return list(versions) == [HEAD]


def open_database(url: str) -> sa.Engine:
    """Connect to `url` and migrate it; a clear DatabaseError when that is impossible."""
    engine = create_engine(url)
    try:
        if not _at_head(engine):
            migrate(engine)
    except sa.exc.OperationalError as exc:
        masked = sa.make_url(url).render_as_string(hide_password=True)
        raise DatabaseError(f"cannot open the database {masked}: {exc.orig}") from None
    return engine


def explain_failure(exc: BaseException, url: str | None) -> str | None:
    """One line for staff when the database failed mid-command (None: not such a failure).

    A lock held too long, a full disk and a lost server are the machine's trouble, not the
    bot's: staff need to know which database, what it said, and that running the command again
    is safe (each write is one transaction; the outbox never sends a claimed delivery twice).
    Anything else (a bug) keeps its traceback.
    """
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return None
    said = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    lowered = said.lower()
    parsed = sa.make_url(url) if url else None
    if isinstance(exc.orig, sqlite3.Error):
        where = f" {parsed.database}" if parsed else ""
        busy = busy_seconds(parsed) if parsed else SQLITE_BUSY_SECONDS
        if "locked" in lowered:
            return (
                f"the database{where} is locked by another process (waited {busy:g} s); the "
                "command stopped and its unfinished change was not stored. Run it again when the "
                "other process is done, or wait longer with ?timeout=SECONDS in BOT_DATABASE_URL"
            )
        if "disk" in lowered:  # "database or disk is full", "disk I/O error"
            return (
                f"cannot write to the database{where}: {said} (is the disk full?); the command "
                "stopped and its unfinished change was not stored. Free some space, then run it "
                "again"
            )
        return None
    where = " " + parsed.set(query={}).render_as_string(hide_password=True) if parsed else ""
    if exc.connection_invalidated or "connection" in lowered:
        return (
            f"lost the database{where}: {said}; the command stopped. Run it again when the "
            "database is reachable: what was done is kept, and nothing is sent twice"
        )
    return (
        f"the database{where} failed: {said}; the command stopped and its unfinished change "
        "was not stored. Run it again once the database is working"
    )

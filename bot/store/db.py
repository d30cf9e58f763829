"""Opening the database: create the SQLite file on first use and apply migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.errors import BotError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration. Checked against Alembic by a test; lets a command skip importing
# Alembic (a tenth of a second) when the database is already up to date.
HEAD = "0006"


class DatabaseError(BotError):
    """The database cannot be opened or migrated."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (preview, status) run while a writer holds the file;
    # the busy timeout makes a second process wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> sa.Engine:
    """An engine for `url`; for SQLite the folder of the file is created if needed."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise DatabaseError(f"cannot use database URL {parsed!r}: {exc}") from None


def migrate(engine: sa.Engine) -> None:
    """Bring the schema up to the newest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


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

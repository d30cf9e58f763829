"""The migrations build exactly the schema the code expects, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store.db import open_database
from bot.store.schema import metadata


def test_migrated_schema_matches_the_tables_in_code(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert differences == [], "a table changed without a migration in bot/migrations/versions"
    finally:
        engine.dispose()


def test_opening_twice_keeps_the_data(db_url: str) -> None:
    first = open_database(db_url)
    with first.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO figure_snapshots (as_of, source, entered_by, entered_at, origin) "
                "VALUES ('2024-01-31', 's', 'me', '2024-02-01 00:00:00+00', 'test')"
            )
        )
    first.dispose()
    second = open_database(db_url)
    with second.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM figure_snapshots")).scalar() == 1
    second.dispose()


def test_a_negative_value_is_refused_by_the_database_itself(db_url: str) -> None:
    import pytest

    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            snapshot = conn.execute(
                sa.text(
                    "INSERT INTO figure_snapshots (as_of, source, entered_by, entered_at, origin) "
                    "VALUES ('2024-01-31', 's', 'me', '2024-02-01 00:00:00+00', 'test') "
                    "RETURNING id"
                )
            ).scalar()
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO figure_values (snapshot_id, figure, value, as_of) "
                    "VALUES (:id, 'killed', -1, '2024-01-31')"
                ),
                {"id": snapshot},
            )
    finally:
        engine.dispose()


def test_an_unreachable_database_is_a_clear_error() -> None:
    import pytest

    from bot.store.db import DatabaseError

    with pytest.raises(DatabaseError, match="cannot open the database"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseError, match="not a valid"):
        open_database("not a url")


def test_the_head_the_bot_knows_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.store.db import HEAD, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]

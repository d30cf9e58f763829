"""The one line staff read when the database fails mid-command, for each kind of failure.

The drills show each line arriving from a real failure; this table pins down the wording for
each, and that a bug (anything else) still shows its traceback.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from bot.store.db import explain_failure

SQLITE = "sqlite:////srv/bot/var/bot.sqlite3?timeout=2.5"
LOST = (
    "consuming input failed: server closed the connection unexpectedly\n"
    "\tThis probably means the server terminated abnormally"
)
POSTGRES = "postgresql+psycopg://bot:s3cret@db.internal:5432/bot?options=-csearch_path%3Dx"


def _failure(orig: Exception, kind: type[sa.exc.DBAPIError] = sa.exc.OperationalError) -> Exception:
    return kind("UPDATE deliveries SET state=?", {}, orig)


@pytest.mark.parametrize(
    ("failure", "url", "expected"),
    [
        (
            _failure(sqlite3.OperationalError("database is locked")),
            SQLITE,
            "the database /srv/bot/var/bot.sqlite3 is locked by another process (waited 2.5 s)",
        ),
        (
            _failure(sqlite3.OperationalError("database or disk is full")),
            SQLITE,
            "cannot write to the database /srv/bot/var/bot.sqlite3: database or disk is full "
            "(is the disk full?)",
        ),
        (
            _failure(sqlite3.OperationalError("disk I/O error")),
            None,
            "cannot write to the database: disk I/O error (is the disk full?)",
        ),
        (
            _failure(psycopg.OperationalError(LOST)),
            POSTGRES,
            "lost the database postgresql+psycopg://bot:***@db.internal:5432/bot: consuming "
            "input failed: server closed the connection unexpectedly;",
        ),
        (
            _failure(psycopg.errors.DiskFull("could not extend file: No space left on device")),
            POSTGRES,
            "the database postgresql+psycopg://bot:***@db.internal:5432/bot failed: could not "
            "extend file: No space left on device;",
        ),
    ],
)
def test_a_database_failure_is_one_line_naming_the_database(
    failure: Exception, url: str | None, expected: str
) -> None:
    line = explain_failure(failure, url)
    assert line is not None
    assert line.startswith(expected)
    assert "\n" not in line and "s3cret" not in line


@pytest.mark.parametrize(
    "failure",
    [
        _failure(sqlite3.OperationalError("no such table: deliveries")),  # a bug, not the disk
        _failure(sqlite3.IntegrityError("UNIQUE constraint failed"), sa.exc.IntegrityError),
        _failure(psycopg.errors.UndefinedTable("relation does not exist"), sa.exc.ProgrammingError),
        ValueError("not the database at all"),
    ],
)
def test_anything_else_keeps_its_traceback(failure: Exception) -> None:
    assert explain_failure(failure, SQLITE) is None

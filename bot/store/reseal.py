"""Sealing what is stored in clear, and sealing again under a new key (`bot keys rotate`).

The same pass serves both: a value that is not sealed is sealed, one under another key than
the ring's first is opened and sealed again, and a subscriber's lookup hash is computed again
with the current key. Rows are read in batches by id and each batch is its own transaction;
every update names the row's id and the value it read, so a row changed meanwhile (by a
running `bot run`) is left for the next pass, and an interrupted pass can simply run again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bot.errors import ConfigError
from bot.store.sealing import KEY_ENV, Sealer, bind, key_file, key_of, load_sealer

BATCH = 500
PLACEHOLDER = "plain:"  # the migration's address_hash of a row not sealed yet

# The sealed columns, untyped: this module reads and writes exactly what is stored.
_subscribers = sa.table(
    "subscribers", sa.column("id"), sa.column("address"), sa.column("address_hash")
)
_requests = sa.table("signup_requests", sa.column("id"), sa.column("address"))
_deliveries = sa.table(
    "deliveries", sa.column("id"), sa.column("target"), sa.column("subscriber_id")
)


@dataclass(frozen=True)
class Column:
    """One sealed column: where it lives and which of its rows hold a person's data."""

    name: str
    table: sa.TableClause
    column: str
    # Rows whose value is a person's (a delivery's public broadcast target is not).
    personal: Callable[[], sa.ColumnElement[bool]]


COLUMNS = (
    Column("subscribers.address", _subscribers, "address", lambda: sa.true()),
    Column(
        "signup_requests.address",
        _requests,
        "address",
        lambda: _requests.c.address.is_not(None),
    ),
    Column(
        "deliveries.target",
        _deliveries,
        "target",
        # A subscriber's delivery, or one whose subscriber was erased while it was sealed.
        lambda: _deliveries.c.subscriber_id.is_not(None) | _deliveries.c.target.like("s1.%"),
    ),
)


def _plain_rows(column: Column) -> sa.ColumnElement[bool]:
    return column.personal() & sa.not_(column.table.c[column.column].like("s1.%"))


def has_plain(conn: sa.Connection) -> bool:
    """Whether any personal value is still stored in clear (quick: one query per column)."""
    for column in COLUMNS:
        found = conn.execute(sa.select(column.table.c.id).where(_plain_rows(column)).limit(1))
        if found.first() is not None:
            return True
    return False


def has_sealed(conn: sa.Connection) -> bool:
    """Whether anything is stored sealed: a key is then needed to read the database."""
    for column in COLUMNS:
        value = column.table.c[column.column]
        found = conn.execute(sa.select(column.table.c.id).where(value.like("s1.%")).limit(1))
        if found.first() is not None:
            return True
    return False


def status(conn: sa.Connection) -> dict[str, Counter[str]]:
    """Per sealed column: how many personal values are under each key id, and "plain"."""
    result: dict[str, Counter[str]] = {}
    for column in COLUMNS:
        value = column.table.c[column.column]
        kind = sa.case((value.like("s1.%"), sa.func.substr(value, 4, 8)), else_=sa.literal("plain"))
        rows = conn.execute(
            sa.select(kind, sa.func.count()).where(column.personal()).group_by(kind)
        )
        result[column.name] = Counter({str(k): int(n) for k, n in rows})
    return result


def reseal(
    engine: sa.Engine,
    sealer: Sealer,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Seal every personal value under the ring's first key; how many rows were written."""
    written = 0
    for column in COLUMNS:
        last = 0
        while True:
            with engine.begin() as conn:
                last, done, changed = _batch(conn, column, sealer, last, batch)
            written += changed
            if changed and progress is not None:
                progress(column.name, changed)
            if done:
                break
    return written


def _batch(
    conn: sa.Connection, column: Column, sealer: Sealer, after: int, size: int
) -> tuple[int, bool, int]:
    """One transaction: the next `size` rows after id `after`; (last id, finished, written)."""
    table, name = column.table, column.column
    rows = conn.execute(
        sa.select(table.c.id, table.c[name])
        .where(table.c.id > after, column.personal())
        .order_by(table.c.id)
        .limit(size)
    ).all()
    changed = 0
    for row_id, stored in rows:
        if stored is None or (key_of(stored) is not None and sealer.is_current(stored)):
            continue  # sealed under the current key, its lookup hash with it
        plain = stored if key_of(stored) is None else sealer.open(stored)
        values = {name: sealer.seal(plain)}
        if table is _subscribers:
            values["address_hash"] = sealer.lookup(plain)
        result = conn.execute(
            table.update().where(table.c.id == row_id, table.c[name] == stored).values(**values)
        )
        changed += result.rowcount or 0
    return (rows[-1][0] if rows else after), len(rows) < size, changed


def attach(engine: sa.Engine, env: Mapping[str, str], var: Path) -> Sealer:
    """Bind the data key to an opened database and seal what is still in clear.

    The embedded default makes `var/data-key` on first run, but never beside a database that
    already holds sealed values: a lost key is said, not papered over with a new one.
    """
    given = any(env.get(name) for name in (KEY_ENV, f"{KEY_ENV}_FILE")) or key_file(var).exists()
    if not given:
        with engine.connect() as conn:
            if has_sealed(conn):
                raise ConfigError(
                    f"the database holds sealed addresses but there is no data key: set {KEY_ENV} "
                    f"(or {KEY_ENV}_FILE) or restore {key_file(var)} from where it was kept"
                )
    sealer = load_sealer(env, var, create=True)
    bind(engine, sealer)
    with engine.connect() as conn:
        plain = has_plain(conn)
    if plain:  # a database from before sealing: sealed once, in batches
        reseal(engine, sealer)
    return sealer

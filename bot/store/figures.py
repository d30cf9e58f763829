"""Reading and appending figure snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from bot.store.schema import figure_snapshots as snapshots
from bot.store.schema import figure_values as values


@dataclass(frozen=True)
class StoredValue:
    """One stored value of a figure, with where it came from."""

    figure: str
    value: int
    as_of: dt.date
    period_start: dt.date | None
    source: str
    entered_by: str
    entered_at: dt.datetime
    correction: str | None
    snapshot_id: int


def _select() -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(
            values.c.figure,
            values.c.value,
            values.c.as_of,
            values.c.period_start,
            snapshots.c.source,
            snapshots.c.entered_by,
            snapshots.c.entered_at,
            snapshots.c.correction,
            snapshots.c.id.label("snapshot_id"),
        )
        .join(snapshots, snapshots.c.id == values.c.snapshot_id)
        # Later entries for the same date supersede earlier ones: order so the last wins.
        .order_by(values.c.as_of, values.c.id)
    )


def _rows(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> list[StoredValue]:
    return [StoredValue(**row._asdict()) for row in conn.execute(query)]


def timeline(conn: sa.Connection, figures: Iterable[str]) -> dict[str, dict[dt.date, StoredValue]]:
    """For each figure, its current value per as-of date (running values, not spans)."""
    keys = list(figures)
    query = _select().where(values.c.figure.in_(keys), values.c.period_start.is_(None))
    out: dict[str, dict[dt.date, StoredValue]] = {key: {} for key in keys}
    for row in _rows(conn, query):
        out[row.figure][row.as_of] = row
    return out


def latest(conn: sa.Connection, as_of: dt.date) -> dict[str, StoredValue]:
    """Each figure's newest running value dated on or before `as_of`."""
    query = _select().where(values.c.period_start.is_(None), values.c.as_of <= as_of)
    out: dict[str, StoredValue] = {}
    for row in _rows(conn, query):
        out[row.figure] = row
    return out


def latest_spans(conn: sa.Connection, as_of: dt.date) -> dict[str, StoredValue]:
    """Each figure's newest value counted over a span that ended on or before `as_of`."""
    query = _select().where(values.c.period_start.is_not(None), values.c.as_of <= as_of)
    out: dict[str, StoredValue] = {}
    for row in _rows(conn, query):
        out[row.figure] = row
    return out


def for_period(conn: sa.Connection, start: dt.date, end: dt.date) -> dict[str, StoredValue]:
    """The values entered for exactly the span `start`..`end`."""
    query = _select().where(values.c.period_start == start, values.c.as_of == end)
    return {row.figure: row for row in _rows(conn, query)}


def existing(
    conn: sa.Connection, figure: str, as_of: dt.date, period_start: dt.date | None
) -> StoredValue | None:
    """The current value entered for one figure and date (or span), if any."""
    query = _select().where(values.c.figure == figure, values.c.as_of == as_of)
    if period_start is None:
        query = query.where(values.c.period_start.is_(None))
    else:
        query = query.where(values.c.period_start == period_start)
    rows = _rows(conn, query)
    return rows[-1] if rows else None


def history(conn: sa.Connection, figure: str) -> list[StoredValue]:
    """Every value ever entered for `figure`, in the order of their dates and entry."""
    return _rows(conn, _select().where(values.c.figure == figure))


def newest_date(conn: sa.Connection, on_or_before: dt.date | None = None) -> dt.date | None:
    """The newest as-of date of any running value (on or before a date, if given)."""
    query = sa.select(sa.func.max(values.c.as_of)).where(values.c.period_start.is_(None))
    if on_or_before is not None:
        query = query.where(values.c.as_of <= on_or_before)
    result: dt.date | None = conn.execute(query).scalar()
    return result


def count_values(conn: sa.Connection) -> int:
    """How many values are stored (used to tell an empty store)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(values)).scalar() or 0)


@dataclass(frozen=True)
class NewSnapshot:
    """Values sharing one date (or span), source and entry, ready to append."""

    as_of: dt.date
    period_start: dt.date | None
    source: str
    values: dict[str, int]


def append(
    conn: sa.Connection,
    snapshot: NewSnapshot,
    *,
    entered_by: str,
    entered_at: dt.datetime,
    correction: str | None,
    origin: str,
) -> int:
    """Append one snapshot and its values; returns the snapshot id."""
    result = conn.execute(
        snapshots.insert().values(
            as_of=snapshot.as_of,
            period_start=snapshot.period_start,
            source=snapshot.source,
            entered_by=entered_by,
            entered_at=entered_at,
            correction=correction,
            origin=origin,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # every insert into a table with a serial key returns one
    snapshot_id = int(key[0])
    conn.execute(
        values.insert(),
        [
            {
                "snapshot_id": snapshot_id,
                "figure": figure,
                "value": value,
                "as_of": snapshot.as_of,
                "period_start": snapshot.period_start,
            }
            for figure, value in snapshot.values.items()
        ],
    )
    return snapshot_id

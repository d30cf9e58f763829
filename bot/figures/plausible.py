"""Whether figures as typed could be true, before anything is stored.

Three checks, each from what the organisation knows rather than from the arithmetic rules:
- no figure is dated after today (in the organisation's time zone): figures are entered once
  published, and a date in the future would block every correct entry until it passes;
- no value lies outside the figure's `min`..`max` in config/figures.toml: impossible, refused;
- no value changes faster than the figure's `max_change_per_day` since the values entered
  before and after it: unusual, so it needs `--correction "why"` or a second member of staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.config.figuredefs import FigureBook
from bot.store import figures as store

if TYPE_CHECKING:
    from bot.figures.entries import Entry

SECOND_LOOK = (
    'if it is right, repeat with --correction "why", or have a second member of staff confirm it'
)


def _when(entry: Entry) -> str:
    if entry.period_start is not None:
        return f"for {entry.period_start}..{entry.as_of}"
    return f"as of {entry.as_of}"


def future(entries: Iterable[Entry], today: dt.date) -> list[str]:
    """Entries dated after today."""
    return [
        f"{entry.where}: {entry.figure} {_when(entry)} is dated after today ({today}); figures "
        "are entered once they are published, for a day that has ended or is under way"
        for entry in entries
        if entry.as_of > today
    ]


def impossible(book: FigureBook, entries: Iterable[Entry]) -> list[str]:
    """Entries outside their figure's min..max."""
    problems = []
    for entry in entries:
        definition = book.figures[entry.figure]
        if entry.value < definition.min:
            problems.append(
                f"{entry.where}: {entry.figure}={entry.value} is below the smallest possible "
                f"value of {entry.figure}, {definition.min} (min, "
                f"{book.where(entry.figure, 'min')})"
            )
        if definition.max is not None and entry.value > definition.max:
            problems.append(
                f"{entry.where}: {entry.figure}={entry.value} is above the largest possible "
                f"value of {entry.figure}, {definition.max} (max, "
                f"{book.where(entry.figure, 'max')}); if it is right, raise max there"
            )
    return problems


@dataclass(frozen=True)
class Jump:
    """A change faster than its figure's `max_change_per_day`."""

    entry: Entry
    text: str  # `killed rises by 59995526 in 1 day, from 4474 (as of …) to 60000000 (…)`


def unusual(conn: sa.Connection, book: FigureBook, entries: Iterable[Entry]) -> list[Jump]:
    """Running values that change faster than believable from the values dated next to them.

    The new values are merged with the stored ones first, so a file of several dates is
    checked against itself too, and a value entered for an earlier date against the one after.
    """
    limited = [
        entry
        for entry in entries
        if entry.period_start is None and book.figures[entry.figure].max_change_per_day
    ]
    if not limited:
        return []
    merged: dict[str, dict[dt.date, tuple[int, str]]] = {}
    for figure, stored in store.timeline(conn, {entry.figure for entry in limited}).items():
        merged[figure] = {date: (row.value, f"source {row.source}") for date, row in stored.items()}
    for entry in limited:
        merged[entry.figure][entry.as_of] = (entry.value, "entered now")
    found = []
    seen: set[tuple[str, dt.date, dt.date]] = set()
    for entry in limited:
        per_day = book.figures[entry.figure].max_change_per_day or 0
        values = merged[entry.figure]
        dates = sorted(values)
        index = dates.index(entry.as_of)
        for other in dates[max(0, index - 1) : index] + dates[index + 1 : index + 2]:
            early, late = sorted((other, entry.as_of))
            (before, said_before), (after, said_after) = values[early], values[late]
            days = max(1, (late - early).days)
            if abs(after - before) <= per_day * days or (entry.figure, early, late) in seen:
                continue
            seen.add((entry.figure, early, late))
            found.append(
                Jump(
                    entry,
                    f"{entry.figure} {'rises' if after > before else 'falls'} by "
                    f"{abs(after - before)} in {days} day{'s' if days != 1 else ''}, from {before} "
                    f"(as of {early}, {said_before}) to {after} (as of {late}, {said_after}): "
                    f"more than the {per_day} a day believable (max_change_per_day, "
                    f"{book.where(entry.figure, 'max_change_per_day')})",
                )
            )
    return found

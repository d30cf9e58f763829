"""Entering figures for compose tests, the way `bot figures set` does."""

from __future__ import annotations

import datetime as dt

from bot.app import App
from bot.compose.drafts import Draft, Edition, Failure, occasion_for
from bot.figures.entries import Entry, enter

SOURCE = "https://aappb.org/?p=27322"

# The statement in shared/seeds: running totals as of 2024-01-31 and the third year's figures.
SEED_TOTALS = {
    "arrested": 25931,
    "detained": 19993,
    "serving_sentence": 8656,
    "killed": 4474,
    "killed_in_custody": 1588,
}
SEED_YEAR = {
    "tortured_to_death": 28,
    "sentenced_to_death": 31,
    "arrested": 1988,
    "sentenced": 1697,
    "released": 873,
    "sagaing.arrested": 309,
    "sagaing.killed": 770,
}


def put(
    app: App,
    values: dict[str, int],
    as_of: str,
    period_start: str | None = None,
    source: str = SOURCE,
) -> None:
    """Store values as staff would, through the same checks."""
    day = dt.date.fromisoformat(as_of)
    start = dt.date.fromisoformat(period_start) if period_start else None
    entries = [
        Entry(key, value, day, start, source, f"{key}={value}") for key, value in values.items()
    ]
    enter(app.engine, app.book, entries, entered_by="test", now=app.clock(), origin="test")


def enter_seed(app: App) -> None:
    """The figures of the third-anniversary statement."""
    put(app, SEED_TOTALS, "2024-01-31")
    put(app, SEED_YEAR, "2024-01-31", period_start="2023-02-01")


def compose(
    app: App,
    message: str,
    on: str | None,
    langs: list[str] | None = None,
    channels: list[str] | None = None,
) -> list[Edition]:
    """All editions of a message for a date."""
    found = app.composer.message(message)
    day = dt.date.fromisoformat(on) if on else None
    occasion = occasion_for(app.settings, found, day, app.today())
    return app.composer.compose(found, occasion, langs, channels)


def only_draft(editions: list[Edition]) -> Draft:
    """The single edition asked for, which must have rendered."""
    assert len(editions) == 1
    edition = editions[0]
    assert not isinstance(edition, Failure), edition.reason
    return edition

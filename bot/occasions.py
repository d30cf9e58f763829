"""Anniversary arithmetic on calendar dates already converted to the configured time zone.

Conventions:

- An event on February 29 is marked on February 28 in years that are not leap years, so that the
  anniversary falls inside the year it completes rather than spilling into March.
- The anniversary numbered N falls N years after the event; it completes the year that started
  on the previous anniversary (the event itself for N = 1) and ended the day before. For the coup
  of 2021-02-01, number 3 is on 2024-02-01 and covers 2023-02-01 to 2024-01-31 inclusive.
- The day of the event is day 0, so 2023-10-29 is "1,000 days since" 2021-02-01.

Time zones are dealt with once, by ``local_date``; everything else works on ``date``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Anniversary:
    """One anniversary of an event and the year it completes."""

    event: date
    on: date
    number: int
    span_start: date
    span_end: date


def anniversary_date(event: date, year: int) -> date:
    """Return the date on which `event` is marked in `year`."""
    if not date.min.year <= year <= date.max.year:
        raise ValueError(f"year {year} is outside {date.min.year}..{date.max.year}")
    if (event.month, event.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return event.replace(year=year)


def nth_anniversary(event: date, number: int) -> Anniversary:
    """Return the anniversary of `event` numbered `number` (1 is the first)."""
    if number < 1:
        raise ValueError(f"anniversary number must be 1 or more, got {number}")
    on = anniversary_date(event, event.year + number)
    return Anniversary(
        event=event,
        on=on,
        number=number,
        span_start=anniversary_date(event, on.year - 1),
        span_end=on - _ONE_DAY,
    )


def anniversary_on(event: date, on: date) -> Anniversary | None:
    """Return the anniversary of `event` that falls on `on`, or None if none does."""
    if on.year <= event.year or on != anniversary_date(event, on.year):
        return None
    return nth_anniversary(event, on.year - event.year)


def latest_anniversary(event: date, on: date) -> Anniversary | None:
    """Return the latest anniversary of `event` on or before `on` (None in the first year)."""
    number = on.year - event.year
    if number >= 1 and anniversary_date(event, on.year) > on:
        number -= 1
    return nth_anniversary(event, number) if number >= 1 else None


def days_since(event: date, on: date) -> int:
    """Return how many days `on` is after `event`, counting the event's own day as day 0."""
    # A negative count would end up in a post as "-3 days since the coup"; refuse it here.
    if on < event:
        raise ValueError(f"{on.isoformat()} is before the event on {event.isoformat()}")
    return (on - event).days


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """Return the calendar date of an aware `moment` in the time zone `tz`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"times must be aware (carry a time zone), got naive {moment.isoformat()}")
    return moment.astimezone(tz).date()

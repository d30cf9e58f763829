"""Tests for bot.occasions: anniversaries, the year each one completes, and day counts."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.lang import has_latin_digit, ordinal, ordinal_title, span
from bot.occasions import (
    Anniversary,
    anniversary_date,
    anniversary_on,
    days_since,
    latest_anniversary,
    local_date,
    nth_anniversary,
)

COUP = date(2021, 2, 1)
LEAP_EVENT = date(2020, 2, 29)
YANGON = ZoneInfo("Asia/Yangon")


def _days_covered(a: Anniversary) -> int:
    return (a.span_end - a.span_start).days + 1


@pytest.mark.parametrize(
    ("event", "year", "expected"),
    [
        (COUP, 2024, date(2024, 2, 1)),
        (COUP, 2021, COUP),
        (LEAP_EVENT, 2024, date(2024, 2, 29)),
        (LEAP_EVENT, 2025, date(2025, 2, 28)),
        (LEAP_EVENT, 2028, date(2028, 2, 29)),
        (LEAP_EVENT, 2100, date(2100, 2, 28)),
        (LEAP_EVENT, 2000, date(2000, 2, 29)),
        (date(2021, 2, 28), 2024, date(2024, 2, 28)),
        (date(2021, 3, 1), 2024, date(2024, 3, 1)),
        (date(2021, 12, 31), 2022, date(2022, 12, 31)),
    ],
)
def test_anniversary_date(event: date, year: int, expected: date) -> None:
    assert anniversary_date(event, year) == expected


@pytest.mark.parametrize("year", [0, -1, 10000])
def test_anniversary_date_refuses_impossible_years(year: int) -> None:
    with pytest.raises(ValueError, match=f"year {year}"):
        anniversary_date(COUP, year)


@pytest.mark.parametrize(
    ("event", "on", "number", "span_start", "span_end", "days"),
    [
        (COUP, date(2022, 2, 1), 1, date(2021, 2, 1), date(2022, 1, 31), 365),
        (COUP, date(2023, 2, 1), 2, date(2022, 2, 1), date(2023, 1, 31), 365),
        # The third year ends on 2024-01-31, so it does not reach 2024-02-29.
        (COUP, date(2024, 2, 1), 3, date(2023, 2, 1), date(2024, 1, 31), 365),
        (COUP, date(2025, 2, 1), 4, date(2024, 2, 1), date(2025, 1, 31), 366),
        (LEAP_EVENT, date(2021, 2, 28), 1, date(2020, 2, 29), date(2021, 2, 27), 365),
        (LEAP_EVENT, date(2024, 2, 29), 4, date(2023, 2, 28), date(2024, 2, 28), 366),
        (LEAP_EVENT, date(2025, 2, 28), 5, date(2024, 2, 29), date(2025, 2, 27), 365),
        (LEAP_EVENT, date(2028, 2, 29), 8, date(2027, 2, 28), date(2028, 2, 28), 366),
        (date(2023, 3, 1), date(2024, 3, 1), 1, date(2023, 3, 1), date(2024, 2, 29), 366),
    ],
)
def test_anniversary_on(
    event: date, on: date, number: int, span_start: date, span_end: date, days: int
) -> None:
    expected = Anniversary(event, on, number, span_start, span_end)
    assert anniversary_on(event, on) == expected
    assert nth_anniversary(event, number) == expected
    assert latest_anniversary(event, on) == expected
    assert _days_covered(expected) == days


@pytest.mark.parametrize(
    ("event", "on"),
    [
        (COUP, COUP),
        (COUP, date(2020, 2, 1)),
        (COUP, date(2024, 1, 31)),
        (COUP, date(2024, 2, 2)),
        (COUP, date(2024, 8, 1)),
        (LEAP_EVENT, date(2025, 3, 1)),
        (LEAP_EVENT, date(2024, 2, 28)),
        (LEAP_EVENT, date(2028, 2, 28)),
    ],
)
def test_not_an_anniversary(event: date, on: date) -> None:
    assert anniversary_on(event, on) is None


def test_third_anniversary_of_the_coup_in_both_languages() -> None:
    third = anniversary_on(COUP, date(2024, 2, 1))
    assert third is not None
    assert third.number == 3
    assert ordinal_title(third.number, "en") == "Third"
    assert span(third.span_start, third.span_end, "en") == "February 1, 2023 – January 31, 2024"
    assert ordinal(third.number, "my") == "တတိယ"
    burmese = span(third.span_start, third.span_end, "my")
    assert burmese == "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်မှ ၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်အထိ"
    assert not has_latin_digit(burmese + ordinal(third.number, "my"))


def test_fourth_anniversary_of_the_coup() -> None:
    fourth = anniversary_on(COUP, date(2025, 2, 1))
    assert fourth is not None
    assert fourth.number == 4
    assert ordinal(fourth.number, "en") == "fourth"
    assert span(fourth.span_start, fourth.span_end, "en") == "February 1, 2024 – January 31, 2025"
    assert date(2024, 2, 29) <= fourth.span_end


@pytest.mark.parametrize(
    ("event", "on", "number"),
    [
        (COUP, COUP, None),
        (COUP, date(2020, 1, 1), None),
        (COUP, date(2022, 1, 31), None),
        (COUP, date(2022, 2, 1), 1),
        (COUP, date(2024, 1, 31), 2),
        (COUP, date(2024, 2, 1), 3),
        (COUP, date(2024, 12, 31), 3),
        (COUP, date(2025, 1, 1), 3),
        (LEAP_EVENT, date(2021, 2, 27), None),
        (LEAP_EVENT, date(2021, 2, 28), 1),
        (LEAP_EVENT, date(2024, 2, 28), 3),
        (LEAP_EVENT, date(2024, 2, 29), 4),
        (LEAP_EVENT, date(2025, 2, 27), 4),
        (LEAP_EVENT, date(2025, 2, 28), 5),
    ],
)
def test_latest_anniversary(event: date, on: date, number: int | None) -> None:
    latest = latest_anniversary(event, on)
    assert (latest.number if latest else None) == number
    if latest is not None:
        assert latest.on <= on


@pytest.mark.parametrize("number", [0, -1])
def test_nth_anniversary_refuses_numbers_below_one(number: int) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        nth_anniversary(COUP, number)


@pytest.mark.parametrize(
    ("event", "on", "expected"),
    [
        (COUP, COUP, 0),
        (COUP, date(2021, 2, 2), 1),
        (COUP, date(2022, 2, 1), 365),
        (COUP, date(2023, 10, 29), 1000),
        (COUP, date(2025, 2, 1), 1461),
    ],
)
def test_days_since(event: date, on: date, expected: int) -> None:
    assert days_since(event, on) == expected


def test_thousand_days_since_the_coup() -> None:
    assert COUP + timedelta(days=1000) == date(2023, 10, 29)


def test_days_since_refuses_dates_before_the_event() -> None:
    with pytest.raises(ValueError, match="before the event"):
        days_since(COUP, date(2021, 1, 31))


@pytest.mark.parametrize(
    ("moment", "tz", "expected"),
    [
        (datetime(2024, 1, 31, 18, 0, tzinfo=UTC), YANGON, date(2024, 2, 1)),
        # Yangon is UTC+06:30, so 17:29 UTC is still 23:59 the day before.
        (datetime(2024, 1, 31, 17, 29, tzinfo=UTC), YANGON, date(2024, 1, 31)),
        (datetime(2024, 1, 31, 17, 30, tzinfo=UTC), YANGON, date(2024, 2, 1)),
        (datetime(2024, 2, 1, 0, 0, tzinfo=YANGON), ZoneInfo("UTC"), date(2024, 1, 31)),
        (datetime(2024, 2, 1, 0, 0, tzinfo=YANGON), YANGON, date(2024, 2, 1)),
    ],
)
def test_local_date(moment: datetime, tz: ZoneInfo, expected: date) -> None:
    assert local_date(moment, tz) == expected


def test_yangon_offset_is_six_and_a_half_hours() -> None:
    moment = datetime(2024, 1, 31, 18, 0, tzinfo=UTC).astimezone(YANGON)
    assert moment.utcoffset() == timedelta(hours=6, minutes=30)


def test_local_date_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="must be aware"):
        local_date(datetime(2024, 2, 1, 0, 0), YANGON)


LEAP_YEARS = [year for year in range(1, 10000) if calendar.isleap(year)]


@st.composite
def _event_and_day(draw: st.DrawFn) -> tuple[date, date]:
    # Uniformly drawn days almost never land on an anniversary, so half the draws sit on or
    # next to one, and Feb 29 events come up often enough to exercise the Feb 28 rule.
    if draw(st.booleans()):
        return draw(st.dates()), draw(st.dates())
    if draw(st.booleans()):
        event = date(draw(st.sampled_from(LEAP_YEARS)), 2, 29)
    else:
        event = draw(st.dates())
    marked = anniversary_date(event, draw(st.integers(max(1, event.year - 1), 9999)))
    step = draw(st.sampled_from([-1, 0, 1]))
    if (marked, step) in ((date.min, -1), (date.max, 1)):
        step = 0
    return event, marked + timedelta(days=step)


@given(_event_and_day())
def test_anniversary_on_property(event_and_day: tuple[date, date]) -> None:
    event, on = event_and_day
    found = anniversary_on(event, on)
    is_anniversary = on.year > event.year and on == anniversary_date(event, on.year)
    assert (found is not None) == is_anniversary
    if found is not None:
        assert found.on == on
        assert found.number == on.year - event.year
        assert _days_covered(found) in (365, 366)
        assert found.span_end + timedelta(days=1) == found.on
        assert latest_anniversary(event, on) == found


@given(event=st.dates(max_value=date(9000, 12, 31)), number=st.integers(1, 998))
def test_consecutive_anniversaries_tile_the_years(event: date, number: int) -> None:
    this, following = nth_anniversary(event, number), nth_anniversary(event, number + 1)
    assert following.span_start == this.on
    assert anniversary_on(event, this.on) == this

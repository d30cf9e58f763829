"""The planner over a simulated year in Asia/Yangon: exactly the configured occasions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.config import load_schedule
from bot.calendar.planner import Planned, plan
from bot.config.settings import load_settings

YANGON = ZoneInfo("Asia/Yangon")


def _plan(home: Path, start: dt.datetime, end: dt.datetime) -> list[Planned]:
    settings = load_settings(home)
    return plan(load_schedule(home / "config" / "schedule.toml"), settings, start, end)


def _year(home: Path) -> list[Planned]:
    return _plan(
        home, dt.datetime(2024, 1, 1, tzinfo=YANGON), dt.datetime(2025, 1, 1, tzinfo=YANGON)
    )


def test_a_year_of_the_shipped_schedule(home: Path) -> None:
    occasions = _year(home)
    assert Counter(o.message for o in occasions) == {
        "daily-briefing": 366,  # 2024 is a leap year
        "weekly-digest": 53,  # it starts on a Monday
        "milestone": 4,
        "anniversary": 1,
    }
    assert len({o.key for o in occasions}) == len(occasions)
    daily = [o for o in occasions if o.message == "daily-briefing"]
    assert all((o.at.hour, o.at.minute) == (20, 0) for o in daily)
    assert {o.at.astimezone(dt.UTC).strftime("%H:%M") for o in daily} == {"13:30"}
    weekly = [o for o in occasions if o.message == "weekly-digest"]
    assert all(o.at.weekday() == 0 and o.at.hour == 9 for o in weekly)
    assert all(o.channels == ("email",) for o in weekly)


def test_the_coup_anniversary_is_on_february_1_at_its_time(home: Path) -> None:
    (anniversary,) = [o for o in _year(home) if o.kind == "anniversary"]
    assert anniversary.at == dt.datetime(2024, 2, 1, 9, 0, tzinfo=YANGON)
    assert anniversary.at.astimezone(dt.UTC) == dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)
    assert anniversary.key == "anniversary/coup/2024-02-01"
    assert anniversary.channels == ("x", "telegram", "bluesky", "mastodon", "email")
    assert anniversary.grace == dt.timedelta(hours=6)


def test_every_hundred_days_since_the_coup(home: Path) -> None:
    milestones = [o for o in _year(home) if o.kind == "milestone"]
    assert [(o.days, o.at.date()) for o in milestones] == [
        (1100, dt.date(2024, 2, 5) + dt.timedelta(days=1)),
        (1200, dt.date(2024, 5, 16)),
        (1300, dt.date(2024, 8, 24)),
        (1400, dt.date(2024, 12, 2)),
    ]
    assert all(
        dt.date(2021, 2, 1) + dt.timedelta(days=o.days or 0) == o.at.date() for o in milestones
    )


def _add(home: Path, bot_toml: str = "", schedule_toml: str = "") -> None:
    for name, extra in (("bot.toml", bot_toml), ("schedule.toml", schedule_toml)):
        path = home / "config" / name
        text = path.read_text(encoding="utf-8")
        if name == "schedule.toml":
            text = text.split("[admin]")[0] + extra + "\n[admin]" + text.split("[admin]")[1]
        else:
            text = text.replace("[database]", extra + "\n[database]")
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2021, dt.date(2021, 2, 28)), (2024, dt.date(2024, 2, 29)), (2025, dt.date(2025, 2, 28))],
)
def test_the_29_february_rule(home: Path, year: int, expected: dt.date) -> None:
    _add(
        home,
        bot_toml='[events.leap]\ndate = 2020-02-29\nname.en = "a leap day"\nname.my = "ရက်"\n',
        schedule_toml=(
            '[[anniversary]]\nevent = "leap"\nmessage = "anniversary"\ntime = "08:00"\n'
            'channels = ["x"]\n'
            '[[day]]\ndate = "02-29"\nname.en = "Leap Day"\nname.my = "ရက်ထပ်"\n'
            'message = "day"\ntime = "12:00"\nchannels = ["telegram"]\n'
        ),
    )
    start = dt.datetime(year, 1, 1, tzinfo=YANGON)
    found = [o for o in _plan(home, start, start.replace(year=year + 1)) if o.at.month == 2]
    leap = [o for o in found if o.key.startswith(("anniversary/leap", "day/"))]
    # The leap anniversary and the marked day fall on one date and become one occasion.
    assert len(leap) == 1
    (occasion,) = leap
    assert occasion.at.date() == expected and occasion.at.hour == 8
    assert occasion.channels == ("x", "telegram")
    assert [name.en for name in occasion.names] == ["Leap Day"]


def test_two_posts_a_day_get_keys_of_their_own(home: Path) -> None:
    _add(
        home,
        schedule_toml=(
            '[[interval]]\nmessage = "daily-briefing"\ncron = "0 8,20 * * *"\n'
            'channels = ["x"]\ngrace_hours = 1\n'
        ),
    )
    day = dt.datetime(2024, 3, 5, tzinfo=YANGON)
    found = [
        o for o in _plan(home, day, day + dt.timedelta(days=1)) if o.message == "daily-briefing"
    ]
    assert sorted((o.key, o.channels) for o in found) == [
        ("daily-briefing/2024-03-05T0800", ("x",)),
        # The shipped 20:00 briefing and this one are one occasion, not two posts.
        ("daily-briefing/2024-03-05T2000", ("telegram", "x")),
    ]


def test_plan_refuses_naive_datetimes(home: Path) -> None:
    with pytest.raises(ValueError, match="aware"):
        _plan(home, dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1))

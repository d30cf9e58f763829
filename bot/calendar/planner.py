"""The planner: every occasion the schedule yields in a span of time. Pure; no clock inside.

Calendar occasions (anniversaries and marked days) that fall on the same local date become one
occasion: the anniversary's (or the first day's) message, with the other days listed in
`also`, so a date is marked by one post or thread, not two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.calendar.config import Anniversary, Day, Interval, Milestone, Schedule
from bot.compose.context import Occasion
from bot.config.settings import Localized, Settings
from bot.occasions import anniversary_date, anniversary_on


@dataclass(frozen=True)
class Planned:
    """An occasion due at a moment: what to post, where, and how late it may still go out."""

    at: dt.datetime  # aware, in the configured zone
    message: str
    kind: str  # anniversary, day, interval, milestone
    key: str  # the publication's idempotency key
    channels: tuple[str, ...]
    grace: dt.timedelta
    event: str | None = None
    # The marked days this occasion stands for (a day's own name, and days merged into it).
    names: tuple[Localized, ...] = ()
    days: int | None = None

    @property
    def local_date(self) -> dt.date:
        """The date of the occasion in the configured zone."""
        return self.at.date()


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def _years(start: dt.datetime, end: dt.datetime) -> range:
    return range(start.year, end.year + 1)


def _anniversaries(
    entries: list[Anniversary], settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[Planned]:
    tz = settings.tz
    out = []
    for entry in entries:
        event = settings.file.events[entry.event]
        for year in _years(start, end):
            if year <= event.date.year:
                continue
            day = anniversary_date(event.date, year)
            at = _at(day, entry.local_time(), tz)
            if start <= at < end:
                out.append(
                    Planned(
                        at,
                        entry.message,
                        "anniversary",
                        f"anniversary/{entry.event}/{day}",
                        tuple(entry.channels),
                        dt.timedelta(hours=entry.grace_hours),
                        entry.event,
                    )
                )
    return out


def _days(
    entries: list[Day], settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[Planned]:
    out = []
    for entry in entries:
        month, day_of_month = (int(part) for part in entry.date.split("-"))
        for year in _years(start, end):
            # The February 29 rule of anniversaries holds for marked days too.
            day = anniversary_date(dt.date(2024, month, day_of_month), year)
            at = _at(day, entry.local_time(), settings.tz)
            if start <= at < end:
                out.append(
                    Planned(
                        at,
                        entry.message,
                        "day",
                        f"day/{day}",
                        tuple(entry.channels),
                        dt.timedelta(hours=entry.grace_hours),
                        names=(entry.name,),
                    )
                )
    return out


def _intervals(
    entries: list[Interval], settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[Planned]:
    from apscheduler.triggers.cron import CronTrigger

    fires: dict[tuple[str, dt.datetime], Planned] = {}
    for entry in entries:
        trigger = CronTrigger.from_crontab(entry.cron, timezone=settings.tz)
        previous: dt.datetime | None = None
        moment = start - dt.timedelta(microseconds=1)
        while True:
            fire = trigger.get_next_fire_time(previous, moment)
            if fire is None or fire >= end:
                break
            local = fire.astimezone(settings.tz)
            if local >= start:
                slot = (entry.message, local)
                before = fires.get(slot)
                # Two entries posting one message at one moment are one occasion.
                channels = tuple(
                    dict.fromkeys((*(before.channels if before else ()), *entry.channels))
                )
                grace = max(
                    dt.timedelta(hours=entry.grace_hours),
                    before.grace if before else dt.timedelta(),
                )
                fires[slot] = Planned(local, entry.message, "interval", "", channels, grace)
            previous = fire
            moment = fire + dt.timedelta(seconds=1)
    per_day: dict[tuple[str, dt.date], int] = {}
    for message, local in fires:
        per_day[(message, local.date())] = per_day.get((message, local.date()), 0) + 1
    out = []
    for (message, local), planned in fires.items():
        key = f"{message}/{local.date()}"
        if per_day[(message, local.date())] > 1:  # several a day: tell them apart by the time
            key = f"{key}T{local:%H%M}"
        out.append(Planned(local, message, "interval", key, planned.channels, planned.grace))
    return out


def _day_counts(
    entries: list[Milestone], settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[Planned]:
    out = []
    for entry in entries:
        if entry.every_days is None or entry.event is None:
            continue
        origin = settings.file.events[entry.event].date
        first = max(1, ((start.date() - origin).days) // entry.every_days)
        number = first
        while True:
            days = number * entry.every_days
            at = _at(origin + dt.timedelta(days=days), entry.local_time(), settings.tz)
            if at >= end:
                break
            if at >= start:
                out.append(
                    Planned(
                        at,
                        entry.message,
                        "milestone",
                        f"milestone/{entry.event}/days-{days}",
                        tuple(entry.channels),
                        dt.timedelta(hours=entry.grace_hours),
                        entry.event,
                        days=days,
                    )
                )
            number += 1
    return out


def _merge_calendar(occasions: list[Planned]) -> list[Planned]:
    calendar = [o for o in occasions if o.kind in ("anniversary", "day")]
    others = [o for o in occasions if o.kind not in ("anniversary", "day")]
    by_date: dict[dt.date, list[Planned]] = {}
    for occasion in calendar:
        by_date.setdefault(occasion.local_date, []).append(occasion)
    merged = []
    for same_day in by_date.values():
        same_day.sort(key=lambda o: (o.kind != "anniversary", o.at))
        first = same_day[0]
        names = tuple(name for o in same_day for name in o.names)
        channels = tuple(dict.fromkeys(c for o in same_day for c in o.channels))
        merged.append(
            Planned(
                min(o.at for o in same_day),
                first.message,
                first.kind,
                first.key,
                channels,
                max(o.grace for o in same_day),
                first.event,
                names,
            )
        )
    return merged + others


def plan(
    schedule: Schedule, settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[Planned]:
    """Every time-based occasion with start <= at < end, in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("plan() needs aware datetimes")
    local_start, local_end = start.astimezone(settings.tz), end.astimezone(settings.tz)
    occasions = (
        _anniversaries(schedule.anniversary, settings, local_start, local_end)
        + _days(schedule.day, settings, local_start, local_end)
        + _intervals(schedule.interval, settings, local_start, local_end)
        + _day_counts(schedule.milestone, settings, local_start, local_end)
    )
    return sorted(_merge_calendar(occasions), key=lambda o: (o.at, o.key))


def occasion_of(p: Planned, settings: Settings) -> Occasion:
    """The occasion a planned post is composed for (its key is the planned one)."""
    anniversary = None
    if p.kind == "anniversary" and p.event:
        anniversary = anniversary_on(settings.file.events[p.event].date, p.local_date)
    figure, threshold = None, None
    # A figure milestone's key is milestone/FIGURE/THRESHOLD.
    parts = p.key.split("/")
    if p.kind == "milestone" and len(parts) == 3 and parts[2].isdigit():
        figure, threshold = parts[1], int(parts[2])
    return Occasion(
        p.message,
        p.local_date,
        anniversary,
        p.event,
        kind=p.kind,
        planned_key=p.key,
        days=p.days,
        figure=figure,
        threshold=threshold,
        names=p.names,
    )

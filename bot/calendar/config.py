"""`config/schedule.toml`: anniversaries, intervals, milestones, marked days, the admin contact."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.channels import registry
from bot.config.settings import Localized, Settings, describe_validation_error
from bot.config.tomlfile import TomlFile, load_toml
from bot.errors import Problems

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str
    channels: list[str] = Field(min_length=1)
    grace_hours: float = Field(default=6, ge=0, le=24 * 7)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        return registry.known(value)


class _Timed(Entry):
    time: str = "09:00"

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"{value!r} is not a time written HH:MM (24-hour clock)")
        return value

    def local_time(self) -> dt.time:
        """The time of day as a time."""
        hours, minutes = self.time.split(":")
        return dt.time(int(hours), int(minutes))


class Anniversary(_Timed):
    """Every year on the date of an event in config/bot.toml."""

    event: str


class Interval(Entry):
    """A cron expression in local time."""

    cron: str

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a cron expression ({exc})") from None
        return value


class Milestone(_Timed):
    """Every N days since an event, or a figure crossing thresholds; each posted once."""

    every_days: int | None = Field(default=None, gt=0)
    event: str | None = None
    figure: str | None = None
    thresholds: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Milestone:
        if (self.every_days is None) == (self.figure is None):
            raise ValueError("give either every_days with event, or figure with thresholds")
        if self.every_days is not None and not self.event:
            raise ValueError("every_days needs the event to count from")
        if self.figure is not None and (
            not self.thresholds or self.thresholds != sorted(set(self.thresholds))
        ):
            raise ValueError("thresholds must be a rising list of numbers, e.g. [20000, 25000]")
        return self


class Day(_Timed):
    """A day the organisation marks every year, written MM-DD."""

    date: str
    name: Localized

    @field_validator("date")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(f"2024-{value}")  # a leap year, so 02-29 is allowed
        except ValueError:
            raise ValueError(f"{value!r} is not a day written MM-DD, e.g. 02-12") from None
        return value


class Admin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    telegram_chat: str = ""
    email: str = ""


class Schedule(BaseModel):
    """The whole schedule file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anniversary: list[Anniversary] = Field(default_factory=list)
    interval: list[Interval] = Field(default_factory=list)
    milestone: list[Milestone] = Field(default_factory=list)
    day: list[Day] = Field(default_factory=list)
    admin: Admin = Admin()


def load_schedule(path: Path) -> Schedule:
    """Load and validate the schedule; each problem with its line."""
    toml: TomlFile = load_toml(path)
    try:
        return Schedule.model_validate(toml.data)
    except ValidationError as exc:
        raise Problems(describe_validation_error(toml, exc)) from None


def cross_check(
    schedule: Schedule, settings: Settings, messages: set[str], figures: set[str], path: Path
) -> list[str]:
    """Problems only visible together with the other files: unknown messages, events, figures."""
    toml = load_toml(path)
    problems = []
    sections: list[tuple[str, list[Entry]]] = [
        ("anniversary", list(schedule.anniversary)),
        ("interval", list(schedule.interval)),
        ("milestone", list(schedule.milestone)),
        ("day", list(schedule.day)),
    ]
    for section, entries in sections:
        for index, entry in enumerate(entries):
            if entry.message not in messages:
                problems.append(
                    f"{toml.at(section, index, 'message')}: no message "
                    f"{entry.message!r} in messages/"
                )
            event = getattr(entry, "event", None)
            if event and event not in settings.file.events:
                problems.append(
                    f"{toml.at(section, index, 'event')}: no event {event!r} in "
                    "[events] of config/bot.toml"
                )
            figure = getattr(entry, "figure", None)
            if figure and figure not in figures:
                problems.append(f"{toml.at(section, index, 'figure')}: unknown figure {figure!r}")
    return problems

"""What a template can see: the figures for the occasion, its dates, the organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.config.figuredefs import FigureBook
from bot.config.settings import Localized, Settings
from bot.errors import MissingFigure
from bot.occasions import Anniversary, days_since
from bot.store.figures import StoredValue


@dataclass(frozen=True)
class FigureUse:
    """A figure a draft used: its value and provenance, or how it was derived."""

    slot: str  # how the template named it: figures.killed, year.arrested, difference(...)
    key: str
    value: int
    as_of: dt.date
    source: str
    period_start: dt.date | None = None
    derived_from: tuple[StoredValue, StoredValue] | None = None

    def describe(self) -> str:
        """One line for previews and publication records."""
        if self.derived_from:
            first, last = self.derived_from
            return (
                f"{self.slot} = {self.value} (derived: {last.value} as of {last.as_of} "
                f"minus {first.value} as of {first.as_of})"
            )
        when = f"{self.period_start}..{self.as_of}" if self.period_start else f"as of {self.as_of}"
        return f"{self.slot} = {self.value} ({when}, {self.source})"


class Derived(int):
    """A figure computed as the difference of two running totals, with the dates it spans."""

    since: dt.date
    until: dt.date

    def __new__(cls, value: int, since: dt.date, until: dt.date) -> Derived:
        derived = super().__new__(cls, value)
        derived.since, derived.until = since, until
        return derived


@dataclass
class Usage:
    """Records every figure a render touched, so a draft can say which numbers it carries."""

    used: dict[str, FigureUse] = field(default_factory=dict)

    def note(self, use: FigureUse) -> None:
        """Remember one use under its slot (e.g. `year.arrested`)."""
        self.used[use.slot] = use


class FigureSet:
    """`figures.killed` or `figures.sagaing.killed` in a template; missing values are errors."""

    def __init__(
        self,
        values: dict[str, StoredValue],
        book: FigureBook,
        usage: Usage,
        *,
        name: str,
        when: str,
        prefix: str = "",
    ) -> None:
        self._values = values
        self._book = book
        self._usage = usage
        self._name = name
        self._when = when
        self._prefix = prefix

    def __getattr__(self, attribute: str) -> int | FigureSet:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return self[attribute]

    def __getitem__(self, attribute: str) -> int | FigureSet:
        key = self._prefix + attribute
        if key not in self._book.figures:
            if any(known.startswith(key + ".") for known in self._book.figures):
                return FigureSet(
                    self._values,
                    self._book,
                    self._usage,
                    name=self._name,
                    when=self._when,
                    prefix=key + ".",
                )
            raise MissingFigure(f"unknown figure {self._name}.{key}{self._book.suggest(key)}")
        stored = self._values.get(key)
        if stored is None:
            raise MissingFigure(
                f"{self._name}.{key} has no value {self._when}; enter it with `bot figures set "
                f"{key}=…`" + (" --period START..END`" if self._name != "figures" else "")
            )
        self._usage.note(
            FigureUse(
                f"{self._name}.{key}",
                key,
                stored.value,
                stored.as_of,
                stored.source,
                stored.period_start,
            )
        )
        return stored.value

    def __str__(self) -> str:
        raise MissingFigure(
            f"{self._name}{'.' + self._prefix.rstrip('.') if self._prefix else ''} "
            "is a group of figures; name one, e.g. figures.killed"
        )


@dataclass(frozen=True)
class Occasion:
    """Why and when a message is composed: the local date, and the anniversary if it marks one."""

    message: str
    on: dt.date
    anniversary: Anniversary | None = None
    event_key: str | None = None
    # Set by the scheduler: the kind of occasion and what it marks (milestone, days).
    kind: str = "manual"
    planned_key: str | None = None
    days: int | None = None
    figure: str | None = None
    threshold: int | None = None
    names: tuple[Localized, ...] = ()

    @property
    def key(self) -> str:
        """The idempotency key of a publication for this occasion."""
        if self.planned_key:
            return self.planned_key
        if self.anniversary and self.event_key:
            return f"anniversary/{self.event_key}/{self.on.isoformat()}"
        return f"{self.message}/{self.on.isoformat()}"


def build_context(
    *,
    settings: Settings,
    book: FigureBook,
    occasion: Occasion,
    lang: str,
    running: dict[str, StoredValue],
    period: dict[str, StoredValue],
    history: dict[str, dict[dt.date, StoredValue]],
    usage: Usage,
) -> dict[str, Any]:
    """The variables a template renders with."""
    org = settings.file.organisation
    events = settings.file.events

    def difference(key: str, start: Any, end: Any) -> Derived:
        """A derived figure: the running total at `end` minus the one at `start`."""
        book.get(key)
        start_date, end_date = dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
        dated = history.get(key, {})

        def at(day: dt.date) -> StoredValue:
            candidates = [d for d in dated if d <= day]
            if not candidates:
                raise MissingFigure(f"difference({key!r}): no value of {key} on or before {day}")
            return dated[max(candidates)]

        first, last = at(start_date), at(end_date)
        if last.as_of <= first.as_of:
            # Both ends would be the same entry: "0 more" would be a claim, not a count.
            raise MissingFigure(
                f"difference({key!r}, {start_date}, {end_date}): no value of {key} was entered "
                f"after {first.as_of}, so there is nothing to compare"
            )
        value = Derived(last.value - first.value, first.as_of, last.as_of)
        usage.note(
            FigureUse(
                f"difference({key}, {start_date}, {end_date})",
                key,
                value,
                last.as_of,
                "derived",
                first.as_of,
                (first, last),
            )
        )
        return value

    def entered_between(key: str, start: Any, end: Any) -> bool:
        """Whether `difference(key, start, end)` has two entries to compare (a week with news)."""
        book.get(key)
        start_date, end_date = dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
        dated = history.get(key, {})
        before = [d for d in dated if d <= start_date]
        return bool(before) and any(start_date < d <= end_date for d in dated)

    def since(event: str = "coup") -> int:
        """Days since a configured event, counted in the configured time zone."""
        if event not in events:
            raise MissingFigure(f"days_since({event!r}): no such event in config/bot.toml")
        return days_since(events[event].date, occasion.on)

    when = f"as of {occasion.on}"
    context: dict[str, Any] = {
        "lang": lang,
        "on": occasion.on,
        "org": {
            "name": org.name.get(lang),
            "short_name": org.short_name,
            "website": org.website,
            "email": org.email,
            "links": dict(org.links),
        },
        "figures": FigureSet(running, book, usage, name="figures", when=when),
        "labels": {key: figure.label.get(lang) for key, figure in book.figures.items()},
        "events": {key: {"date": e.date, "name": e.name.get(lang)} for key, e in events.items()},
        "occasion": {
            "kind": occasion.kind,
            "days": occasion.days,
            "figure": occasion.figure,
            "threshold": occasion.threshold,
            "names": [name.get(lang) for name in occasion.names],
        },
        "days_since": since,
        "days_ago": lambda days: occasion.on - dt.timedelta(days=int(days)),
        "figures_date": max((v.as_of for v in running.values()), default=None),
        "difference": difference,
        "entered_between": entered_between,
    }
    if occasion.anniversary is not None:
        a = occasion.anniversary
        context["anniversary"] = {
            "number": a.number,
            "event": a.event,
            "on": a.on,
            "span_start": a.span_start,
            "span_end": a.span_end,
        }
        context["year"] = FigureSet(
            period, book, usage, name="year", when=f"for {a.span_start}..{a.span_end}"
        )
    return context

"""Reading back what was published."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.errors import BotError
from bot.store.schema import deliveries, editions, publications

if TYPE_CHECKING:
    from bot.app import App


@dataclass(frozen=True)
class Summary:
    """A publication in the history list."""

    id: int
    key: str
    created_at: dt.datetime
    retracted_at: dt.datetime | None
    channels: list[str]
    states: dict[str, int]

    def describe(self, when: str) -> str:
        """One line of `bot history` (and /history); `when` is the time as staff read it."""
        states = ", ".join(f"{n} {state}" for state, n in sorted(self.states.items()))
        retracted = " · RETRACTED" if self.retracted_at else ""
        return f"#{self.id}  {when}  {self.key}  [{', '.join(self.channels)}]  {states}{retracted}"


@dataclass(frozen=True)
class EditionInfo:
    """One stored edition."""

    id: int
    channel: str
    lang: str
    parts: int
    payload: dict[str, object]
    figures: list[str]


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery and what the platform answered."""

    id: int
    channel: str
    lang: str
    target: str
    state: str
    ids: list[str]
    error: str | None
    sent_at: dt.datetime | None
    retracted_at: dt.datetime | None
    edition_id: int


@dataclass(frozen=True)
class Detail:
    """A publication with its editions and deliveries."""

    id: int
    key: str
    message: str
    occasion_on: dt.date
    created_at: dt.datetime
    created_by: str
    retracted_at: dt.datetime | None
    retract_reason: str | None
    editions: list[EditionInfo]
    deliveries: list[DeliveryInfo]


def recent(engine: sa.Engine, limit: int) -> list[Summary]:
    """The newest publications with their delivery counts."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(publications).order_by(publications.c.id.desc()).limit(limit)
        ).all()
        out = []
        for row in rows:
            counts = conn.execute(
                sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count())
                .where(deliveries.c.publication_id == row.id)
                .group_by(deliveries.c.channel, deliveries.c.state)
            ).all()
            states: dict[str, int] = {}
            for _, state, number in counts:
                states[state] = states.get(state, 0) + int(number)
            channels = sorted({channel for channel, _, _ in counts})
            out.append(Summary(row.id, row.key, row.created_at, row.retracted_at, channels, states))
    return out


def detail(engine: sa.Engine, publication_id: int) -> Detail:
    """Everything about one publication; BotError if there is none with this number."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(publications).where(publications.c.id == publication_id)
        ).first()
        if row is None:
            raise BotError(f"there is no publication #{publication_id}; see `bot history`")
        edition_rows = conn.execute(
            sa.select(editions)
            .where(editions.c.publication_id == publication_id)
            .order_by(editions.c.id)
        ).all()
        langs = {e.id: e.lang for e in edition_rows}
        infos = []
        for e in edition_rows:
            payload = json.loads(e.payload)
            figures = [item["describe"] for item in json.loads(e.figures)]
            infos.append(
                EditionInfo(e.id, e.channel, e.lang, len(payload["parts"]), payload, figures)
            )
        delivery_rows = conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.publication_id == publication_id)
            .order_by(deliveries.c.id)
        ).all()
        found = [
            DeliveryInfo(
                d.id,
                d.channel,
                langs.get(d.edition_id, ""),
                d.target,
                d.state,
                json.loads(d.ids),
                d.error,
                d.sent_at,
                d.retracted_at,
                d.edition_id,
            )
            for d in delivery_rows
        ]
    return Detail(
        row.id,
        row.key,
        row.message,
        row.occasion_on,
        row.created_at,
        row.created_by,
        row.retracted_at,
        row.retract_reason,
        infos,
        found,
    )


def local_time(app: App, moment: dt.datetime) -> str:
    """A moment as staff read it: local time with the zone's name."""
    return moment.astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M %Z")

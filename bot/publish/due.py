"""What the sender reads from the outbox: the deliveries due on a channel, and when the next is.

A channel sends only the deliveries decided for what it is (`Channel.via`: the platform, or the
outbox folder when there are no credentials), so a post composed for the folder never reaches a
platform and one meant for the platform is not filed away by a run without keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from bot.store.schema import deliveries, editions, subscribers


@dataclass(frozen=True)
class Due:
    """A pending delivery with what is needed to send it."""

    id: int
    target: str
    ids: str
    attempts: int
    subscriber_id: int | None
    payload: str
    status: str | None
    token: str | None
    publication_id: int | None = None
    edition_id: int | None = None


def _pending(channel: str, publication_id: int | None) -> sa.ColumnElement[bool]:
    found = sa.and_(deliveries.c.channel == channel, deliveries.c.state == "pending")
    if publication_id is not None:
        found = sa.and_(found, deliveries.c.publication_id == publication_id)
    return found


def _meant_for(via: str) -> sa.ColumnElement[bool]:
    return sa.or_(deliveries.c.via.is_(None), deliveries.c.via == via)


def due(
    engine: sa.Engine,
    channel: str,
    via: str,
    publication_id: int | None,
    now: dt.datetime,
    limit: int,
) -> list[Due]:
    """The first `limit` deliveries on `channel` that may be sent now, in the order decided."""
    query = (
        sa.select(
            deliveries.c.id,
            deliveries.c.target,
            deliveries.c.ids,
            deliveries.c.attempts,
            deliveries.c.subscriber_id,
            editions.c.payload,
            subscribers.c.status,
            subscribers.c.token,
            deliveries.c.publication_id,
            deliveries.c.edition_id,
        )
        .join(editions, editions.c.id == deliveries.c.edition_id)
        .outerjoin(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(
            _pending(channel, publication_id),
            _meant_for(via),
            sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [Due(**row._mapping) for row in conn.execute(query)]


def next_due(
    engine: sa.Engine, channel: str, via: str, publication_id: int | None
) -> dt.datetime | None:
    """When the first delivery waiting on `channel` (after a rate limit or a failure) is due."""
    query = sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
        _pending(channel, publication_id), _meant_for(via)
    )
    with engine.connect() as conn:
        found: dt.datetime | None = conn.execute(query).scalar()
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=dt.UTC)
    return found


def waiting_elsewhere(
    engine: sa.Engine, vias: Mapping[str, str], publication_id: int | None
) -> dict[str, int]:
    """Per channel (name → what it is), its pending deliveries meant for the other kind."""
    out = {}
    for channel, via in vias.items():
        query = (
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(_pending(channel, publication_id), sa.not_(_meant_for(via)))
        )
        with engine.connect() as conn:
            count = int(conn.execute(query).scalar() or 0)
        if count:
            out[channel] = count
    return out

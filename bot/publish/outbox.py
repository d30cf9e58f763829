"""Creating publications and their deliveries, once per occasion, and reading them back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bot.channels import registry
from bot.channels.base import Payload
from bot.compose.context import Occasion
from bot.compose.drafts import Draft
from bot.store.schema import deliveries, editions, publications, subscribers

STATES = ("pending", "sending", "sent", "failed", "unknown", "cancelled")


@dataclass(frozen=True)
class Target:
    """Where the editions of one channel go, outside of subscriber fan-out."""

    channel: str
    target: str
    via: str = "platform"


@dataclass(frozen=True)
class Created:
    """What `publish` decided: the publication, and whether it already existed."""

    publication_id: int
    key: str
    existed: bool
    new_deliveries: int


def _payload(draft: Draft) -> Payload:
    return Payload(
        channel=draft.channel,
        lang=draft.lang,
        parts=draft.parts,
        subject=draft.subject,
        html=draft.html,
        card=draft.card,
    )


def _figures(draft: Draft) -> str:
    return json.dumps(
        [
            {
                "slot": use.slot,
                "value": use.value,
                "as_of": use.as_of.isoformat(),
                "period_start": use.period_start.isoformat() if use.period_start else None,
                "source": use.source,
                "describe": use.describe(),
            }
            for use in draft.figures
        ],
        ensure_ascii=False,
    )


def next_key(conn: sa.Connection, key: str) -> str:
    """`key#2`, `key#3`…: the first free key for a deliberate repeat (--again)."""
    taken = set(
        conn.execute(
            sa.select(publications.c.key).where(
                sa.or_(publications.c.key == key, publications.c.key.like(f"{key}#%"))
            )
        ).scalars()
    )
    number = 2
    while f"{key}#{number}" in taken:
        number += 1
    return f"{key}#{number}"


def publish(
    engine: sa.Engine,
    occasion: Occasion,
    drafts: Sequence[Draft],
    targets: Sequence[Target],
    *,
    now: dt.datetime,
    created_by: str,
    again: bool = False,
    via: Mapping[str, str] | None = None,
    topic: str = "statements",
) -> Created:
    """Record the publication and one delivery per target (and per subscriber for email).

    Idempotent: for an occasion already published, only deliveries that do not exist yet are
    added (a channel or language not sent before); with `again`, a new publication is made.
    `via` says, per channel, whether its subscribers' deliveries go to the platform or to the
    outbox folder.
    """
    fan = _Fan(topic, dict(via or {}))
    try:
        return _publish(engine, occasion, drafts, targets, now, created_by, again, fan)
    except sa.exc.IntegrityError:
        # Another process created the same publication a moment ago (SQLite has no advisory
        # lock): the second attempt finds it and only adds what is missing.
        return _publish(engine, occasion, drafts, targets, now, created_by, again, fan)


@dataclass(frozen=True)
class _Fan:
    topic: str
    via: dict[str, str]


def _publish(
    engine: sa.Engine,
    occasion: Occasion,
    drafts: Sequence[Draft],
    targets: Sequence[Target],
    now: dt.datetime,
    created_by: str,
    again: bool,
    fan: _Fan,
) -> Created:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two "post now" at once must not both create the publication.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242002)"))
        key = occasion.key
        found = conn.execute(sa.select(publications.c.id).where(publications.c.key == key)).scalar()
        existed = found is not None
        if existed and again:
            key, found, existed = next_key(conn, key), None, False
        if found is None:
            found = conn.execute(
                publications.insert().values(
                    key=key,
                    message=occasion.message,
                    occasion_on=occasion.on,
                    created_at=now,
                    created_by=created_by,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        publication_id = int(found)
        added = 0
        for draft in drafts:
            edition_id = _edition(conn, publication_id, draft)
            for target in targets:
                if target.channel != draft.channel:
                    continue
                added += _add_delivery(conn, publication_id, edition_id, target, now)
            if registry.spec(draft.channel).subscribers:
                channel_via = fan.via.get(draft.channel, "platform")
                added += _fan_out(
                    conn, publication_id, edition_id, draft, fan.topic, now, channel_via
                )
    return Created(publication_id, key, existed, added)


def _edition(conn: sa.Connection, publication_id: int, draft: Draft) -> int:
    found = conn.execute(
        sa.select(editions.c.id).where(
            editions.c.publication_id == publication_id,
            editions.c.channel == draft.channel,
            editions.c.lang == draft.lang,
        )
    ).scalar()
    if found is not None:
        # The first composition stands: a repeat must not change what is (being) sent.
        return int(found)
    if draft.card is not None:
        # The card's file first (content-addressed, written once): a stored edition always
        # names a card that is on disk, and a failed commit leaves only an unused file.
        draft.card.save()
    result = conn.execute(
        editions.insert().values(
            publication_id=publication_id,
            channel=draft.channel,
            lang=draft.lang,
            payload=json.dumps(_payload(draft).to_json(), ensure_ascii=False),
            figures=_figures(draft),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _add_delivery(
    conn: sa.Connection,
    publication_id: int,
    edition_id: int,
    target: Target,
    now: dt.datetime,
) -> int:
    exists = conn.execute(
        sa.select(deliveries.c.id).where(
            deliveries.c.publication_id == publication_id,
            deliveries.c.channel == target.channel,
            deliveries.c.target == target.target,
            deliveries.c.edition_id == edition_id,
        )
    ).scalar()
    if exists is not None:
        return 0
    conn.execute(
        deliveries.insert().values(
            publication_id=publication_id,
            edition_id=edition_id,
            channel=target.channel,
            target=target.target,
            state="pending",
            attempts=0,
            ids="[]",
            updated_at=now,
            via=target.via,
        )
    )
    return 1


def _fan_out(
    conn: sa.Connection,
    publication_id: int,
    edition_id: int,
    draft: Draft,
    topic: str,
    now: dt.datetime,
    via: str,
) -> int:
    """One delivery per active subscriber of this channel, language and topic.

    One INSERT … SELECT: the list of people never passes through memory, however long it is.
    """
    already = sa.select(deliveries.c.subscriber_id).where(
        deliveries.c.publication_id == publication_id,
        deliveries.c.channel == draft.channel,
        deliveries.c.subscriber_id.is_not(None),
    )
    # Topics are stored "a,b,c"; match whole names only.
    wants = (sa.literal(",") + subscribers.c.topics + sa.literal(",")).like(f"%,{topic},%")
    chosen = (
        sa.select(
            sa.literal(publication_id),
            sa.literal(edition_id),
            sa.literal(draft.channel),
            subscribers.c.address,
            subscribers.c.id,
            sa.literal("pending"),
            sa.literal(0),
            sa.literal("[]"),
            sa.literal(now, type_=deliveries.c.updated_at.type),
            sa.literal(via),
        )
        .where(
            subscribers.c.channel == draft.channel,
            subscribers.c.status == "active",
            subscribers.c.lang == draft.lang,
            wants,
            subscribers.c.id.not_in(already),
        )
        .order_by(subscribers.c.id)
    )
    result = conn.execute(
        deliveries.insert()
        .from_select(
            [
                "publication_id",
                "edition_id",
                "channel",
                "target",
                "subscriber_id",
                "state",
                "attempts",
                "ids",
                "updated_at",
                "via",
            ],
            chosen,
        )
        # SQLAlchemy keeps the row count of an INSERT only when asked (on PostgreSQL it was
        # -1, so post-now reported the emails queued as 0 new deliveries).
        .execution_options(preserve_rowcount=True)
    )
    return max(result.rowcount or 0, 0)


def counts(conn: sa.Connection, publication_id: int) -> dict[str, int]:
    """How many deliveries of a publication are in each state."""
    rows = conn.execute(
        sa.select(deliveries.c.state, sa.func.count())
        .where(deliveries.c.publication_id == publication_id)
        .group_by(deliveries.c.state)
    )
    return {state: int(number) for state, number in rows}

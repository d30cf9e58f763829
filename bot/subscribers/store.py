"""Adding, confirming, unsubscribing and erasing subscribers, with anonymous counts.

Every change that concerns a person also bumps a counter in `subscriber_stats` (per day,
channel, language and event), so the organisation keeps its numbers after a person is erased.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from bot.store.schema import ERASED, confirm_tokens, deliveries, subscriber_stats, subscribers
from bot.store.sealing import sealer_of
from bot.subscribers.choices import LANGS, TOPICS, channels

__all__ = ["LANGS", "TOPICS", "channels"]
BATCH = 1000


@dataclass(frozen=True)
class Subscriber:
    """One subscriber as stored."""

    id: int
    channel: str
    address: str
    lang: str
    status: str
    topics: tuple[str, ...]
    token: str
    created_at: dt.datetime


def _row(row: sa.Row[tuple[object, ...]]) -> Subscriber:
    m = row._mapping
    return Subscriber(
        m["id"],
        m["channel"],
        m["address"],
        m["lang"],
        m["status"],
        tuple(t for t in str(m["topics"]).split(",") if t),
        m["token"],
        m["created_at"],
    )


def new_token() -> str:
    """An unguessable secret for a subscriber's links (256 bits)."""
    return secrets.token_urlsafe(32)


def count_event(conn: sa.Connection, now: dt.datetime, channel: str, lang: str, event: str) -> None:
    """Add one to today's anonymous counter for this event."""
    key = (
        (subscriber_stats.c.day == now.date())
        & (subscriber_stats.c.channel == channel)
        & (subscriber_stats.c.lang == lang)
        & (subscriber_stats.c.event == event)
    )
    updated = conn.execute(
        subscriber_stats.update().where(key).values(count=subscriber_stats.c.count + 1)
    )
    if updated.rowcount == 0:
        conn.execute(
            subscriber_stats.insert().values(
                day=now.date(), channel=channel, lang=lang, event=event, count=1
            )
        )


def by_address(conn: sa.Connection, channel: str, address: str) -> Subscriber | None:
    """The subscriber with this address on this channel, if any, within a transaction.

    Every look-up by address goes through here (and `find`): addresses are stored sealed, so
    a person is found by the keyed hash of their address, under each key of the ring (a row
    not yet sealed again during a rotation carries the old key's hash).
    """
    row = conn.execute(
        sa.select(subscribers).where(
            subscribers.c.channel == channel,
            subscribers.c.address_hash.in_(sealer_of(conn).lookups(address)),
        )
    ).first()
    return _row(row) if row else None


def find(engine: sa.Engine, channel: str, address: str) -> Subscriber | None:
    """The subscriber with this address on this channel, if any."""
    with engine.connect() as conn:
        return by_address(conn, channel, address)


def by_id(engine: sa.Engine, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, if any."""
    with engine.connect() as conn:
        return by_id_in(conn, subscriber_id)


def by_id_in(conn: sa.Connection, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, if any, within a transaction."""
    row = conn.execute(sa.select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return _row(row) if row else None


def by_token(engine: sa.Engine, token: str) -> Subscriber | None:
    """The subscriber whose links carry this token, if any."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(subscribers).where(subscribers.c.token == token)).first()
    return _row(row) if row else None


def add(
    engine: sa.Engine,
    channel: str,
    address: str,
    lang: str,
    topics: tuple[str, ...],
    now: dt.datetime,
    *,
    confirmed: bool,
) -> tuple[Subscriber, bool]:
    """Add a subscriber (or update the choices of a returning one); True if new or re-joined.

    A confirmed subscription is active at once; an unconfirmed one waits as `pending`.
    """
    with engine.begin() as conn:
        return add_in(conn, channel, address, lang, topics, now, confirmed=confirmed)


def add_in(
    conn: sa.Connection,
    channel: str,
    address: str,
    lang: str,
    topics: tuple[str, ...],
    now: dt.datetime,
    *,
    confirmed: bool,
) -> tuple[Subscriber, bool]:
    """`add` within the caller's transaction."""
    if channel not in channels() or lang not in LANGS or not topics or set(topics) - set(TOPICS):
        raise ValueError(f"bad subscription: channel {channel!r}, lang {lang!r}, topics {topics!r}")
    status = "active" if confirmed else "pending"
    current = by_address(conn, channel, address)
    values: dict[str, object] = {"lang": lang, "topics": ",".join(topics), "updated_at": now}
    if current is None:
        conn.execute(
            subscribers.insert().values(
                channel=channel,
                address=address,
                status=status,
                token=new_token(),
                created_at=now,
                confirmed_at=now if confirmed else None,
                **values,
            )
        )
        count_event(conn, now, channel, lang, "subscribed")
        fresh = True
    else:
        fresh = current.status != "active"
        if fresh:
            values["status"] = status
            if confirmed:
                values["confirmed_at"] = now
            count_event(conn, now, channel, lang, "subscribed")
        conn.execute(subscribers.update().where(subscribers.c.id == current.id).values(**values))
    found = by_address(conn, channel, address)
    assert found is not None  # just written in this transaction
    return found, fresh


def _set_status(
    engine: sa.Engine, subscriber_id: int, status: str, now: dt.datetime, **extra: object
) -> bool:
    """Move a person to `status` (counted once); False if unknown or already there."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(subscribers).where(subscribers.c.id == subscriber_id)).first()
        if row is None or row.status == status:
            return False
        conn.execute(
            subscribers.update()
            .where(subscribers.c.id == subscriber_id)
            .values(status=status, updated_at=now, **extra)
        )
        # A confirmation link sent earlier must not bring back someone who left.
        conn.execute(confirm_tokens.delete().where(confirm_tokens.c.subscriber_id == subscriber_id))
        count_event(conn, now, row.channel, row.lang, status)
    return True


def unsubscribe(engine: sa.Engine, subscriber_id: int, now: dt.datetime) -> bool:
    """Stop sending to this person; True if they were subscribed."""
    return _set_status(engine, subscriber_id, "unsubscribed", now, unsubscribed_at=now)


def deactivate(engine: sa.Engine, subscriber_id: int, now: dt.datetime) -> None:
    """The platform refuses this person (blocked the bot, address gone): stop trying."""
    _set_status(engine, subscriber_id, "blocked", now)


def erase(engine: sa.Engine, channel: str, address: str, now: dt.datetime) -> bool:
    """Delete the person; their deliveries keep only that someone was sent something."""
    with engine.begin() as conn:
        row = by_address(conn, channel, address)
        if row is None:
            return False
        forget(conn, row, now, "erased")
    return True


def forget(conn: sa.Connection, person: Subscriber, now: dt.datetime, event: str) -> None:
    """Delete one person within a transaction; their deliveries keep no trace of them."""
    conn.execute(
        deliveries.update()
        .where(deliveries.c.subscriber_id == person.id)
        .values(
            subscriber_id=None,
            target=erased_target(),
            state=sa.case((deliveries.c.state == "pending", "cancelled"), else_=deliveries.c.state),
        )
    )
    conn.execute(confirm_tokens.delete().where(confirm_tokens.c.subscriber_id == person.id))
    conn.execute(subscribers.delete().where(subscribers.c.id == person.id))
    count_event(conn, now, person.channel, person.lang, event)


def erased_target() -> sa.ColumnElement[str]:
    """What a delivery's target becomes once its person is gone: "(erased)#ID", unique per
    delivery (a publication's deliveries are unique by target) and naming nobody."""
    return sa.literal(ERASED + "#") + sa.cast(deliveries.c.id, sa.String)


def stream(
    engine: sa.Engine, channel: str | None = None, status: str | None = None
) -> Iterator[Subscriber]:
    """Every subscriber, read in batches so a long list never sits in memory at once."""
    last = 0
    while True:
        query = (
            sa.select(subscribers)
            .where(subscribers.c.id > last)
            .order_by(subscribers.c.id)
            .limit(BATCH)
        )
        if channel:
            query = query.where(subscribers.c.channel == channel)
        if status:
            query = query.where(subscribers.c.status == status)
        with engine.connect() as conn:
            rows = [_row(row) for row in conn.execute(query)]
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def counts(engine: sa.Engine) -> dict[tuple[str, str, str], int]:
    """(channel, status, lang) → number of people."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                subscribers.c.channel, subscribers.c.status, subscribers.c.lang, sa.func.count()
            ).group_by(subscribers.c.channel, subscribers.c.status, subscribers.c.lang)
        )
        return {(c, s, lang): int(n) for c, s, lang, n in rows}

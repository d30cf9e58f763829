"""Retention: people's data deleted after its period, anonymous counts kept.

An unsubscribed (or refused) person is deleted `unsubscribed_days` after they left, like an
erasure (their deliveries keep "(erased)#ID"); a finished delivery's target (a sealed address
or chat id) is replaced by "(erased)#ID" after `delivery_targets_days`. Unconfirmed sign-ups
are deleted by `pending.expire` after 7 days. Work goes in batches, each its own transaction,
so a long list never holds a lock for long and an interrupted run simply runs again.
`bot run` applies it once a day (the date is kept in `control`), `bot subscribers purge` at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from bot.config.settings import Retention
from bot.store.schema import ERASED, control, deliveries, subscribers
from bot.subscribers import pending, store

BATCH = 500
LAST_RUN = "retention"
FINISHED = ("sent", "failed", "unknown", "cancelled")


@dataclass(frozen=True)
class Purged:
    """What one run deleted or blanked."""

    people: int
    targets: int
    unconfirmed: int


def purge(engine: sa.Engine, rules: Retention, now: dt.datetime) -> Purged:
    """Apply every retention period now."""
    unconfirmed = pending.expire(engine, now)
    people = _people(engine, now - dt.timedelta(days=rules.unsubscribed_days), now)
    targets = _targets(engine, now - dt.timedelta(days=rules.delivery_targets_days))
    with engine.begin() as conn:
        _mark(conn, now)
    return Purged(people, targets, unconfirmed)


def purge_daily(engine: sa.Engine, rules: Retention, now: dt.datetime) -> Purged | None:
    """`purge`, if it has not run yet today (UTC); None when it had."""
    with engine.connect() as conn:
        last = conn.execute(sa.select(control.c.value).where(control.c.name == LAST_RUN)).scalar()
    if last == now.date().isoformat():
        return None
    return purge(engine, rules, now)


def _people(engine: sa.Engine, before: dt.datetime, now: dt.datetime) -> int:
    gone = subscribers.c.status.in_(("unsubscribed", "blocked"))
    left = sa.func.coalesce(subscribers.c.unsubscribed_at, subscribers.c.updated_at)
    deleted = 0
    while True:
        with engine.begin() as conn:
            ids = list(
                conn.execute(
                    sa.select(subscribers.c.id).where(gone, left <= before).limit(BATCH)
                ).scalars()
            )
            for subscriber_id in ids:
                person = store.by_id_in(conn, subscriber_id)
                if person is not None:
                    store.forget(conn, person, now, "purged")
        deleted += len(ids)
        if len(ids) < BATCH:
            return deleted


def _targets(engine: sa.Engine, before: dt.datetime) -> int:
    personal = deliveries.c.subscriber_id.is_not(None) | deliveries.c.target.like("s1.%")
    old = sa.func.coalesce(deliveries.c.sent_at, deliveries.c.updated_at) <= before
    blanked = 0
    while True:
        with engine.begin() as conn:
            ids = list(
                conn.execute(
                    sa.select(deliveries.c.id)
                    .where(
                        personal,
                        old,
                        deliveries.c.state.in_(FINISHED),
                        sa.not_(deliveries.c.target.startswith(ERASED)),
                    )
                    .limit(BATCH)
                ).scalars()
            )
            if ids:
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id.in_(ids))
                    .values(target=store.erased_target())
                )
        blanked += len(ids)
        if len(ids) < BATCH:
            return blanked


def _mark(conn: sa.Connection, now: dt.datetime) -> None:
    day = now.date().isoformat()
    if (
        conn.execute(
            control.update().where(control.c.name == LAST_RUN).values(value=day, updated_at=now)
        ).rowcount
        == 0
    ):
        conn.execute(control.insert().values(name=LAST_RUN, value=day, updated_at=now))

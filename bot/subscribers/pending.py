"""Pending sign-ups: their confirmation tokens (only hashes are stored), confirming, expiry.

A person stays `pending` until they press the button behind the link in their confirmation
email. A token works for CONFIRM_DAYS; a sign-up not confirmed by then is deleted (counted as
`expired` in the anonymous statistics), so the list holds no address its owner never
confirmed. A token is kept until it expires, so opening a used link again only says that the
subscription is confirmed; an unsubscribe or an erasure deletes the person's tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from bot.store.schema import confirm_tokens, subscribers
from bot.subscribers import store
from bot.subscribers.tokens import CONFIRM_DAYS, is_confirm_token, new_confirm_token, token_hash

LIFETIME = dt.timedelta(days=CONFIRM_DAYS)
BATCH = 500


@dataclass(frozen=True)
class Link:
    """What a confirmation link stands for now.

    `state`: unknown (never made, cut, or of a person since deleted), expired, pending (the
    button may be pressed), confirmed (already active), gone (left, or the address refused).
    """

    state: str
    person: store.Subscriber | None = None


def issue(conn: sa.Connection, subscriber_id: int, now: dt.datetime) -> str:
    """A new confirmation token for this person, within the caller's transaction."""
    token = new_confirm_token()
    conn.execute(
        confirm_tokens.insert().values(
            token_hash=token_hash(token),
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return token


def withdraw(engine: sa.Engine, token: str) -> None:
    """Forget a token whose email surely did not go out."""
    with engine.begin() as conn:
        conn.execute(
            confirm_tokens.delete().where(confirm_tokens.c.token_hash == token_hash(token))
        )


def _look(conn: sa.Connection, token: str, now: dt.datetime) -> Link:
    if not is_confirm_token(token):
        return Link("unknown")
    row = conn.execute(
        sa.select(confirm_tokens.c.subscriber_id, confirm_tokens.c.expires_at).where(
            confirm_tokens.c.token_hash == token_hash(token)
        )
    ).first()
    if row is None:
        return Link("unknown")
    person = store.by_id_in(conn, row.subscriber_id)
    if person is None:
        return Link("unknown")
    if person.status == "active":
        return Link("confirmed", person)
    if person.status != "pending":
        return Link("gone", person)
    expires_at = row.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    return Link("expired", person) if expires_at <= now else Link("pending", person)


def look(engine: sa.Engine, token: str, now: dt.datetime) -> Link:
    """What this link would do, without doing it (opening the link shows a button)."""
    with engine.connect() as conn:
        return _look(conn, token, now)


def confirm(engine: sa.Engine, token: str, now: dt.datetime) -> Link:
    """Activate the pending person this token belongs to; the link's state afterwards.

    `confirmed` when it is done (now or before); nothing changes in any other state.
    """
    with engine.begin() as conn:
        link = _look(conn, token, now)
        if link.state != "pending" or link.person is None:
            return link
        person = link.person
        done = conn.execute(
            subscribers.update()
            .where(subscribers.c.id == person.id, subscribers.c.status == "pending")
            .values(status="active", confirmed_at=now, updated_at=now)
        )
        if done.rowcount == 1:
            store.count_event(conn, now, person.channel, person.lang, "confirmed")
        return Link("confirmed", person)


def expire(engine: sa.Engine, now: dt.datetime) -> int:
    """Delete sign-ups not confirmed in time, and tokens past their day; how many people."""
    cutoff = now - LIFETIME
    live = sa.select(confirm_tokens.c.subscriber_id).where(confirm_tokens.c.expires_at > now)
    stale = (
        sa.select(subscribers.c.id)
        .where(
            subscribers.c.status == "pending",
            sa.func.coalesce(subscribers.c.updated_at, subscribers.c.created_at) <= cutoff,
            subscribers.c.id.not_in(live),
        )
        .limit(BATCH)
    )
    deleted = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(stale).scalars())
            for subscriber_id in ids:
                person = store.by_id_in(conn, subscriber_id)
                if person is not None:
                    store.forget(conn, person, now, "expired")
            # Expired tokens are kept one more lifetime, to tell a late reader "expired".
            conn.execute(confirm_tokens.delete().where(confirm_tokens.c.expires_at <= cutoff))
        deleted += len(ids)
        if len(ids) < BATCH:
            return deleted

"""The sign-up queue: requests written by the web page within limits, handled by `bot run`.

The web page does the same work for every valid request, whatever the address: it counts and
writes one row. Whether the address is new, pending, active or unsubscribed is decided later,
by the confirmation sender (bot/subscribers/confirmations.py), so neither the answer nor the
time it takes can tell who is subscribed.

The limits are counted here, in the database, so restarts and several web processes share
them: per client network, per address (normalised), per recipient domain, and one cap on all
requests of the hour. Their keys are keyed hashes (`Tokens.key`); the address itself is kept
only until the request is handled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from bot.config.settings import SignupLimits
from bot.store.schema import signup_requests
from bot.subscribers.signup import Signup, client_network, domain_of, same_person
from bot.subscribers.tokens import CONFIRM_DAYS, Tokens

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Handled requests are kept as long as the longest window counts them, then deleted.
KEEP = dt.timedelta(days=2)
# Requests `bot run` never got to (it was down) are dropped when their link would be dead.
UNHANDLED = dt.timedelta(days=CONFIRM_DAYS)
FINAL = ("sent", "skipped", "failed", "unknown")
# One number for PostgreSQL's advisory lock around "count, then write" (figures use 4242001).
_LOCK = 4242007


@dataclass(frozen=True)
class Keys:
    """What the limits count a request under (keyed hashes)."""

    client: str | None
    address: str
    domain: str


@dataclass(frozen=True)
class Request:
    """A queued sign-up, as the confirmation sender reads it."""

    id: int
    address: str
    lang: str
    topics: tuple[str, ...]
    attempts: int


class _Over(Exception):
    """A limit is reached: the transaction is rolled back, nothing is written."""


def keys_for(tokens: Tokens, address: str, client: str | None) -> Keys:
    """The limit keys of a request for `address` from `client` (its IP, or None: staff)."""
    return Keys(
        tokens.key("client", client_network(client)) if client is not None else None,
        tokens.key("address", same_person(address)),
        tokens.key("domain", domain_of(address)),
    )


def enqueue(
    engine: sa.Engine,
    signup: Signup,
    keys: Keys,
    limits: SignupLimits,
    now: dt.datetime,
    source: str = "web",
) -> bool:
    """Queue a request; False (and nothing written) when a limit of the web page is reached.

    The row is written first and then counted with the others in the same transaction, so two
    processes racing for the last place cannot both take it: SQLite lets one writer in at a
    time, PostgreSQL waits on an advisory lock. Staff imports (`source="import"`) are not
    counted against the page's limits.
    """
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
            conn.execute(
                signup_requests.insert().values(
                    source=source,
                    address=signup.address,
                    lang=signup.lang,
                    topics=",".join(signup.topics),
                    client_key=keys.client,
                    address_key=keys.address,
                    domain_key=keys.domain,
                    created_at=now,
                    state="queued",
                    attempts=0,
                    updated_at=now,
                )
            )
            if source == "web" and _over(conn, keys, limits, now):
                raise _Over
    except _Over:
        return False
    return True


def _over(conn: sa.Connection, keys: Keys, limits: SignupLimits, now: dt.datetime) -> bool:
    # One pass over the day's requests answers all four counts: the same work every time.
    c = signup_requests.c
    hour = c.created_at > now - HOUR

    def count(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    row = conn.execute(
        sa.select(
            count(c.client_key == keys.client, hour),
            count(c.address_key == keys.address),
            count(c.domain_key == keys.domain, hour),
            count(hour),
        ).where(c.source == "web", c.created_at > now - DAY)
    ).one()
    client, address, domain, total = (int(value) for value in row)
    return (
        (keys.client is not None and client > limits.per_client_per_hour)
        or address > limits.per_address_per_day
        or domain > limits.per_domain_per_hour
        or total > limits.mails_per_hour
    )


def due(engine: sa.Engine, now: dt.datetime, limit: int) -> list[Request]:
    """The first `limit` queued requests that may be handled now, oldest first."""
    c = signup_requests.c
    query = (
        sa.select(c.id, c.address, c.lang, c.topics, c.attempts)
        .where(
            c.state == "queued",
            c.address.is_not(None),
            sa.or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        )
        .order_by(c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            Request(row.id, row.address, row.lang, tuple(row.topics.split(",")), row.attempts)
            for row in conn.execute(query)
        ]


def claim(conn: sa.Connection, request_id: int, now: dt.datetime) -> bool:
    """Take a queued request (`sending`) within the caller's transaction; False if taken."""
    taken = conn.execute(
        signup_requests.update()
        .where(signup_requests.c.id == request_id, signup_requests.c.state == "queued")
        .values(state="sending", updated_at=now)
    )
    return taken.rowcount == 1


def finish(
    conn: sa.Connection, request_id: int, state: str, now: dt.datetime, detail: str | None = None
) -> None:
    """Record the end of a request; its address is no longer needed and is cleared."""
    conn.execute(
        signup_requests.update()
        .where(signup_requests.c.id == request_id)
        .values(state=state, address=None, detail=detail, updated_at=now)
    )


def again(
    engine: sa.Engine, request_id: int, attempts: int, at: dt.datetime, now: dt.datetime, why: str
) -> None:
    """Put a request back in the queue, to be tried at `at`."""
    with engine.begin() as conn:
        conn.execute(
            signup_requests.update()
            .where(signup_requests.c.id == request_id)
            .values(
                state="queued", attempts=attempts, next_attempt_at=at, detail=why, updated_at=now
            )
        )


def recover(engine: sa.Engine, now: dt.datetime) -> int:
    """Requests left `sending` by a process that stopped: the email may have gone; `unknown`."""
    with engine.begin() as conn:
        found = conn.execute(
            signup_requests.update()
            .where(signup_requests.c.state == "sending")
            .values(
                state="unknown",
                address=None,
                detail="the process stopped while sending",
                updated_at=now,
            )
        )
    return int(found.rowcount)


def sweep(engine: sa.Engine, now: dt.datetime) -> int:
    """Delete requests no limit counts any more, and ones never handled in time."""
    c = signup_requests.c
    with engine.begin() as conn:
        done = conn.execute(
            signup_requests.delete().where(c.state.in_(FINAL), c.created_at <= now - KEEP)
        )
        stale = conn.execute(signup_requests.delete().where(c.created_at <= now - UNHANDLED))
    return int(done.rowcount) + int(stale.rowcount)

"""What the public archive shows: publications that went out and were not retracted.

A publication is public once one of its deliveries reached a platform (state `sent`, not via
the outbox folder, not retracted) and the publication itself is not retracted. A post that
only went into `var/outbox/` (no credentials, or a rehearsal) was never published, so it is
not shown. The text shown is the fullest edition (each channel declares its `archive_rank`:
email's full statement, then Telegram's with its markup dropped, then X's), in the reader's
language when there is one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bot.channels import registry
from bot.store.schema import deliveries, editions, publications

MAX_TITLE = 140
# The channels whose text the archive can show, fullest first.
_RANK = {s.name: s.archive_rank for s in registry.REGISTRY if s.archive_rank is not None}


@dataclass(frozen=True)
class Post:
    """One published post, as the archive shows it."""

    id: int
    lang: str
    title: str
    text: str
    published: dt.datetime
    # The figure card of the edition shown (its sha256 and alt text), for og:image.
    card: str | None = None
    card_alt: str = ""


def _public() -> sa.Select[int, dt.datetime]:
    """(publication id, first time it went out) of every public publication."""
    first = sa.func.min(sa.func.coalesce(deliveries.c.sent_at, deliveries.c.updated_at))
    return (
        sa.select(deliveries.c.publication_id, first.label("first"))
        .join(publications, publications.c.id == deliveries.c.publication_id)
        .where(
            deliveries.c.state == "sent",
            deliveries.c.retracted_at.is_(None),
            sa.or_(deliveries.c.via.is_(None), deliveries.c.via == "platform"),
            publications.c.retracted_at.is_(None),
        )
        .group_by(deliveries.c.publication_id)
    )


def listing(engine: sa.Engine, lang: str, limit: int, before: int | None = None) -> list[Post]:
    """The newest public posts (older than publication `before`, for the next page)."""
    query = _public().order_by(deliveries.c.publication_id.desc()).limit(limit)
    if before is not None:
        query = query.where(deliveries.c.publication_id < before)
    with engine.connect() as conn:
        found = [(int(pid), first) for pid, first in conn.execute(query)]
        return _posts(conn, found, lang)


def one(engine: sa.Engine, publication_id: int, lang: str) -> Post | None:
    """The public post with this number, if it is public."""
    query = _public().where(deliveries.c.publication_id == publication_id)
    with engine.connect() as conn:
        found = [(int(pid), first) for pid, first in conn.execute(query)]
        posts = _posts(conn, found, lang)
    return posts[0] if posts else None


def _posts(conn: sa.Connection, found: Sequence[tuple[int, dt.datetime]], lang: str) -> list[Post]:
    if not found:
        return []
    rows = conn.execute(
        sa.select(
            editions.c.publication_id, editions.c.channel, editions.c.lang, editions.c.payload
        )
        .where(
            editions.c.publication_id.in_([pid for pid, _ in found]),
            editions.c.channel.in_(list(_RANK)),
        )
        .order_by(editions.c.id)
    ).all()
    best: dict[int, tuple[tuple[int, int], str, str, dict[str, object]]] = {}
    for pid, channel, edition_lang, payload in rows:
        # The reader's language first, then the fullest text.
        rank = (0 if edition_lang == lang else 1, _RANK[channel])
        if pid not in best or rank < best[pid][0]:
            best[pid] = (rank, channel, edition_lang, json.loads(payload))
    posts = []
    for pid, first in found:
        if pid not in best:
            continue
        _, channel, edition_lang, payload = best[pid]
        text = _text(channel, payload)
        subject = payload.get("subject")
        title = str(subject) if subject else _first_line(text)
        card = payload.get("card")
        sha, alt = (card.get("sha256"), card.get("alt")) if isinstance(card, dict) else (None, "")
        posts.append(Post(pid, edition_lang, title, text, first, _hex(sha), str(alt or "")))
    return posts


def card_is_public(engine: sa.Engine, sha256: str) -> bool:
    """Whether a public post carries the card with this hash (only those are served)."""
    public = _public().subquery()
    # The stored payload spells the hash out as `"sha256": "…"` (json.dumps' separators).
    mention = f'%"sha256": "{sha256}"%'
    query = (
        sa.select(editions.c.id)
        .join(public, public.c.publication_id == editions.c.publication_id)
        .where(editions.c.payload.like(mention))
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def _hex(value: object) -> str | None:
    text = str(value) if value else ""
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def _text(channel: str, payload: dict[str, object]) -> str:
    raw = payload.get("parts")
    parts = [str(part) for part in raw] if isinstance(raw, list) else []
    return registry.spec(channel).plain_text(parts)


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= MAX_TITLE else line[: MAX_TITLE - 1].rstrip() + "…"

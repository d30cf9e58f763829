"""Confirm / Cancel for staff commands that change something, kept in the database.

Each question is bound to the staff member who asked, the chat it was asked in and an expiry,
and stored (table `staff_confirmations`) with what Confirm does as JSON, so a restart of
`bot run` keeps it valid until it expires. The buttons carry only a random token
(`adm:<token>:yes`), never the action: callback data comes back from the client and anyone can
send any, so it is only a key to look up, and only its SHA-256 is stored. A decision deletes
the row in the same statement that checks the person and chat, so however many presses arrive
(in one process or two), one of them acts.

Every function here reaches the database: the caller runs it in a worker thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.figures.entries import Entry
from bot.store.schema import staff_confirmations as table
from bot.telegram_bot.staff_figures import FiguresAction

PREFIX = "adm:"
TTL = dt.timedelta(minutes=10)
_DATA = re.compile(r"^adm:([A-Za-z0-9_-]{16}):(yes|no)$")

Kind = Literal["post", "figures"]
Refusal = Literal["unknown", "expired", "not_yours"]


@dataclass(frozen=True)
class Decision:
    """What a press decided: the stored action with yes/no, or why nothing happens."""

    confirmed: bool = False
    kind: Kind | None = None
    action: dict[str, Any] | None = None
    refusal: Refusal | None = None
    # Who may decide, for the answer to someone else's press.
    owner: int | None = None


class Confirmations:
    """The pending questions, in the database."""

    def __init__(
        self, engine: sa.Engine, clock: Callable[[], dt.datetime], ttl: dt.timedelta = TTL
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ttl = ttl

    def ask(
        self, kind: Kind, action: dict[str, Any], user_id: int, chat_id: int
    ) -> InlineKeyboardMarkup:
        """Keep `action` for `user_id` in `chat_id`; the Confirm / Cancel buttons for it."""
        now = self._clock()
        token = secrets.token_urlsafe(12)  # 16 characters
        with self._engine.begin() as conn:
            # Forget what was never decided, so the table does not grow for ever.
            conn.execute(sa.delete(table).where(table.c.expires_at <= now))
            conn.execute(
                sa.insert(table).values(
                    token_hash=_hash(token),
                    user_id=user_id,
                    chat_id=chat_id,
                    kind=kind,
                    action=json.dumps(action, ensure_ascii=False),
                    created_at=now,
                    expires_at=now + self._ttl,
                )
            )
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Confirm", callback_data=f"{PREFIX}{token}:yes"),
                    InlineKeyboardButton("Cancel", callback_data=f"{PREFIX}{token}:no"),
                ]
            ]
        )

    def decide(self, data: str, user_id: int, chat_id: int | None) -> Decision:
        """The decision a press with `data` makes; the question is used up only if it is made."""
        found = _DATA.match(data)
        if found is None:
            return Decision(refusal="unknown")
        key = _hash(found.group(1))
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(table).where(table.c.token_hash == key)).first()
            if row is None:
                return Decision(refusal="unknown")
            if row.user_id != user_id or row.chat_id != chat_id:
                # Left in place: the person who asked can still decide.
                return Decision(refusal="not_yours", owner=row.user_id)
            taken = conn.execute(
                sa.delete(table).where(
                    table.c.token_hash == key,
                    table.c.user_id == user_id,
                    table.c.chat_id == chat_id,
                )
            )
        if taken.rowcount != 1:
            return Decision(refusal="unknown")  # another press took it meanwhile
        if row.expires_at <= self._clock():
            return Decision(refusal="expired")
        return Decision(
            confirmed=found.group(2) == "yes",
            kind=row.kind,
            action=json.loads(row.action),
        )

    def __len__(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def figures_record(action: FiguresAction) -> dict[str, Any]:
    """/setfigures' action as JSON: every field, the entries' dates as ISO text."""
    record: dict[str, Any] = {}
    for item in dataclasses.fields(action):
        value = getattr(action, item.name)
        if item.name == "entries":
            value = [_plain(dataclasses.asdict(entry)) for entry in value]
        record[item.name] = value
    return record


def figures_action(record: dict[str, Any]) -> FiguresAction:
    """The action `figures_record` stored."""
    entries = tuple(
        Entry(
            **{
                **entry,
                "as_of": dt.date.fromisoformat(entry["as_of"]),
                "period_start": (
                    dt.date.fromisoformat(entry["period_start"]) if entry["period_start"] else None
                ),
            }
        )
        for entry in record["entries"]
    )
    return FiguresAction(**{**record, "entries": entries})


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}

"""Confirm / Cancel for staff commands that change something: pending actions kept in memory.

Each pending action is bound to the staff member who asked, the chat it was asked in and an
expiry. The buttons carry only a random token (`adm:<token>:yes`), never the action: callback
data comes back from the client and anyone can send any, so it is only a key to look up. A
decision removes the action at once, before anything is awaited, so a second press of Confirm
finds nothing to do. Pending actions die with the process, which is the safe way to lose them.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

PREFIX = "adm:"
TTL = dt.timedelta(minutes=10)
_DATA = re.compile(r"^adm:([A-Za-z0-9_-]{16}):(yes|no)$")

A = TypeVar("A")
Refusal = Literal["unknown", "expired", "not_yours"]


@dataclass(frozen=True)
class Pending(Generic[A]):
    """An action waiting for its confirmation."""

    action: A
    user_id: int
    chat_id: int
    expires: dt.datetime


@dataclass(frozen=True)
class Decision(Generic[A]):
    """What a press decided: the action with yes/no, or why nothing happens."""

    confirmed: bool = False
    action: A | None = None
    refusal: Refusal | None = None
    # Who may decide, for the answer to someone else's press.
    owner: int | None = None


class Confirmations(Generic[A]):
    """The pending actions, by token."""

    def __init__(self, clock: Callable[[], dt.datetime], ttl: dt.timedelta = TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._pending: dict[str, Pending[A]] = {}

    def ask(self, action: A, user_id: int, chat_id: int) -> InlineKeyboardMarkup:
        """Keep `action` for `user_id` in `chat_id`; the Confirm / Cancel buttons for it."""
        now = self._clock()
        # Forget what was never decided, so the dict does not grow for as long as the bot runs.
        for token in [t for t, p in self._pending.items() if p.expires <= now]:
            del self._pending[token]
        token = secrets.token_urlsafe(12)  # 16 characters
        self._pending[token] = Pending(action, user_id, chat_id, now + self._ttl)
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Confirm", callback_data=f"{PREFIX}{token}:yes"),
                    InlineKeyboardButton("Cancel", callback_data=f"{PREFIX}{token}:no"),
                ]
            ]
        )

    def decide(self, data: str, user_id: int, chat_id: int | None) -> Decision[A]:
        """The decision a press with `data` makes; the action is taken out only if it is made."""
        found = _DATA.match(data)
        pending = self._pending.get(found.group(1)) if found else None
        if found is None or pending is None:
            return Decision(refusal="unknown")
        if pending.user_id != user_id or pending.chat_id != chat_id:
            # Left in place: the person who asked can still decide.
            return Decision(refusal="not_yours", owner=pending.user_id)
        del self._pending[found.group(1)]
        if pending.expires <= self._clock():
            return Decision(refusal="expired")
        return Decision(confirmed=found.group(2) == "yes", action=pending.action)

    def __len__(self) -> int:
        return len(self._pending)

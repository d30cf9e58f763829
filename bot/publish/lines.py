"""Deliveries as one line each, for the terminal, the daemon's log and Telegram reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.privacy import mask_target

if TYPE_CHECKING:
    from bot.publish.sender import Outcome

MARKS = {"sent": "✓", "failed": "✗", "unknown": "?", "pending": "…", "cancelled": "-"}


def outcome_line(outcome: Outcome) -> str:
    """One delivery's end, the address or chat masked."""
    target = mask_target(outcome.channel, outcome.target)
    detail = f"ids {outcome.detail}" if outcome.state == "sent" else outcome.detail
    lang = f" · {outcome.lang}" if outcome.lang else ""
    state = shown_state(outcome.state, outcome.via)
    if state != outcome.state:
        detail = f"files {outcome.detail}"
    return (
        f"{MARKS.get(outcome.state, ' ')} {outcome.channel}{lang} · {target} · {state}"
        f"{' · ' + detail if detail else ''}"
    )


def shown_state(state: str, via: str | None, folder: str = "the outbox folder") -> str:
    """A delivery's state as a person should read it: "sent" only when a platform has it.

    One written to the outbox folder (no credentials, a rehearsal) says where it went instead.
    """
    if state == "sent" and via == "folder":
        return f"written to {folder}"
    return state

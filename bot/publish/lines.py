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
    state = outcome.state
    if state == "sent" and outcome.via == "folder":
        # Nothing reached the platform: say where it went instead ("sent" would be a lie).
        state, detail = "written to the outbox folder", f"files {outcome.detail}"
    return (
        f"{MARKS.get(outcome.state, ' ')} {outcome.channel}{lang} · {target} · {state}"
        f"{' · ' + detail if detail else ''}"
    )

"""The words staff see: an approval request with its editions, a reminder, the buttons."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from markupsafe import escape

from bot.approvals.gate import Ask
from bot.approvals.store import Request

# Callback data: apv:ID:FINGERPRINT-START:y|n (Telegram allows 64 bytes).
PREFIX = "apv"
MARK_LENGTH = 10
# Telegram's limit is 4096 characters per message; room is left for the heading.
EDITION_ROOM = 3500
# Escaping for HTML can lengthen a text (& → &amp;), so messages are packed well under 4096.
MESSAGE_ROOM = 3800
SEPARATOR = "\n\n────────\n\n"

Button = tuple[str, str]


def buttons(request: Request) -> tuple[Button, ...]:
    """Approve and Reject buttons for one request."""
    mark = request.fingerprint[:MARK_LENGTH]
    return (
        (f"✓ Approve #{request.id}", f"{PREFIX}:{request.id}:{mark}:y"),
        (f"✗ Reject #{request.id}", f"{PREFIX}:{request.id}:{mark}:n"),
    )


def parse_button(data: str) -> tuple[int, str, bool] | None:
    """(request id, fingerprint start, approve?) from callback data, or None if it is not ours."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    if parts[3] not in ("y", "n") or len(parts[2]) != MARK_LENGTH:
        return None
    return int(parts[1]), parts[2], parts[3] == "y"


def _when(moment: dt.datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"


def rule(request: Request, last_changer: str | None) -> str:
    """How many approvals, and who cannot give one."""
    text = f"{request.needed} approval{'s' if request.needed != 1 else ''} needed"
    if request.needed >= 2 and last_changer:
        text += f"; {last_changer} entered the latest figures and does not count"
    return text


def ask_texts(ask: Ask, tz: ZoneInfo) -> list[str]:
    """Plain-text messages: the heading (with what changed), one per edition, the question."""
    r = ask.request
    head = (
        f"Approval needed: {r.message} for {_when(r.due_at, tz)} — request #{r.id} "
        f"({rule(r, ask.last_changer)})."
    )
    if ask.replaced is not None:
        was = "approved" if ask.replaced.state == "approved" else ask.replaced.state
        head += (
            f"\nThis replaces #{ask.replaced.id} ({was}): the post changed since, so it needs "
            f"approval again. What changed:\n{ask.changes}"
        )
    texts = [head]
    for edition in r.editions:
        body = edition.text
        if len(body) > EDITION_ROOM:
            body = body[:EDITION_ROOM] + f"\n… ({len(edition.text) - EDITION_ROOM} more characters)"
        subject = f"\nSubject: {edition.subject}" if edition.subject else ""
        texts.append(f"#{r.id} · {edition.label}{subject}\n\n{body}")
    texts.append(question(r))
    return _packed(texts)


def _packed(texts: list[str]) -> list[str]:
    """Consecutive texts joined while they fit one Telegram message: fewer messages to scroll."""
    out: list[str] = []
    for text in texts:
        if out and len(out[-1]) + len(SEPARATOR) + len(text) <= MESSAGE_ROOM:
            out[-1] += SEPARATOR + text
        else:
            out.append(text)
    return out


def question(request: Request) -> str:
    """The last line, next to the buttons."""
    return (
        f"Approve or reject #{request.id} with the buttons, or: bot approve {request.id} / "
        f'bot reject {request.id} --reason "…" (on Telegram: /approve {request.id}, '
        f"/reject {request.id} reason)."
    )


def reminder(request: Request, approvers: list[str], tz: ZoneInfo) -> str:
    """Said when the occasion is due and the request is not approved."""
    by = f" (approved by {', '.join(approvers)})" if approvers else ""
    return (
        f"held: {request.message} was due {_when(request.due_at, tz)} and is not approved: "
        f"{len(approvers)} of {request.needed}{by}. Nothing was sent. Approve #{request.id} "
        f"and it goes out at once, within its grace. {question(request)}"
    )


def html(text: str) -> str:
    """Telegram HTML for a plain text."""
    return str(escape(text))

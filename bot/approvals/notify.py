"""The words staff see: an approval request with its editions, a reminder, the buttons."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from bot.approvals.content import Authorship
from bot.approvals.gate import Ask
from bot.approvals.store import Request
from bot.fit.telegram import MAX_ENTITIES, split_html, visible_length

# Callback data: apv:ID:FINGERPRINT-START:y|n (Telegram allows 64 bytes).
PREFIX = "apv"
MARK_LENGTH = 10
# Telegram's limit is 4096 characters per message (as shown, tags and entities parsed); room
# is left for an edition's title.
EDITION_ROOM = 3500
# Messages are packed together up to this many characters, as Telegram counts them.
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


def rule(request: Request, current: Authorship) -> str:
    """How many approvals, and who cannot give one."""
    text = f"{request.needed} approval{'s' if request.needed != 1 else ''} needed"
    excluded = request.excluded(current)
    if excluded:
        text += "; not counted: " + "; ".join(f"{n} ({why})" for n, why in excluded.items())
    return text


def ask_texts(ask: Ask, tz: ZoneInfo) -> list[str]:
    """The request as Telegram messages (Telegram HTML, each within its limits): the heading
    (with what changed), every edition as Telegram shows it, then the question.

    A Telegram edition is HTML already and is shown as such, not as its markup; the others are
    text and are escaped. A long edition is split where Telegram's own splitting would split it
    (bot/fit/telegram.py), never inside a tag or an entity, so every word arrives.
    """
    r = ask.request
    head = (
        f"Approval needed: {r.message} for {_when(r.due_at, tz)} — request #{r.id} "
        f"({rule(r, ask.authors)})."
    )
    if ask.replaced is not None:
        was = "approved" if ask.replaced.state == "approved" else ask.replaced.state
        head += (
            f"\nThis replaces #{ask.replaced.id} ({was}): the post changed since, so it needs "
            f"approval again. What changed:\n{ask.changes}"
        )
    texts = [Markup(piece) for piece in split_html(str(escape(head)), EDITION_ROOM)]
    for edition in r.editions:
        subject = f"\nSubject: {edition.subject}" if edition.subject else ""
        title = escape(f"#{r.id} · {edition.label}{subject}")
        body = edition.text if edition.channel == "telegram" else str(escape(edition.text))
        pieces = split_html(body, EDITION_ROOM) if body.strip() else [""]
        for number, piece in enumerate(pieces, 1):
            more = f" ({number}/{len(pieces)})" if len(pieces) > 1 else ""
            texts.append(Markup(f"<b>{title}{more}</b>\n\n{piece}"))
    texts.append(escape(question(r)))
    # Markup: the admin alerter sends them as they are (bot/alerts.py escapes plain texts).
    return list(_packed(texts))


def _packed(texts: list[Markup]) -> list[Markup]:
    """Consecutive messages joined while they fit one Telegram message: fewer to scroll."""
    out: list[Markup] = []
    for text in texts:
        joined = Markup(f"{out[-1]}{SEPARATOR}{text}") if out else None
        if joined is not None and _fits(joined):
            out[-1] = joined
        else:
            out.append(text)
    return out


def _fits(html: str) -> bool:
    """Within MESSAGE_ROOM characters as Telegram counts them, and its number of entities."""
    return visible_length(html) <= MESSAGE_ROOM and html.count("</") <= MAX_ENTITIES


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

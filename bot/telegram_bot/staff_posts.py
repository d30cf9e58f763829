"""/preview and /postnow: the publisher's preview, its decision on Confirm, sending, reporting.

The functions without `async` reach the database or the templates and are run by the caller
in a worker thread (the event loop is shared with the scheduler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.approvals.content import fingerprint
from bot.cards.card import Card
from bot.channels.registry import NAMES
from bot.channels.telegram_card import CAPTION_LIMIT
from bot.compose.drafts import Draft, Edition, Failure
from bot.errors import ConfigError
from bot.fit.telegram import visible_length
from bot.lang import LANGUAGES
from bot.preview import occasion_line, part_lines
from bot.privacy import mask_addresses_in, mask_target
from bot.publish.lines import MARKS, shown_state
from bot.publish.outbox import Created
from bot.publish.sender import Report, SenderBusy
from bot.publishing.decision import Ask, Decision
from bot.store.schema import ERASED, deliveries, editions
from bot.telegram_bot.staff_texts import esc, fit

if TYPE_CHECKING:
    from bot.runtime import Runtime

Send = Callable[[], Awaitable[Report]]
ALL = "all"
CAPTION_CUT = "\n… (cut: `bot preview --cards DIR` writes the alt text whole)"


@dataclass(frozen=True)
class PostAction:
    """What Confirm publishes: exactly the editions shown, as `post-now` publishes after asking."""

    ask: Ask
    shown: Decision


def languages(words: list[str]) -> list[str] | None:
    """`[lang]` of /preview: en, my or all (None)."""
    if not words or words == [ALL]:
        return None
    if len(words) > 1 or words[0] not in LANGUAGES:
        raise ConfigError(
            f"unknown language {' '.join(words)!r}; choose from {', '.join(LANGUAGES)} or all"
        )
    return words


def channels(words: list[str]) -> list[str] | None:
    """`[channels]` of /postnow, comma- or space-separated; None for the message's own."""
    names = [name.strip() for word in words for name in word.split(",") if name.strip()]
    if not names or names == [ALL]:
        return None
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        raise ConfigError(
            f"unknown channel {', '.join(unknown)!r}; choose from {', '.join(NAMES)} or all"
        )
    return list(dict.fromkeys(names))


def preview_now(runtime: Runtime, ask: Ask) -> Decision:
    """The publisher's preview of a message for today (what Confirm would publish)."""
    return runtime.publisher().preview(ask)


def post_record(action: PostAction) -> dict[str, Any]:
    """What Confirm needs to publish, as JSON kept with the question (staff_confirm.py): the
    ask, for the occasion's own date, and a fingerprint of each channel's editions shown."""
    ask, shown = action.ask, action.shown
    return {
        "message": ask.message,
        "by": ask.by,
        "on": shown.occasion.on.isoformat(),
        "langs": ask.langs,
        "channels": ask.channels,
        "shown": _fingerprints(shown.editions),
    }


def rebuild_post(runtime: Runtime, record: dict[str, Any]) -> PostAction | str:
    """The action `post_record` kept, composed again; why not, when it is not what was shown.

    A restart between the question and Confirm loses the editions in memory: composing again
    gives them back, and the fingerprints say whether they are the ones the person saw. A
    channel switched off since is left out (the publisher says so), never one added.
    """
    ask = Ask(
        record["message"],
        "telegram",
        record["by"],
        on=dt.date.fromisoformat(record["on"]),
        langs=record["langs"],
        channels=record["channels"],
    )
    composed = preview_now(runtime, ask)
    now = _fingerprints(composed.editions)
    shown: dict[str, str] = record["shown"]
    if any(shown.get(channel) != value for channel, value in now.items()):
        return (
            "Not published: the figures or the wording changed since the preview, so what was "
            "shown is not what would go out. Preview it again."
        )
    return PostAction(ask, composed)


def _fingerprints(editions: tuple[Edition, ...]) -> dict[str, str]:
    """Each channel's editions as one fingerprint (an edition that cannot be sent included)."""
    out: dict[str, str] = {}
    for channel in dict.fromkeys(e.channel for e in editions):
        mine = [e for e in editions if e.channel == channel]
        drafts = [e for e in mine if isinstance(e, Draft)]
        failed = "".join(f"|{e.lang}:{e.reason}" for e in mine if isinstance(e, Failure))
        out[channel] = fingerprint(drafts) + failed
    return out


def summary_html(composed: Decision) -> str:
    """What the editions below are for, and what was left out."""
    message = composed.message
    lines = [
        occasion_line(composed.occasion, str(composed.newest) if composed.newest else None),
        *composed.notes,
        f"{len(composed.editions)} edition(s) follow.",
    ]
    return fit(
        f"<b>{esc(message.name)}</b>: {esc(message.settings.description)}\n", "\n".join(lines)
    )


def edition_html(edition: Edition) -> str:
    """One edition as `bot preview` prints it: each part with its length, then its text."""
    head = f"<b>{esc(edition.message)} · {edition.channel} · {edition.lang}</b>\n"
    if isinstance(edition, Failure):
        return fit(head, f"CANNOT BE SENT: {edition.reason}")
    return fit(head, "\n".join(part_lines(edition)).rstrip("\n"))


@dataclass(frozen=True)
class CardShown:
    """A language's figure card, shown as a photo before that language's editions."""

    message: str
    lang: str
    card: Card


def with_cards(editions: tuple[Edition, ...]) -> list[Edition | CardShown]:
    """The editions in order, each language's card just before the first of its editions.

    Every channel's draft in a language carries the same card (drawn from the same figures,
    so the same bytes): it is shown once per language, not once per channel. A language
    whose drafts all failed, or a message without card.toml, shows none.
    """
    out: list[Edition | CardShown] = []
    started: set[str] = set()
    for edition in editions:
        if edition.lang not in started:
            started.add(edition.lang)
            cards = {
                other.card.sha256: other.card
                for other in editions
                if isinstance(other, Draft) and other.lang == edition.lang and other.card
            }
            out.extend(CardShown(edition.message, edition.lang, card) for card in cards.values())
        out.append(edition)
    return out


def card_caption(shown: CardShown) -> str:
    """The photo's caption: which card it is, its size, and its alt text, in one caption."""
    card = shown.card
    head = (
        f"<b>{esc(shown.message)} · card · {shown.lang}</b> "
        f"({card.width}×{card.height}, {card.size / 1000:.0f} kB)\n"
    )
    # An alt text near its 1,000 characters (bot/cards/alt.py) goes without the heading,
    # whole: the caption shows exactly what a screen reader will read.
    for caption in (head + esc(f"Alt text: {card.alt}"), esc(card.alt)):
        if visible_length(caption) <= CAPTION_LIMIT:
            return caption
    return fit("", card.alt, note=CAPTION_CUT, limit=CAPTION_LIMIT)


async def publish_action(runtime: Runtime, action: PostAction) -> Decision:
    """The publisher's decision on what was shown; approval requests go to the admins."""
    async with runtime.publishing() as publisher:
        return await publisher.publish(action.ask, action.shown)


async def approval_check(runtime: Runtime, shown: Decision) -> Decision:
    """Whether the editions shown are approved (a request is made and sent if there is none)."""
    async with runtime.publishing() as publisher:
        return await publisher.approval(shown)


def refusal_html(decision: Decision) -> str:
    """Why the publisher did not publish, and what lifts it."""
    if decision.verdict == "paused":
        return f"Not published: {esc(decision.reason)}. /resume lifts it."
    return f"Not published: {esc(decision.reason)}."


def published_html(created: Created) -> str:
    """What Confirm decided, before the sending starts."""
    if created.existed and not created.new_deliveries:
        return (
            f"Already published as #{created.publication_id} ({esc(created.key)}); "
            "finishing any deliveries not yet done."
        )
    return (
        f"Publication #{created.publication_id} ({esc(created.key)}): "
        f"{created.new_deliveries} new deliveries. Sending…"
    )


async def send_publication(runtime: Runtime, send: Send | None, publication_id: int) -> str | None:
    """Send what is pending; a note when it could not all be done now (or None)."""
    if send is not None:
        # Inside `bot run`: the scheduler's sender, which sends everything pending.
        report = await send()
    else:
        try:
            report, _ = await runtime.send(publication_id)
        except SenderBusy as exc:
            return f"Not sent now: {exc}."
    if report.paused:
        return f"Stopped: the bot is {report.paused}."
    if report.waiting_until:
        return f"Some deliveries wait for a rate limit until {report.waiting_until:%H:%M} UTC."
    return None


def _state(runtime: Runtime, channel: str, state: str, via: str | None) -> str:
    """A delivery's state as staff should read it, the folder named relative to the home."""
    settings = runtime.app.settings
    folder = settings.outbox_dir / channel
    try:
        shown = folder.relative_to(settings.home)
    except ValueError:
        shown = folder
    return shown_state(state, via, f"{shown}/")


def _is_fan_out() -> sa.ColumnElement[bool]:
    # As bot/publish/progress.py counts it: a delivery made for a subscriber, erased or not.
    return sa.or_(deliveries.c.subscriber_id.is_not(None), deliveries.c.target.startswith(ERASED))


def report_html(runtime: Runtime, created: Created, note: str | None) -> str:
    """Each delivery of the publication with its state; a fan-out as counts per language.

    A delivery written to the outbox folder (no credentials, a rehearsal) says so and where,
    never "sent": nothing reached the platform.
    """
    mine = deliveries.c.publication_id == created.publication_id
    joined = deliveries.join(editions, editions.c.id == deliveries.c.edition_id)
    with runtime.app.engine.connect() as conn:
        singles = conn.execute(
            sa.select(
                deliveries.c.channel,
                editions.c.lang,
                deliveries.c.target,
                deliveries.c.state,
                deliveries.c.error,
                deliveries.c.via,
            )
            .select_from(joined)
            .where(mine, sa.not_(_is_fan_out()))
            .order_by(deliveries.c.id)
        ).all()
        fanned = conn.execute(
            sa.select(
                deliveries.c.channel,
                editions.c.lang,
                deliveries.c.via,
                deliveries.c.state,
                sa.func.count(),
            )
            .select_from(joined)
            .where(mine, _is_fan_out())
            .group_by(deliveries.c.channel, editions.c.lang, deliveries.c.via, deliveries.c.state)
            .order_by(deliveries.c.channel, editions.c.lang, deliveries.c.via, deliveries.c.state)
        ).all()
    lines = []
    for channel, lang, target, state, error, via in singles:
        detail = f" · {mask_addresses_in(error)[:200]}" if error and state != "sent" else ""
        lines.append(
            f"{MARKS.get(state, ' ')} {channel} · {lang} · {mask_target(channel, target)} · "
            f"{_state(runtime, channel, state, via)}{detail}"
        )
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for channel, lang, via, state, number in fanned:
        said = _state(runtime, channel, state, via)
        counted = groups.setdefault((channel, lang), {})
        counted[said] = counted.get(said, 0) + int(number)
    for (channel, lang), states in groups.items():
        total = sum(states.values())
        counts = ", ".join(f"{n} {state}" for state, n in states.items())
        lines.append(f"{channel} · {lang} · {total} subscriber(s): {counts}")
    if not lines:
        lines.append("no deliveries (no target and no subscriber for these channels)")
    waiting = ("pending", "sending")
    if any(row.state in waiting for row in singles) or any(row.state in waiting for row in fanned):
        lines.append("Deliveries still pending go out with `bot run` (`bot status` shows them).")
    if note:
        lines.append(note)
    head = f"<b>Deliveries of #{created.publication_id}</b> ({esc(created.key)}):\n"
    return fit(head, "\n".join(lines))

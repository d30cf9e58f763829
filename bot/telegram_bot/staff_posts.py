"""/preview and /postnow: the publisher's preview, its decision on Confirm, sending, reporting.

The functions without `async` reach the database or the templates and are run by the caller
in a worker thread (the event loop is shared with the scheduler).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.channels.registry import NAMES
from bot.compose.drafts import Edition, Failure
from bot.errors import ConfigError
from bot.lang import LANGUAGES
from bot.preview import occasion_line, part_lines
from bot.privacy import mask_addresses_in, mask_target
from bot.publish.lines import MARKS
from bot.publish.outbox import Created
from bot.publish.progress import ERASED
from bot.publish.sender import Report, SenderBusy
from bot.publishing.decision import Ask, Decision
from bot.store.schema import deliveries, editions
from bot.telegram_bot.staff_texts import esc, fit

if TYPE_CHECKING:
    from bot.runtime import Runtime

Send = Callable[[], Awaitable[Report]]
ALL = "all"


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


def _is_fan_out() -> sa.ColumnElement[bool]:
    # As bot/publish/progress.py counts it: a delivery made for a subscriber, erased or not.
    return sa.or_(deliveries.c.subscriber_id.is_not(None), deliveries.c.target == ERASED)


def report_html(runtime: Runtime, created: Created, note: str | None) -> str:
    """Each delivery of the publication with its state; a fan-out as counts per language."""
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
            )
            .select_from(joined)
            .where(mine, sa.not_(_is_fan_out()))
            .order_by(deliveries.c.id)
        ).all()
        fanned = conn.execute(
            sa.select(deliveries.c.channel, editions.c.lang, deliveries.c.state, sa.func.count())
            .select_from(joined)
            .where(mine, _is_fan_out())
            .group_by(deliveries.c.channel, editions.c.lang, deliveries.c.state)
            .order_by(deliveries.c.channel, editions.c.lang, deliveries.c.state)
        ).all()
    lines = []
    for channel, lang, target, state, error in singles:
        detail = f" · {mask_addresses_in(error)[:200]}" if error and state != "sent" else ""
        lines.append(
            f"{MARKS.get(state, ' ')} {channel} · {lang} · {mask_target(channel, target)} · "
            f"{state}{detail}"
        )
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for channel, lang, state, number in fanned:
        groups.setdefault((channel, lang), {})[state] = int(number)
    for (channel, lang), states in groups.items():
        total = sum(states.values())
        counts = ", ".join(f"{n} {state}" for state, n in states.items())
        lines.append(f"{channel} · {lang} · {total} subscriber(s): {counts}")
    if not lines:
        lines.append("no deliveries (no target and no subscriber for these channels)")
    waiting = ("pending", "sending")
    if any(row.state in waiting for row in singles) or any(
        state in waiting for states in groups.values() for state in states
    ):
        lines.append("Deliveries still pending go out with `bot run` (`bot status` shows them).")
    if note:
        lines.append(note)
    head = f"<b>Deliveries of #{created.publication_id}</b> ({esc(created.key)}):\n"
    return fit(head, "\n".join(lines))

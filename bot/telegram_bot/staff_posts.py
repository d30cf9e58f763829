"""/preview and /postnow: composing as `bot post-now` does, publishing, sending, reporting.

The functions without `async` reach the database or the templates and are run by the caller
in a worker thread (the event loop is shared with the scheduler).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.cli.publish_cmd import MARKS
from bot.compose.drafts import Draft, Edition, Failure, occasion_for
from bot.compose.messages import CHANNELS, Message
from bot.errors import ConfigError
from bot.lang import LANGUAGES
from bot.preview import occasion_line, part_lines
from bot.privacy import mask_addresses_in, mask_target
from bot.publish.outbox import Created, publish
from bot.publish.progress import ERASED
from bot.publish.sender import Report, SenderBusy
from bot.publish.service import make_sender, targets, via, wire
from bot.store.figures import newest_date
from bot.store.schema import deliveries, editions
from bot.telegram_bot.staff_texts import esc, fit

if TYPE_CHECKING:
    from bot.app import App
    from bot.compose.context import Occasion

Send = Callable[[], Awaitable[Report]]
ALL = "all"


@dataclass(frozen=True)
class Composed:
    """A message's editions as they would go out now, and what was left out and why."""

    message: Message
    occasion: Occasion
    editions: tuple[Edition, ...]
    channels: tuple[str, ...]
    notes: tuple[str, ...]
    newest: dt.date | None

    @property
    def failures(self) -> int:
        """Editions that cannot be sent as shown."""
        return sum(isinstance(edition, Failure) for edition in self.editions)


@dataclass(frozen=True)
class PostAction:
    """What Confirm publishes: exactly the editions shown, as `post-now` publishes after asking."""

    composed: Composed


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
    unknown = [name for name in names if name not in CHANNELS]
    if unknown:
        raise ConfigError(
            f"unknown channel {', '.join(unknown)!r}; choose from {', '.join(CHANNELS)} or all"
        )
    return list(dict.fromkeys(names))


def compose_now(app: App, name: str, langs: list[str] | None, asked: list[str] | None) -> Composed:
    """The editions of message `name` for today, on its enabled channels (or those asked)."""
    found = app.composer.message(name)  # an unknown name: ConfigError with a did-you-mean
    own: list[str] = list(found.settings.channels)
    notes = [
        f"{n}: {name} is not sent there (its message.toml)" for n in asked or [] if n not in own
    ]
    chosen = [n for n in (asked or own) if n in own]
    enabled = {n for n in CHANNELS if getattr(app.settings.file.channels, n).enabled}
    notes += [
        f"{n}: turned off in config/bot.toml ([channels.{n}] enabled = false)"
        for n in chosen
        if n not in enabled
    ]
    chosen = [n for n in chosen if n in enabled]
    if not chosen:
        raise ConfigError(f"{name} has no enabled channel among those asked for")
    today = app.today()
    # As `bot post-now` without --on: the occasion is today's.
    occasion = occasion_for(app.settings, found, today, today)
    composed = app.composer.compose(found, occasion, langs, chosen)
    with app.engine.connect() as conn:
        newest = newest_date(conn, occasion.on)
    return Composed(found, occasion, tuple(composed), tuple(chosen), tuple(notes), newest)


def summary_html(composed: Composed) -> str:
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


async def approval_refusal(app: App, composed: Composed) -> str | None:
    """As `bot post-now`: a message that needs approval goes out only once it is approved.

    Otherwise one person could publish from a chat what needs two people's approval. The
    first time, the request is made and sent to the admins.
    """
    if not composed.message.settings.approval:
        return None
    from bot.approvals.manual import refusal
    from bot.schedule.alerts import admin_alerter
    from bot.schedule.config import load_schedule

    schedule = await asyncio.to_thread(load_schedule, app.settings.config_dir / "schedule.toml")
    alerter = admin_alerter(app, schedule)
    drafts = [e for e in composed.editions if isinstance(e, Draft)]
    try:
        return await refusal(app, alerter, composed.message, composed.occasion.key, drafts)
    finally:
        for channel in alerter.channels.values():
            await channel.close()


def publish_action(app: App, action: PostAction, by: str) -> Created:
    """Record the publication as `bot post-now --yes` does (once per occasion)."""
    composed = action.composed
    names = list(composed.channels)
    return publish(
        app.engine,
        composed.occasion,
        [e for e in composed.editions if isinstance(e, Draft)],
        targets(app, names),
        email_via=via(app, "email"),
        telegram_via=via(app, "telegram"),
        topic=composed.message.settings.topic,
        now=app.clock(),
        created_by=by,
    )


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


async def send_publication(
    app: App, send: Send | None, names: list[str], publication_id: int
) -> str | None:
    """Send what is pending; a note when it could not all be done now (or None)."""
    if send is not None:
        # Inside `bot run`: the scheduler's sender, which sends everything pending.
        report = await send()
    else:
        wired = wire(app, names)
        try:
            report = await make_sender(app, wired).run(publication_id)
        except SenderBusy as exc:
            return f"Not sent now: {exc}."
        finally:
            for channel in wired.channels.values():
                await channel.close()
    if report.paused:
        return f"Stopped: the bot is {report.paused}."
    if report.waiting_until:
        return f"Some deliveries wait for a rate limit until {report.waiting_until:%H:%M} UTC."
    return None


def _is_fan_out() -> sa.ColumnElement[bool]:
    # As bot/publish/progress.py counts it: a delivery made for a subscriber, erased or not.
    return sa.or_(deliveries.c.subscriber_id.is_not(None), deliveries.c.target == ERASED)


def report_html(app: App, created: Created, note: str | None) -> str:
    """Each delivery of the publication with its state; a fan-out as counts per language."""
    mine = deliveries.c.publication_id == created.publication_id
    joined = deliveries.join(editions, editions.c.id == deliveries.c.edition_id)
    with app.engine.connect() as conn:
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

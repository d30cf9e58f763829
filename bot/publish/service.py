"""Wiring channels, targets and the sender from the settings."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.channels.base import Channel, Payload
from bot.channels.folder import FolderChannel
from bot.publish.budget import Budget
from bot.publish.outbox import Target
from bot.publish.sender import Outcome, Sender, Sleep

if TYPE_CHECKING:
    from bot.app import App

BUILT_IN = ("x", "telegram", "email")


@dataclass(frozen=True)
class Wired:
    """The channels to publish through, and a note for each one that writes to the folder."""

    channels: dict[str, Channel]
    notes: dict[str, str]


def _real(app: App, name: str) -> Channel | None:
    channels = app.settings.file.channels
    # The literal registry of built-in channels; each module is imported only when used.
    if name == "x":
        from bot.channels.x import XChannel

        return XChannel.from_settings(channels.x, clock=app.clock)
    if name == "telegram":
        from bot.channels.telegram import TelegramChannel

        return TelegramChannel.from_settings(channels.telegram)
    if name == "email":
        from bot.channels.email import EmailChannel

        return EmailChannel.from_settings(channels.email)
    raise KeyError(name)


def render_email_for_folder(app: App) -> Callable[[Payload], bytes]:
    """The bytes an email would have had, for the Maildir in the outbox folder."""
    from bot.channels.email_message import render_for_folder

    return render_for_folder(app.settings.file.channels.email)


def wire(app: App, names: list[str]) -> Wired:
    """A channel per name: the real one when configured, else the outbox folder."""
    channels: dict[str, Channel] = {}
    notes: dict[str, str] = {}
    for name in names:
        real = None if app.rehearsal else _real(app, name)
        if real is None:
            channels[name] = FolderChannel(
                name,
                app.settings.outbox_dir,
                app.clock,
                render_email_for_folder(app) if name == "email" else None,
            )
            why = "rehearsal (BOT_CLOCK_START)" if app.rehearsal else "no credentials set"
            notes[name] = f"{why}: writing to {app.settings.outbox_dir / name}"
        else:
            channels[name] = real
    return Wired(channels, notes)


def via(app: App, name: str) -> str:
    """Where a delivery made now for channel `name` goes: "platform", or "folder"."""
    return "folder" if app.rehearsal or _real(app, name) is None else "platform"


def targets(app: App, names: list[str]) -> list[Target]:
    """The fixed targets of each channel (email goes to subscribers instead)."""
    out = []
    if "x" in names:
        out.append(Target("x", "", via(app, "x")))
    if "telegram" in names:
        out.append(
            Target("telegram", app.settings.file.channels.telegram.chat, via(app, "telegram"))
        )
    return out


def unsubscribe_links(app: App) -> Callable[[str], str]:
    """Subscriber token → the signed one-click unsubscribe URL under the configured base."""
    from bot.subscribers.tokens import tokens_for

    tokens = tokens_for(app.settings, app.clock)
    base = app.settings.file.channels.email.unsubscribe_base_url
    return lambda token: f"{base}{tokens.unsubscribe(token)}"


def make_sender(
    app: App,
    wired: Wired,
    on_outcome: Callable[[Outcome], None] | None = None,
    sleep: Sleep = asyncio.sleep,
    max_wait_seconds: float = 600,
) -> Sender:
    """A sender over the wired channels, with the X budget where X is real."""
    budgets: dict[str, Budget] = {}
    x = wired.channels.get("x")
    cost = getattr(x, "cost", None)
    if x is not None and cost is not None:
        budgets["x"] = Budget(app.engine, "x", app.settings.file.channels.x, cost, app.settings.tz)
    email = app.settings.file.channels.email
    concurrency = {"email": email.connections}
    if "telegram" in wired.channels:
        from bot.channels.telegram import CONCURRENCY

        # Enough sends in flight for the channel's limiter, not the round trip, to set the
        # pace of a fan-out (about 30 a second).
        concurrency["telegram"] = CONCURRENCY
    return Sender(
        app.engine,
        wired.channels,
        clock=app.clock,
        budgets=budgets,
        unsubscribe_url=unsubscribe_links(app),
        concurrency=concurrency,
        max_wait_seconds=max_wait_seconds,
        on_outcome=on_outcome,
        sleep=sleep,
    )


def local_time(app: App, moment: dt.datetime) -> str:
    """A moment as staff read it: local time with the zone's name."""
    return moment.astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M %Z")

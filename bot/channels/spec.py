"""What a channel declares about itself: one class per channel, listed in registry.py.

A declaration is light (no platform library is imported until `connect`), so the composer,
the configuration, the web archive and `bot --help` can all ask it: its name, its settings
table, how text is fitted to it, whom it reaches, whether its posts can be taken back, and how
its credentials turn into a working channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bot.config.model import Strict

if TYPE_CHECKING:
    from bot.channels.base import Channel, Payload

Sleep = Callable[[float], Awaitable[None]]


class Fitting(Protocol):
    """One edition being composed, as the composer offers it to a channel's `fit`."""

    message: str
    lang: str
    # The message's canonical plain text (text.LANG.txt.j2), rendered.
    text: str
    # The template context, for a channel that renders templates of its own.
    context: dict[str, Any]
    # The channel's `[channels.NAME]` settings (a limit that is configurable, for instance).
    settings: Any

    def optional(self, part: str, ext: str) -> str | None:
        """`PART.LANG.EXT.j2` of the message rendered, or None when it has none."""

    def render(self, template: str, extra: dict[str, Any]) -> str:
        """Render a template by its loader name with extra context."""

    def where(self, part: str, ext: str) -> str:
        """The template an error should name: PART's, else the canonical text's."""

    def path(self, part: str, ext: str) -> str:
        """The file `PART.LANG.EXT.j2` of the message would be (to say it is missing)."""

    def has(self, part: str, ext: str) -> str | None:
        """The loader name of `PART.LANG.EXT.j2`, if the message has it."""


@dataclass(frozen=True)
class Fitted:
    """An edition fitted to its channel: the parts to send, each measured against the limit."""

    parts: tuple[str, ...]
    lengths: tuple[int, ...]
    limit: int | None
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Wiring:
    """What the runtime builder hands every channel it connects (tests hand in their own)."""

    # The bot's wall clock (shifted in a rehearsal, fixed in tests).
    clock: Callable[[], dt.datetime]
    # A steady clock and a sleep for pacing; a test gives virtual ones so nothing waits.
    monotonic: Callable[[], float] = time.monotonic
    sleep: Sleep = field(default=asyncio.sleep)
    # The home folder, against which a channel resolves its relative paths (a login kept in
    # var/); the runtime fills it in from the settings.
    home: Path | None = None


class ChannelSpec:
    """The declaration every channel module makes by subclassing this."""

    name: ClassVar[str]
    title: ClassVar[str]
    # The settings table `[channels.NAME]` of config/bot.toml.
    settings_model: ClassVar[type[Strict]]
    # Posts to one account or chat of the organisation's (X, a Telegram channel).
    broadcast: ClassVar[bool] = False
    # One delivery per subscriber of this channel, language and topic (email, Telegram).
    subscribers: ClassVar[bool] = False
    # Whether a published post can be deleted again (`bot retract`).
    can_retract: ClassVar[bool] = True
    # How the outbox folder keeps its posts: "txt"/"html" files per part, or "maildir".
    folder_format: ClassVar[str] = "txt"
    # Deliveries of a fan-out in flight at once, when the settings do not say.
    concurrency: ClassVar[int] = 1
    # How lengths are counted, for previews.
    unit: ClassVar[str] = "characters"
    # Templates every message sent there needs, besides its text: (part, ext, why).
    requires: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # Posts cost money: a daily budget of posts and spend is kept (see `cost`).
    billed: ClassVar[bool] = False
    # Which edition the public archive shows, fullest first (None: never shown there).
    archive_rank: ClassVar[int | None] = None

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """Fit the edition to the channel's limits; raise FitError or TemplateError."""
        raise NotImplementedError

    @classmethod
    def plain_text(cls, parts: list[str]) -> str:
        """A stored edition's parts as plain text (for the public archive)."""
        return "\n\n".join(part.strip() for part in parts)

    @classmethod
    def secrets(cls, settings: Any) -> dict[str, str]:
        """What each secret is for → the environment variable that holds it."""
        raise NotImplementedError

    @classmethod
    def configured(cls, settings: Any) -> bool:
        """Whether the credentials are there (otherwise its posts go to the outbox folder)."""
        raise NotImplementedError

    @classmethod
    def connect(cls, settings: Any, wiring: Wiring) -> Channel | None:
        """The working channel from its settings and secrets; None without credentials."""
        raise NotImplementedError

    @classmethod
    def targets(cls, settings: Any) -> list[str]:
        """The organisation's own accounts or chats it posts to (broadcast channels)."""
        return []

    @classmethod
    def width(cls, settings: Any) -> int:
        """Deliveries of a fan-out sent at once."""
        return cls.concurrency

    @classmethod
    def problems(cls, settings: Any) -> list[str]:
        """What `bot config check` should say about its settings, beyond their types.

        A problem that starts with a setting's name ("instance_url: …") is shown with that
        setting's line in config/bot.toml.
        """
        return []

    @classmethod
    def folder_render(cls, settings: Any) -> Callable[[Payload], bytes] | None:
        """For a "maildir" folder format: the bytes a post would have had."""
        return None

    @classmethod
    def cost(cls, settings: Any, payload: Payload) -> tuple[int, float] | None:
        """Posts and money a payload costs, for a channel with a daily budget (else None)."""
        return None

    @classmethod
    def preview_note(cls, settings: Any, posts: int) -> str | None:
        """A line `bot preview` prints after the editions: what `posts` posts would cost."""
        return None

    @classmethod
    def summary(cls, settings: Any) -> str | None:
        """Where its posts go and how, for `bot config show` (no secret); None: nothing more."""
        return None

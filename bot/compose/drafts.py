"""Drafts: one per channel and language, rendered and fitted to the channel's limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.cards.card import Card
from bot.channels import registry
from bot.compose.cards import card_for
from bot.compose.context import FigureUse, Occasion, Usage, build_context
from bot.compose.environment import make_environment
from bot.compose.messages import Message, load_message
from bot.compose.render import latin_digits_in_burmese, render
from bot.config.figuredefs import FigureBook
from bot.config.settings import Settings
from bot.errors import BotError, ConfigError, TemplateError
from bot.occasions import anniversary_on, latest_anniversary, nth_anniversary
from bot.store import figures as store


@dataclass(frozen=True)
class Draft:
    """A rendered edition: the parts to send, each measured against the channel's limit."""

    message: str
    channel: str
    lang: str
    parts: tuple[str, ...]
    lengths: tuple[int, ...]
    limit: int | None
    figures: tuple[FigureUse, ...]
    subject: str | None = None
    html: str | None = None
    # The message's figure card in this language (messages/NAME/card.toml), or None.
    card: Card | None = None


@dataclass(frozen=True)
class Failure:
    """An edition that could not be rendered or fitted, and why."""

    message: str
    channel: str
    lang: str
    reason: str


Edition = Draft | Failure


@dataclass(frozen=True)
class Figures:
    """The stored values an occasion is composed from."""

    running: dict[str, store.StoredValue]
    period: dict[str, store.StoredValue]
    history: dict[str, dict[dt.date, store.StoredValue]]


def occasion_for(
    settings: Settings, message: Message, on: dt.date | None, today: dt.date
) -> Occasion:
    """The occasion a message is composed for; anniversary messages need an anniversary date."""
    event_key = message.settings.event
    if event_key is None:
        return Occasion(message.name, on or today)
    event = settings.file.events.get(event_key)
    if event is None:
        raise ConfigError(
            f"{message.folder}/message.toml: event {event_key!r} is not in config/bot.toml [events]"
        )
    if on is None:
        # Without a date, show the most recent anniversary (or the first one, before it).
        found = latest_anniversary(event.date, today) or nth_anniversary(event.date, 1)
        return Occasion(message.name, found.on, found, event_key)
    anniversary = anniversary_on(event.date, on)
    if anniversary is None:
        upcoming = latest_anniversary(event.date, on)
        nxt = nth_anniversary(event.date, (upcoming.number if upcoming else 0) + 1)
        raise ConfigError(
            f"{on} is not an anniversary of {event.name.en} ({event.date}); "
            f"the next one is {nxt.on}"
        )
    return Occasion(message.name, on, anniversary, event_key)


class Composer:
    """Renders a message's editions for an occasion from the stored figures."""

    def __init__(self, settings: Settings, book: FigureBook, engine: sa.Engine | None) -> None:
        # engine None: render_all only (figures given, e.g. `bot config check`); no compose().
        self.settings = settings
        self.book = book
        self.engine = engine
        self.env = make_environment(settings.messages_dir)

    def message(self, name: str) -> Message:
        """Load the message family `name`."""
        return load_message(self.settings.messages_dir, name)

    def compose(
        self,
        message: Message,
        occasion: Occasion,
        langs: list[str] | None = None,
        channels: list[str] | None = None,
    ) -> list[Edition]:
        """Every edition asked for; failures are returned with their reason, not raised."""
        if self.engine is None:
            raise RuntimeError("this Composer has no database; it can only render_all()")
        with self.engine.connect() as conn:
            running = store.latest(conn, occasion.on)
            period = {}
            if occasion.anniversary is not None:
                a = occasion.anniversary
                period = store.for_period(conn, a.span_start, a.span_end)
            history = store.timeline(conn, list(self.book.figures))
        return self.render_all(
            message, occasion, Figures(running, period, history), langs, channels
        )

    def render_all(
        self,
        message: Message,
        occasion: Occasion,
        figures: Figures,
        langs: list[str] | None = None,
        channels: list[str] | None = None,
    ) -> list[Edition]:
        """Render every edition from figures already loaded (or made up, for checks)."""
        editions: list[Edition] = []
        for lang in langs or list(self.settings.file.languages):
            for channel in channels or list(message.settings.channels):
                usage = Usage()
                context = build_context(
                    settings=self.settings,
                    book=self.book,
                    occasion=occasion,
                    lang=lang,
                    running=figures.running,
                    period=figures.period,
                    history=figures.history,
                    usage=usage,
                )
                try:
                    editions.append(self.edition(message, channel, lang, context, usage))
                except BotError as exc:
                    editions.append(Failure(message.name, channel, lang, str(exc)))
        return editions

    def edition(
        self, message: Message, channel: str, lang: str, context: dict[str, Any], usage: Usage
    ) -> Draft:
        """Render and fit one edition; raises TemplateError or FitError."""
        spec = registry.spec(channel)
        text = render(self.env, message.text_template(lang), context, self.settings.messages_dir)
        fitted = spec.fit(
            _Edition(self, message, lang, context, text, self.settings.channel(channel))
        )
        # From the same context, so its figures are noted with the text's (the same snapshot).
        card = card_for(self.env, self.settings, message, lang, context)
        draft = Draft(
            message.name,
            channel,
            lang,
            fitted.parts,
            fitted.lengths,
            fitted.limit,
            tuple(usage.used.values()),
            subject=fitted.subject,
            html=fitted.html,
            card=card,
        )
        if lang == "my":
            alt = card.alt if card else ""
            for piece in (*draft.parts, draft.subject or "", draft.html or "", alt):
                leak = latin_digits_in_burmese(piece)
                if leak:
                    raise TemplateError(
                        f"the Burmese {channel} edition of {message.name} shows Latin digits "
                        f"near {leak!r}; write numbers with the |count or |num filters"
                    )
        return draft


class _Edition:
    """One edition as a channel's `fit` sees it: its text, and the message's own templates."""

    def __init__(
        self,
        composer: Composer,
        message: Message,
        lang: str,
        context: dict[str, Any],
        text: str,
        settings: Any,
    ) -> None:
        self.composer, self.folder = composer, message
        self.message, self.lang, self.context, self.text = message.name, lang, context, text
        self.settings = settings

    def has(self, part: str, ext: str) -> str | None:
        return self.folder.template(part, self.lang, ext)

    def optional(self, part: str, ext: str) -> str | None:
        name = self.has(part, ext)
        return None if name is None else self.render(name, {})

    def render(self, template: str, extra: dict[str, Any]) -> str:
        settings = self.composer.settings
        return render(self.composer.env, template, {**self.context, **extra}, settings.messages_dir)

    def where(self, part: str, ext: str) -> str:
        return self.has(part, ext) or self.folder.text_template(self.lang)

    def path(self, part: str, ext: str) -> str:
        return f"{self.folder.folder}/{part}.{self.lang}.{ext}.j2"

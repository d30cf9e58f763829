"""Drafts: one per channel and language, rendered and fitted to the channel's limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.channels.unsubscribe import UNSUBSCRIBE_MARK, UNSUBSCRIBE_WORDS
from bot.compose.blocks import blocks, telegram_html
from bot.compose.context import FigureUse, Occasion, Usage, build_context
from bot.compose.environment import make_environment
from bot.compose.messages import CHANNELS, Message, load_message
from bot.compose.render import latin_digits_in_burmese, render
from bot.config.figuredefs import FigureBook
from bot.config.settings import Settings
from bot.errors import BotError, ConfigError, FitError, TemplateError
from bot.lang import digits
from bot.occasions import anniversary_on, latest_anniversary, nth_anniversary
from bot.store import figures as store

EMAIL_LAYOUT = "_layout/email.html.j2"
NEEDS_SUBJECT = "the email edition needs a subject"


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

    def __init__(self, settings: Settings, book: FigureBook, engine: sa.Engine) -> None:
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
        if channel not in CHANNELS:
            raise ConfigError(
                f"unknown channel {channel!r}; the channels are {', '.join(CHANNELS)}"
            )
        text = render(self.env, message.text_template(lang), context, self.settings.messages_dir)
        draft: Draft
        if channel == "x":
            draft = self._x(message, lang, context, text, usage)
        elif channel == "telegram":
            draft = self._telegram(message, lang, context, text, usage)
        else:
            draft = self._email(message, lang, context, text, usage)
        if lang == "my":
            for piece in (*draft.parts, draft.subject or "", draft.html or ""):
                leak = latin_digits_in_burmese(piece)
                if leak:
                    raise TemplateError(
                        f"the Burmese {channel} edition of {message.name} shows Latin digits "
                        f"near {leak!r}; write numbers with the |count or |num filters"
                    )
        return draft

    def _render_optional(
        self, message: Message, part: str, lang: str, ext: str, context: dict[str, Any]
    ) -> str | None:
        name = message.template(part, lang, ext)
        if name is None:
            return None
        return render(self.env, name, context, self.settings.messages_dir)

    def _x(
        self, message: Message, lang: str, context: dict[str, Any], text: str, usage: Usage
    ) -> Draft:
        from bot.fit.x import X_LIMIT, split_thread, weighted_length

        source = self._render_optional(message, "x", lang, "txt", context) or text
        parts = split_thread(source, X_LIMIT, numbering=lambda i, n: digits(f"{i}/{n}", lang))
        return Draft(
            message.name,
            "x",
            lang,
            tuple(parts),
            tuple(weighted_length(part) for part in parts),
            X_LIMIT,
            tuple(usage.used.values()),
        )

    def _telegram(
        self, message: Message, lang: str, context: dict[str, Any], text: str, usage: Usage
    ) -> Draft:
        from bot.fit.telegram import TELEGRAM_LIMIT, split_html, validate_html, visible_length

        html = self._render_optional(message, "telegram", lang, "html", context)
        if html is None:
            html = telegram_html(text, context["org"]["name"])
        try:
            validate_html(html)
        except FitError as exc:
            where = message.template("telegram", lang, "html") or message.text_template(lang)
            raise FitError(f"messages/{where}: {exc}") from None
        parts = split_html(html, TELEGRAM_LIMIT)
        return Draft(
            message.name,
            "telegram",
            lang,
            tuple(parts),
            tuple(visible_length(part) for part in parts),
            TELEGRAM_LIMIT,
            tuple(usage.used.values()),
        )

    def _email(
        self, message: Message, lang: str, context: dict[str, Any], text: str, usage: Usage
    ) -> Draft:
        import css_inline

        subject = self._render_optional(message, "subject", lang, "txt", context)
        if subject is None:
            raise ConfigError(f"{message.folder}/subject.{lang}.txt.j2: missing; {NEEDS_SUBJECT}")
        subject = " ".join(subject.split())
        html_context = {
            **context,
            "subject": subject,
            "blocks": blocks(text, context["org"]["name"]),
            # Each recipient's own link is written in when the email is built for them.
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "unsubscribe_words": UNSUBSCRIBE_WORDS.get(lang, UNSUBSCRIBE_WORDS["en"]),
        }
        name = message.template("email", lang, "html") or EMAIL_LAYOUT
        html = render(self.env, name, html_context, self.settings.messages_dir)
        # Mail clients drop <style> in <head>; inline it, but keep it for @media rules.
        html = css_inline.CSSInliner(keep_style_tags=True).inline(html)
        return Draft(
            message.name,
            "email",
            lang,
            (text,),
            (len(text),),
            None,
            tuple(usage.used.values()),
            subject=subject,
            html=html,
        )

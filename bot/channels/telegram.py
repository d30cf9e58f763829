"""Telegram: the organisation's channel, and each subscriber's chat with the bot.

Messages of up to 4,096 visible characters of Telegram's HTML. The Bot API client is
telegram_api.py, imported only when a message is sent.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from bot.channels.spec import ChannelSpec, Fitted, Fitting, Wiring
from bot.config.model import Strict, secret
from bot.errors import FitError

if TYPE_CHECKING:
    from bot.channels.base import Channel

# Requests in flight at once (the sender's concurrency for this channel): a round trip to
# Telegram takes a few hundred milliseconds, so fewer than ~10 could not reach 30 a second.
CONCURRENCY = 10


class TelegramSettings(Strict):
    enabled: bool = True
    chat: str = ""
    token_env: str = "BOT_TELEGRAM_TOKEN"
    base_url: str = "https://api.telegram.org/bot"
    timeout_seconds: float = Field(default=30, gt=0)


class Telegram(ChannelSpec):
    name: ClassVar[str] = "telegram"
    title: ClassVar[str] = "Telegram"
    settings_model = TelegramSettings
    broadcast: ClassVar[bool] = True
    subscribers: ClassVar[bool] = True
    folder_format: ClassVar[str] = "html"
    concurrency: ClassVar[int] = CONCURRENCY
    archive_rank: ClassVar[int | None] = 1

    @classmethod
    def plain_text(cls, parts: list[str]) -> str:
        """The parts with their markup dropped."""
        return "\n\n".join(_plain(part).strip() for part in parts)

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """telegram.LANG.html.j2, else the statement's paragraphs, split at 4,096."""
        from bot.compose.blocks import telegram_html
        from bot.fit.telegram import TELEGRAM_LIMIT, split_html, validate_html, visible_length

        html = edition.optional("telegram", "html")
        if html is None:
            html = telegram_html(edition.text, edition.context["org"]["name"])
        try:
            validate_html(html)
        except FitError as exc:
            raise FitError(f"messages/{edition.where('telegram', 'html')}: {exc}") from None
        parts = split_html(html, TELEGRAM_LIMIT)
        return Fitted(tuple(parts), tuple(visible_length(p) for p in parts), TELEGRAM_LIMIT)

    @classmethod
    def secrets(cls, settings: TelegramSettings) -> dict[str, str]:
        return {"bot token": settings.token_env}

    @classmethod
    def configured(cls, settings: TelegramSettings) -> bool:
        return bool(secret(settings.token_env))

    @classmethod
    def connect(cls, settings: TelegramSettings, wiring: Wiring) -> Channel | None:
        from bot.channels.telegram_api import TelegramChannel
        from bot.channels.telegram_queue import queue_for

        # The runtime's one queue: posts, the fan-out and the bot's replies share the limits.
        return TelegramChannel.from_settings(settings, queue=queue_for(wiring))

    @classmethod
    def targets(cls, settings: TelegramSettings) -> list[str]:
        return [settings.chat]


def _plain(markup: str) -> str:
    from bot.fit.markup import Text, tokenize

    try:
        return "".join(token.text for token in tokenize(markup) if isinstance(token, Text))
    except FitError:  # checked when composed; if not, drop the tags the plain way
        return html.unescape(re.sub(r"<[^>]*>", "", markup))

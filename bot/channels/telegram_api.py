"""Telegram: each part of a payload is one message in a chat, sent with python-telegram-bot.

Only sendMessage, sendPhoto (a card: telegram_card.py) and deleteMessage are used, so the Bot
is never `initialize()`d: that would cost a getMe call per start and, on a bad token, raise an
error whose text holds the token.

Every message goes through the runtime's Telegram queue (telegram_queue.py), the same one the
subscriber bot's replies take: it keeps Telegram's limits for all of them together, orders each
chat's messages and waits out a 429 before trying the same message again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels import telegram_card
from bot.channels.base import (
    Payload,
    Progress,
    RateLimited,
    RecipientGone,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.telegram import CONCURRENCY, TelegramSettings
from bot.channels.telegram_queue import (
    FOR_OUTBOX,
    FOR_PEOPLE,
    MAX_HELD_SECONDS,
    Priority,
    Retries,
    TelegramQueue,
    retry_after_seconds,
    surely_not_sent,
)
from bot.config.model import secret
from bot.errors import ChannelError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

__all__ = ["MAX_HELD_SECONDS", "TelegramChannel"]

# What Telegram says when this one person can no longer be reached (they blocked the bot,
# deleted their account, or never started it): retrying will not help, stop sending to them.
_GONE = (
    "bot was blocked by the user",
    "user is deactivated",
    "chat not found",
    "bot can't initiate conversation with a user",
)

_HIDDEN = "***"
_CHAT_SETTING = "[channels.telegram] chat in config/bot.toml"


def _shown(chat: str) -> str:
    """A person's chat id as logs and terminals show it: enough to tell apart, not to find."""
    return f"chat {chat[:1]}***{chat[-2:]}" if len(chat) > 4 else "chat ***"


class _HideTokens(logging.Filter):
    """Masks bot tokens in log records.

    The Bot API puts the token in the URL path, and httpx logs every request URL at INFO while
    PTB logs its base URL at DEBUG; neither can be told not to.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for token in self.tokens:
            hidden = hidden.replace(token, _HIDDEN)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_HIDE_TOKENS = _HideTokens()
_LOGGERS_WITH_URLS = ("httpx", "telegram.Bot")


def _hide_in_logs(token: str) -> None:
    _HIDE_TOKENS.tokens.add(token)
    for name in _LOGGERS_WITH_URLS:
        logger = logging.getLogger(name)
        if _HIDE_TOKENS not in logger.filters:
            logger.addFilter(_HIDE_TOKENS)


class TelegramChannel:
    """Posts to one Telegram chat (a channel, group or user) through the Bot API."""

    name: ClassVar[str] = "telegram"
    via: ClassVar[str] = "platform"

    def __init__(
        self,
        settings: TelegramSettings,
        token: str,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        queue: TelegramQueue | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Telegram bot token is required")
        self._settings = settings
        self._token = token
        # The runtime's queue, shared with the subscriber bot; a queue of its own otherwise.
        self.queue = queue or TelegramQueue(clock, sleep)
        # Created on first use, inside the event loop that uses it; `close` lets it go.
        self._bot: Bot | None = None
        self._request: HTTPXRequest | None = None
        _hide_in_logs(token)

    @classmethod
    def from_settings(
        cls,
        settings: TelegramSettings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        queue: TelegramQueue | None = None,
    ) -> TelegramChannel | None:
        """The channel, or None when the token's environment variable is not set."""
        token = secret(settings.token_env)
        return cls(settings, token, clock=clock, sleep=sleep, queue=queue) if token else None

    def __repr__(self) -> str:
        base_url = self._scrub(self._settings.base_url)
        return f"TelegramChannel(chat={self._settings.chat!r}, base_url={base_url!r}, token='***')"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Send the parts not yet in `done`, one message each, and return every message id.

        The organisation's chat goes before the fan-out to subscribers; a person's answer
        (`tell`) before both.
        """
        person = self._is_person(payload)
        priority = Priority.FANOUT if person else Priority.CHANNEL
        return await self._send(payload, done, progress, priority, FOR_OUTBOX, person)

    async def tell(self, payload: Payload) -> list[str]:
        """Staff's messages (an alert, an approval request): ahead of any fan-out, retried
        after a passing failure, never recorded as a delivery."""
        return await self._send(payload, [], _NO_PROGRESS, Priority.PERSON, FOR_PEOPLE, True)

    async def _send(
        self,
        payload: Payload,
        done: list[str],
        progress: Progress,
        priority: Priority,
        retries: Retries,
        person: bool,
    ) -> list[str]:
        chat = self._chat(payload)
        bot = self._client()
        ids = list(done)
        # With a card, its photo comes first (telegram_card.py): the text as its caption
        # when that fits, else in full after it.
        slots = telegram_card.plan(payload)
        png = telegram_card.card_bytes(payload.card) if payload.card and slots[0].photo else b""
        total = len(slots)
        for index in range(len(done), total):
            # Before the queue: the intent is recorded, so a crash while waiting is flagged
            # for a check rather than forgotten.
            await progress.before(index)
            markup = _keyboard(payload) if index == total - 1 else None
            call: Callable[[], Awaitable[Message]] = functools.partial(
                bot.send_message,
                chat_id=chat,
                text=slots[index].text or "",
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup,
            )
            if slots[index].photo and payload.card is not None:
                where = f"{self._settings.base_url} {self._token.partition(':')[0]}"
                call = functools.partial(
                    telegram_card.send_card,
                    bot,
                    where,
                    chat,
                    payload.card,
                    png,
                    slots[index].text,
                    markup,
                )
            try:
                message = await self.queue.send(chat, call, priority=priority, retries=retries)
            except TelegramError as exc:
                where = f"part {index + 1} of {total} to {_shown(chat) if person else chat}"
                # `from None`: PTB's and httpx's exceptions carry the request, whose URL holds
                # the token; a logged traceback must not show them.
                raise self._translate(exc, where, person=person) from None
            ids.append(str(message.message_id))
            await progress.after(index, ids[-1])
        return ids

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Delete each posted message; one that is already gone counts as deleted."""
        chat = self._chat(payload)
        bot = self._client()
        for platform_id in ids:
            if not platform_id.isdigit():
                raise Rejected(f"{platform_id!r} is not a Telegram message id")
            action = f"deleting message {platform_id} in {chat}"
            try:
                await bot.delete_message(chat_id=chat, message_id=int(platform_id))
            except BadRequest as exc:
                said = str(exc).lower()
                # Already deleted; "chat not found" is a different matter, so match it whole.
                if "message to delete not found" in said:
                    continue
                if "can't be deleted" in said:
                    raise Rejected(
                        f"Telegram refused {action}: Telegram only allows deleting messages for "
                        "48 hours; edit or post a correction instead (or, if the message is "
                        "recent, give the bot the right to delete messages in the chat)"
                    ) from None
                raise self._translate(exc, action) from None
            except TelegramError as exc:
                error = self._translate(exc, action)
                # Deleting twice is harmless (the second finds nothing), so an unanswered
                # delete can simply be tried again.
                if isinstance(error, Uncertain):
                    error = TemporaryFailure(str(error))
                raise error from None

    async def close(self) -> None:
        """Close the HTTP connections; the channel opens new ones if used again."""
        request, self._request, self._bot = self._request, None, None
        if request is not None:
            await request.shutdown()

    def _client(self) -> Bot:
        if self._bot is None:
            seconds = self._settings.timeout_seconds
            self._request = HTTPXRequest(
                # As many connections as the sender sends at once: one would let only one
                # request be on its way, whatever the queue allows.
                connection_pool_size=CONCURRENCY,
                connect_timeout=seconds,
                read_timeout=seconds,
                write_timeout=seconds,
                pool_timeout=seconds,
            )
            # The same request object serves getUpdates so that `close` releases everything.
            self._bot = Bot(
                self._token,
                base_url=self._settings.base_url.rstrip("/"),
                request=self._request,
                get_updates_request=self._request,
            )
        return self._bot

    def _chat(self, payload: Payload) -> str:
        chat = payload.target or self._settings.chat
        if not chat:
            raise Rejected(
                f"no Telegram chat to post to: set {_CHAT_SETTING} "
                '(e.g. "@channelname" or "-1001234567890")'
            )
        return chat

    def _is_person(self, payload: Payload) -> bool:
        # Anything but the configured public chat is someone's own chat with the bot (a
        # subscriber's, or staff's for alerts): a refusal there concerns that one person.
        return bool(payload.target) and payload.target != self._settings.chat

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, _HIDDEN)

    def _translate(self, exc: TelegramError, action: str, *, person: bool = False) -> ChannelError:
        """The error kind the outbox acts on, with a message that never holds the token."""
        said = self._scrub(str(exc))
        gone = any(words in said.lower() for words in _GONE)
        if person and gone and isinstance(exc, Forbidden | BadRequest):
            # The sender deactivates the subscriber: never retried, never sent again.
            return RecipientGone(f"Telegram refused {action}: {said}")
        if isinstance(exc, RetryAfter):
            seconds = retry_after_seconds(exc)
            return RateLimited(f"Telegram asked to wait {seconds:g} s before {action}", seconds)
        if isinstance(exc, ChatMigrated):
            return Rejected(
                f"Telegram refused {action}: the group became a supergroup; "
                f'set {_CHAT_SETTING} to "{exc.new_chat_id}"'
            )
        if isinstance(exc, InvalidToken):
            # 401 (revoked token) or 404 (malformed token, or a wrong base_url).
            return Rejected(
                f"the Telegram token is not valid; check {self._settings.token_env} ({said})"
            )
        if isinstance(exc, Forbidden | BadRequest):
            return Rejected(f"Telegram refused {action}: {said}")
        if surely_not_sent(exc):
            return TemporaryFailure(f"could not reach Telegram for {action}: {said}")
        if isinstance(exc, TimedOut):
            # A read or write timeout: the request may have reached Telegram and been posted.
            return Uncertain(
                f"no answer from Telegram within {self._settings.timeout_seconds:g} s for "
                f"{action}; it may have been posted"
            )
        # Anything else (a dropped connection, a 5xx, an unreadable answer) may have come after
        # Telegram accepted the message: a 502/504 from its front end says nothing about the
        # server behind it, and Telegram gives no way to send idempotently. A duplicate post in
        # a public channel is worse than a check by staff, so these are Uncertain.
        kind = "network error" if isinstance(exc, NetworkError) else "error"
        return Uncertain(f"Telegram {kind} during {action}, it may have been posted: {said}")


def _keyboard(payload: Payload) -> InlineKeyboardMarkup | None:
    """The payload's buttons in one row, or None."""
    if not payload.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in payload.buttons]]
    )


class _NoProgress:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


_NO_PROGRESS = _NoProgress()

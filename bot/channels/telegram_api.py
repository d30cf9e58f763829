"""Telegram: each part of a payload is one message in a chat, sent with python-telegram-bot.

Only sendMessage and deleteMessage are used, so the Bot is never `initialize()`d: that would
cost a getMe call per start and, on a bad token, raise an error whose text holds the token.

Sends are spaced to Telegram's documented limits for bots (Bot FAQ, "My bot is hitting
limits"): about 30 messages a second across chats, and one a second in any one chat. A 429
(flood wait) stops every send of this channel until it ends, not only the one refused: the
limit is the bot's, and Telegram lengthens the wait of a bot that keeps sending.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import ClassVar

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
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
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    Payload,
    Progress,
    RateLimited,
    RecipientGone,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.telegram import TelegramSettings
from bot.config.model import secret
from bot.errors import ChannelError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# One below Telegram's 30: at exactly 30 the jitter of timing brings an occasional 429, and
# a 429 stops the whole channel for a second (measured in benchmarks/telegram_fanout.py).
MESSAGES_PER_SECOND = 29
SECONDS_PER_CHAT = 1.0
# Requests in flight at once (the sender's concurrency for this channel): a round trip to
# Telegram takes a few hundred milliseconds, so fewer than ~10 could not reach 30 a second.

# A flood wait longer than this is handed back to the sender (RateLimited) rather than sat out
# here, where the waiting deliveries are already claimed: a crash during a long wait would
# leave them all `unknown` for staff to check, though none was sent.
MAX_HELD_SECONDS = 60.0
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
# httpx raises these only while opening a connection, before any byte of the request is sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


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


def _retry_after_seconds(exc: RetryAfter) -> float:
    # An int (with a deprecation warning) if PTB_TIMEDELTA was set to false, else a timedelta.
    # catch_warnings is process-global, which is safe only because nothing awaits inside it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class _Limits:
    """Spaces sends: 1/30 s apart overall, 1 s apart in each chat, none during a flood wait.

    Sends are let go one at a time, under a lock, and each is stamped with the moment it was
    let go: the spacing holds however many sends wait at once and however late a sleep ends.
    """

    def __init__(self, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        # Time as far as the limiter knows: never before the end of its own last sleep, so a
        # clock that stands still (a test's) or rounds (to microseconds) cannot keep it
        # sleeping forever.
        self._floor = -math.inf
        self._last = -math.inf
        # Only the chats sent to in the last second: a fan-out to many people must not grow it.
        self._chats: dict[str, float] = {}
        self._paused_until = -math.inf
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def pause(self, seconds: float) -> None:
        """Telegram asked to wait: nothing goes out on this channel for `seconds`."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def wait(self, chat: str) -> None:
        """Return when a message may go to `chat`; RateLimited if that is too far off."""
        while True:
            now = self._now()
            held = self._paused_until - now
            if held > MAX_HELD_SECONDS:
                raise RateLimited(f"Telegram asked to wait {held:.0f} s more", held)
            ready = max(self._paused_until, self._chats.get(chat, -math.inf) + SECONDS_PER_CHAT)
            if ready > now:
                await self._until(now, ready)
                continue
            async with self._guard():
                now = self._now()
                due = self._last + 1 / MESSAGES_PER_SECOND
                if due > now:
                    await self._until(now, due)
                    now = self._now()
                if self._paused_until > now:
                    continue  # a 429 came back while this send slept
                self._last = self._chats[chat] = now
                self._forget(now)
                return

    def _now(self) -> float:
        return max(self._clock(), self._floor)

    async def _until(self, now: float, moment: float) -> None:
        await self._sleep(moment - now)
        self._floor = max(self._floor, moment)

    def _forget(self, now: float) -> None:
        for chat in [c for c, at in self._chats.items() if at + SECONDS_PER_CHAT <= now]:
            del self._chats[chat]

    def _guard(self) -> asyncio.Lock:
        # A lock belongs to the event loop that first waits on it; the channel may be used
        # from one `asyncio.run` after another (the alerts, the CLI), so one per loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


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
    ) -> None:
        if not token:
            raise ValueError("a Telegram bot token is required")
        self._settings = settings
        self._token = token
        self._limits = _Limits(clock, sleep)
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
    ) -> TelegramChannel | None:
        """The channel, or None when the token's environment variable is not set."""
        token = secret(settings.token_env)
        return cls(settings, token, clock=clock, sleep=sleep) if token else None

    def __repr__(self) -> str:
        base_url = self._scrub(self._settings.base_url)
        return f"TelegramChannel(chat={self._settings.chat!r}, base_url={base_url!r}, token='***')"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Send the parts not yet in `done`, one message each, and return every message id."""
        chat = self._chat(payload)
        bot = self._client()
        ids = list(done)
        total = len(payload.parts)
        person = self._is_person(payload)
        for index in range(len(done), total):
            await progress.before(index)
            # After `before`: the intent is recorded, so a crash while waiting is flagged for a
            # check rather than forgotten.
            await self._limits.wait(chat)
            try:
                message = await bot.send_message(
                    chat_id=chat,
                    text=payload.parts[index],
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=_keyboard(payload) if index == total - 1 else None,
                )
            except TelegramError as exc:
                where = f"part {index + 1} of {total} to {_shown(chat) if person else chat}"
                error = self._translate(exc, where, person=person)
                if isinstance(error, RateLimited):
                    self._limits.pause(error.retry_after)
                # `from None`: PTB's and httpx's exceptions carry the request, whose URL holds
                # the token; a logged traceback must not show them.
                raise error from None
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
            seconds = _retry_after_seconds(exc)
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
        if isinstance(exc.__cause__, _NOT_SENT):
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

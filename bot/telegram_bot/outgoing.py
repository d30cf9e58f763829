"""The subscriber bot's way out: every reply through the runtime's Telegram queue, and each
chat's updates handled in the order they came.

PTB hands every request of the Application's bot to its rate limiter; `ThroughQueue` is that
limiter. A request that puts something in a chat (a reply, an edit, a note to staff) waits its
turn in the queue (bot/channels/telegram_queue.py) with an answer's priority, so it goes ahead
of a fan-out under way, keeps Telegram's limits together with the channel's posts, and is sent
again after a 429 or a passing failure. Other requests (answering a button press, the command
menu, getMe) go straight through: they put nothing in a chat.

`ChatByChat` processes updates of different chats at once and those of one chat one after
another: a hundred people sending /start are answered together, and a person who sends
/subscribe then /latest gets the two answers in that order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from bot.channels.telegram_queue import FOR_PEOPLE, Priority, TelegramQueue, undelivered

log = logging.getLogger(__name__)

# Bot API methods that put a message in a chat or change one: these count against the limits.
IN_A_CHAT = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
# Updates of different chats handled at once, at most.
CONCURRENT_UPDATES = 256
Result = bool | dict[str, Any] | list[dict[str, Any]]


class ThroughQueue(BaseRateLimiter[None]):
    """PTB's rate limiter hook, handing each message to the queue with an answer's priority."""

    def __init__(self, queue: TelegramQueue) -> None:
        self.queue = queue

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        chat = data.get("chat_id")
        if endpoint not in IN_A_CHAT or chat is None:
            return await callback(*args, **kwargs)

        def call() -> Awaitable[Result]:
            return callback(*args, **kwargs)

        try:
            return await self.queue.send(chat, call, priority=Priority.PERSON, retries=FOR_PEOPLE)
        except TelegramError as exc:
            # Masked: the chat is a person's. The caller decides what else to do (a staff
            # command says it, see staff_commands.py); PTB's error handler logs the rest.
            log.warning("telegram bot: %s", undelivered(str(chat), exc))
            raise


async def undelivered_note(message: Message, exc: TelegramError) -> None:
    """Tell staff that part of an answer did not arrive, if anything still gets through.

    The queue gave up on a message (after its retries); the log has it, masked. Often the chat
    is reachable again a moment later (a flood wait handed back, a passing failure), and a
    person waiting for the editions of /preview must not take silence for the whole answer.
    """
    try:
        await message.reply_text(
            f"Part of this answer could not be delivered ({type(exc).__name__}). "
            "Send the command again."
        )
    except TelegramError as again:
        log.warning("telegram bot: the note about it: %s", undelivered(str(message.chat_id), again))


class ChatByChat(BaseUpdateProcessor):
    """Updates of one chat one at a time, in order; different chats at once."""

    def __init__(self, max_concurrent_updates: int = CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        # A chat → its lock and how many of its updates hold or wait for it.
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id) or (asyncio.Lock(), 0)
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users <= 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

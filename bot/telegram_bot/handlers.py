"""What the bot does with each command and button press.

A chat subscribes itself: the person pressed a button in their own private chat, so that is the
confirmation (no double opt-in as for email). Groups cannot subscribe, since a group's members
never each agreed to receive the posts.

The database is reached in a worker thread (`asyncio.to_thread`) because this event loop is
shared with the scheduler, which must not stall while a query waits on a lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ExtBot

from bot.subscribers import store
from bot.telegram_bot.figures import latest_text
from bot.telegram_bot.texts import LANGUAGE_CHOICE, LANGUAGE_NAMES, both, text

if TYPE_CHECKING:
    from bot.app import App
    from bot.publish.sender import Report
    from bot.runtime import Runtime

Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
CHANNEL = "telegram"
log = logging.getLogger(__name__)


class Handlers:
    """The callbacks registered on the Application, sharing the App's database and settings."""

    def __init__(
        self, runtime: Runtime, send: Callable[[], Awaitable[Report]] | None = None
    ) -> None:
        self.runtime = runtime
        self.app: App = runtime.app
        self.langs: tuple[str, ...] = tuple(runtime.app.settings.file.languages)
        # Inside `bot run`, the scheduler's own sender (see bot/telegram_bot/staff_posts.py).
        self.send = send

    async def start(self, update: Update, context: Context) -> None:
        """A welcome in every language and a button per language."""
        message = await self._private(update, context)
        if message is None:
            return
        org = self.app.settings.file.organisation.name
        welcome = "\n\n".join(text("welcome", lang, org=org.get(lang)) for lang in self.langs)
        await message.reply_text(welcome, reply_markup=self._language_buttons())

    async def subscribe(self, update: Update, context: Context) -> None:
        """Subscribe again in the known language, or ask for one."""
        message = await self._private(update, context)
        if message is None:
            return
        known = await asyncio.to_thread(store.find, self.app.engine, CHANNEL, _address(message))
        if known is None:
            await message.reply_text(
                both("choose_language", self.langs), reply_markup=self._language_buttons()
            )
            return
        _, fresh = await asyncio.to_thread(self._add, _address(message), known.lang)
        log.info(
            "telegram: a subscriber %s (%s)", "came back" if fresh else "asked again", known.lang
        )
        await message.reply_text(
            text("resubscribed" if fresh else "already_subscribed", known.lang)
        )

    async def stop(self, update: Update, context: Context) -> None:
        """Unsubscribe, and say so in the person's language."""
        message = await self._private(update, context)
        if message is None:
            return
        known = await asyncio.to_thread(store.find, self.app.engine, CHANNEL, _address(message))
        if known is None or known.status == "unsubscribed":
            lang = known.lang if known else _guess_language(update)
            await message.reply_text(text("not_subscribed", lang))
            return
        await asyncio.to_thread(store.unsubscribe, self.app.engine, known.id, self.app.clock())
        log.info("telegram: a subscriber left (%s)", known.lang)
        await message.reply_text(text("unsubscribed", known.lang))

    async def latest(self, update: Update, context: Context) -> None:
        """The latest figures, in the person's language; anyone may ask, groups too."""
        message = update.effective_message
        if message is None:
            return
        lang = await self._language(update, message)
        await message.reply_text(await asyncio.to_thread(latest_text, self.app, lang))

    async def help(self, update: Update, context: Context) -> None:
        """The commands, in the person's language."""
        message = update.effective_message
        if message is None:
            return
        await message.reply_text(text("help", await self._language(update, message)))

    async def choose(self, update: Update, context: Context) -> None:
        """A button press: always answered, and only a known button from a private chat acts."""
        query = update.callback_query
        if query is None:
            return
        try:
            note = await self._choose(query)
        except Exception:
            await _answer(query, both("failed", self.langs))
            raise
        await _answer(query, note)

    async def _choose(self, query: CallbackQuery) -> str:
        data = query.data or ""
        lang = data.removeprefix(LANGUAGE_CHOICE)
        # Anyone can send any callback data, not only what our buttons carry.
        if not data.startswith(LANGUAGE_CHOICE) or lang not in self.langs:
            log.info("telegram: refused a button press with unknown data")
            return both("stale_button", self.langs)
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return both("personal", self.langs)
        address = str(message.chat.id)
        _, fresh = await asyncio.to_thread(self._add, address, lang)
        log.info("telegram: a chat subscribed in %s%s", lang, "" if fresh else " (again)")
        try:
            # The buttons have done their job; pressing them again would only confuse.
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError as exc:
            log.debug("telegram: could not remove the language buttons: %s", type(exc).__name__)
        await _send_to_chat(query, text("subscribed", lang))
        return text("chosen", lang)

    def _add(self, address: str, lang: str) -> tuple[store.Subscriber, bool]:
        known = store.find(self.app.engine, CHANNEL, address)
        # A returning person keeps the topics they had; a new one gets everything.
        topics = known.topics if known and known.topics else store.TOPICS
        return store.add(
            self.app.engine, CHANNEL, address, lang, topics, self.app.clock(), confirmed=True
        )

    async def _language(self, update: Update, message: Message) -> str:
        """The subscriber's language if known, else the one their Telegram app uses."""
        if _is_private(message):
            known = await asyncio.to_thread(store.find, self.app.engine, CHANNEL, _address(message))
            if known is not None and known.lang in self.langs:
                return known.lang
        guess = _guess_language(update)
        return guess if guess in self.langs else self.langs[0]

    def _language_buttons(self) -> InlineKeyboardMarkup:
        buttons = [
            InlineKeyboardButton(
                LANGUAGE_NAMES.get(lang, lang), callback_data=LANGUAGE_CHOICE + lang
            )
            for lang in self.langs
        ]
        return InlineKeyboardMarkup([buttons])

    async def _private(self, update: Update, context: Context) -> Message | None:
        """The message of a private chat; in a group, say subscriptions are personal (None)."""
        message = update.effective_message
        if message is not None and not _is_private(message):
            await self._personal(message, context)
            return None
        return message

    async def _personal(self, message: Message, context: Context) -> None:
        markup = None
        # Known once the Application is initialized (getMe), which it is while handling updates.
        username = context.bot.username
        if username:
            link = f"https://t.me/{username}?start=subscribe"
            label = " / ".join(text("open_private_chat", lang) for lang in self.langs)
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link)]])
        await message.reply_text(both("personal", self.langs), reply_markup=markup)


def _is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def _address(message: Message) -> str:
    # In a private chat the chat id is the person's id; it is the subscriber's address.
    return str(message.chat.id)


def _guess_language(update: Update) -> str:
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "my" if code.lower().startswith("my") else "en"


async def _send_to_chat(query: CallbackQuery, html: str) -> None:
    """Send a message to the chat the pressed button is in."""
    if query.message is not None:
        await query.get_bot().send_message(query.message.chat.id, html)


async def _answer(query: CallbackQuery, note: str) -> None:
    try:
        await query.answer(note[:200])  # Telegram's limit for the toast
    except TelegramError as exc:
        # Too late (the person pressed long ago): nothing to do; they see the outcome anyway.
        log.debug("telegram: could not answer a button press: %s", type(exc).__name__)

"""Staff commands in Telegram: /preview, /postnow, /figures, /setfigures, /pause, /resume,
/status, /history, and the Confirm / Cancel buttons; /whoami for anyone.

Whether someone is staff is decided by the numeric user id of the sender (bot/telegram_bot/
staff.py). Staff commands are answered only in a private chat with the bot and in the admin
chat of config/schedule.toml; anywhere else every member would read the answer, so there they
get none at all. Everyone else is refused in their language, and the refusal is logged with the
command's name and a masked id only: what they typed may be anything, including others' data.

A command that changes something (/postnow, /setfigures) shows what it would do and waits for
Confirm from the same person in the same chat (bot/telegram_bot/staff_confirm.py). The sending
after /postnow runs as a task of its own: a fan-out can take hours, and the bot must still
answer meanwhile, a /pause above all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot import control
from bot.calendar.config import load_schedule
from bot.errors import BotError
from bot.figures.entries import unstorable
from bot.privacy import mask_chat
from bot.publish.history import local_time, recent
from bot.publish.outbox import Created
from bot.publishing.decision import Ask, Decision
from bot.staff import staff_chat
from bot.status import status_lines
from bot.subscribers import store
from bot.telegram_bot.handlers import Context, Handlers
from bot.telegram_bot.outgoing import undelivered_note
from bot.telegram_bot.staff import sender_name, staff_name
from bot.telegram_bot.staff_confirm import (
    PREFIX,
    TTL,
    Confirmations,
    figures_action,
    figures_record,
)
from bot.telegram_bot.staff_figures import (
    FiguresAction,
    figures_html,
    parse_request,
    preview_change,
    store_figures,
    stored_html,
)
from bot.telegram_bot.staff_posts import (
    CardShown,
    PostAction,
    approval_check,
    card_caption,
    channels,
    edition_html,
    languages,
    post_record,
    preview_now,
    publish_action,
    published_html,
    rebuild_post,
    refusal_html,
    report_html,
    send_publication,
    summary_html,
    with_cards,
)
from bot.telegram_bot.staff_texts import error_html, esc, fit, pre, public_text

log = logging.getLogger(__name__)
MAX_REASON = 500
_MINUTES = int(TTL.total_seconds() // 60)
_REFUSED_PRESS = {
    "unknown": "This button is no longer valid: send the command again.",
    "expired": f"Too late: a confirmation lasts {_MINUTES} minutes. Send the command again.",
    "not_yours": "Only {owner} can decide this, in the chat where it was asked.",
}


@dataclass(frozen=True)
class Request:
    """A staff command: who sent it (id and name), where, and the words after the command."""

    message: Message
    user_id: int
    staff: str
    rest: str


StaffAction = Callable[[Request], Awaitable[None]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


class StaffCommands:
    """The staff commands and their buttons, sharing the subscriber bot's App and sender."""

    def __init__(self, handlers: Handlers) -> None:
        self.app = handlers.app
        self.handlers = handlers
        self.pending = Confirmations(self.app.engine, lambda: self.app.clock())
        # Sends under way; kept so they are not garbage-collected while they run.
        self._sending: set[asyncio.Task[None]] = set()

    def commands(self) -> dict[str, StaffAction]:
        """Each staff command's name and what it does once the sender is known to be staff."""
        return {
            "preview": self.preview,
            "postnow": self.postnow,
            "figures": self.figures,
            "setfigures": self.setfigures,
            "pause": self.pause,
            "resume": self.resume,
            "status": self.status,
            "history": self.history,
        }

    def command(self, name: str, action: StaffAction) -> Callback:
        """The handler for /`name`: staff only; the bot's own refusals are shown, not raised."""

        async def handle(update: Update, context: Context) -> None:
            message, user = update.effective_message, update.effective_user
            if message is None or user is None:
                return
            if not self._here(update):
                log.info("telegram staff: /%s ignored outside the private and admin chats", name)
                return
            staff = sender_name(self.app, update)
            if staff is None:
                log.warning(
                    "telegram staff: refused /%s from %s: not on the staff list",
                    name,
                    mask_chat(str(user.id)),
                )
                await message.reply_text(public_text("staff_only", await self._language(update)))
                return
            log.info("telegram staff: %s sent /%s", staff, name)
            # The words after "/command" (or "/command@bot"), quotes and all for /setfigures.
            words = (message.text or "").split(maxsplit=1)
            rest = words[1] if len(words) > 1 else ""
            try:
                await action(Request(message, user.id, staff, rest))
            except BotError as exc:
                await message.reply_text(error_html(exc))
            except TelegramError as exc:
                await undelivered_note(message, exc)  # logged (masked) in outgoing.py

        return handle

    # -- anyone ---------------------------------------------------------------------------

    async def whoami(self, update: Update, context: Context) -> None:
        """The person's numeric Telegram id, which is what [staff] in config/bot.toml lists."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        lang = await self._language(update)
        await message.reply_text(public_text("whoami", lang, user_id=user.id))

    # -- posts ----------------------------------------------------------------------------

    async def preview(self, request: Request) -> None:
        """The editions of a message as they would go out now, one message each, with each
        language's figure card as a photo before that language's editions (`_show`)."""
        words = request.rest.split()
        if not words:
            await request.message.reply_text("Usage: /preview MESSAGE [en|my]")
            return
        ask = Ask(words[0], "telegram", request.staff, langs=languages(words[1:]))
        composed = await asyncio.to_thread(preview_now, self.handlers.runtime, ask)
        await _show(request.message, composed)

    async def postnow(self, request: Request) -> None:
        """The preview, cards included (`_show`), then Confirm / Cancel, last; Confirm
        publishes as `bot post-now --yes`."""
        words = request.rest.split()
        if not words:
            await request.message.reply_text("Usage: /postnow MESSAGE [channel,channel,…]")
            return
        ask = Ask(words[0], "telegram", request.staff, channels=channels(words[1:]))
        composed = await asyncio.to_thread(preview_now, self.handlers.runtime, ask)
        if composed.verdict in ("no-channel", "paused"):
            await request.message.reply_text(refusal_html(composed))
            return
        await _show(request.message, composed)
        if composed.failures:
            await request.message.reply_text(
                f"Not published: {len(composed.failures)} edition(s) cannot be sent as shown."
            )
            return
        if composed.verdict != "ready":
            await request.message.reply_text(refusal_html(composed))
            return
        if composed.message.settings.approval:
            # Ask (or find) the approvals before offering Confirm, as `bot post-now` does.
            checked = await approval_check(self.handlers.runtime, composed)
            if checked.verdict != "ready":
                await request.message.reply_text(refusal_html(checked))
                return
        record = post_record(PostAction(ask, composed))
        buttons = await asyncio.to_thread(
            self.pending.ask, "post", record, request.user_id, request.message.chat_id
        )
        await request.message.reply_text(
            f"Publish <b>{esc(composed.message.name)}</b> for {composed.occasion.on} to "
            f"{', '.join(composed.channels)}? Only you can confirm, within {_MINUTES} minutes.",
            reply_markup=buttons,
        )

    # -- figures --------------------------------------------------------------------------

    async def figures(self, request: Request) -> None:
        """The newest figures, how old they are and who entered them."""
        await request.message.reply_text(await asyncio.to_thread(figures_html, self.app))

    async def setfigures(self, request: Request) -> None:
        """Checked and shown as old → new, then Confirm / Cancel; nothing stored before."""
        action = parse_request(request.rest)
        lines, anything = await asyncio.to_thread(preview_change, self.app, action)
        if not anything:
            await request.message.reply_text(
                fit("<b>Nothing new to store</b>:\n", "\n".join(lines))
            )
            return
        lines.append(f"\nOnly you can confirm, within {_MINUTES} minutes.")
        buttons = await asyncio.to_thread(
            self.pending.ask,
            "figures",
            figures_record(action),
            request.user_id,
            request.message.chat_id,
        )
        await request.message.reply_text(
            fit("<b>Enter these figures?</b>\n", "\n".join(lines)), reply_markup=buttons
        )

    # -- the bot itself -------------------------------------------------------------------

    async def pause(self, request: Request) -> None:
        """Stop every outgoing post at once, as `bot pause`; the reason is required."""
        reason = request.rest.strip()
        if not reason:
            await request.message.reply_text("Give the reason: /pause checking a figure")
            return
        problem = unstorable(reason)
        if problem or len(reason) > MAX_REASON:
            why = problem or f"is longer than {MAX_REASON} characters"
            await request.message.reply_text(f"Not paused: the reason {esc(why)}.")
            return
        await asyncio.to_thread(
            control.pause, self.app.engine, reason, request.staff, self.app.clock(), None
        )
        await request.message.reply_text(
            "Paused: nothing will be posted, scheduled or manual, a fan-out under way included. "
            "/resume lifts it."
        )

    async def resume(self, request: Request) -> None:
        """Lift the pause, as `bot resume`."""
        lifted = await asyncio.to_thread(control.resume, self.app.engine)
        await request.message.reply_text(
            "Resumed: `bot run` continues where it stopped."
            if lifted
            else "The bot was not paused."
        )

    async def status(self, request: Request) -> None:
        """What `bot status` prints."""
        lines = await asyncio.to_thread(self._status_lines)
        await request.message.reply_text(pre(lines))

    def _status_lines(self) -> list[str]:
        schedule = load_schedule(self.app.settings.config_dir / "schedule.toml")
        return [line.text for line in status_lines(self.app, schedule)]

    async def history(self, request: Request) -> None:
        """What `bot history --limit 10` prints."""
        rows = await asyncio.to_thread(recent, self.app.engine, 10)
        lines = [row.describe(local_time(self.app, row.created_at)) for row in rows]
        await request.message.reply_text(pre(lines) if lines else "Nothing has been published yet.")

    # -- the buttons ----------------------------------------------------------------------

    async def decide(self, update: Update, context: Context) -> None:
        """Confirm or Cancel: only by the staff member who asked, in that chat, in time."""
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        if not (query.data or "").startswith(PREFIX):
            # PTB passes a press without data to every pattern; it is not a staff button.
            await self.handlers.choose(update, context)
            return
        staff = await self.staff_pressing(update, query)
        if staff is None:
            return
        chat_id = query.message.chat.id if query.message is not None else None
        decision = await asyncio.to_thread(self.pending.decide, query.data or "", user.id, chat_id)
        if decision.refusal is not None:
            log.warning("telegram staff: refused a button press by %s: %s", staff, decision.refusal)
            owner = staff_name(self.app, decision.owner) or "the person who asked"
            await _answer(query, _REFUSED_PRESS[decision.refusal].format(owner=owner))
            if decision.refusal == "expired":
                await _drop_buttons(query)
            return
        await _drop_buttons(query)
        action = decision.action
        if chat_id is None or action is None:
            return
        if not decision.confirmed:
            log.info("telegram staff: %s cancelled", staff)
            await _answer(query, "Cancelled.")
            done = "published" if decision.kind == "post" else "stored"
            await context.bot.send_message(chat_id, f"Cancelled: nothing was {done}.")
            return
        log.info("telegram staff: %s confirmed", staff)
        await _answer(query, "Confirmed.")
        try:
            if decision.kind == "post":
                await self._publish(context.bot, chat_id, action, staff)
            else:
                await self._enter(context.bot, chat_id, figures_action(action), staff)
        except BotError as exc:
            await context.bot.send_message(chat_id, error_html(exc))

    async def _publish(self, bot: Bot, chat_id: int, record: dict[str, Any], by: str) -> None:
        # Composed again and compared with what was shown (it may be a restart later); the
        # publisher checks everything else again and publishes exactly the editions shown.
        action = await asyncio.to_thread(rebuild_post, self.handlers.runtime, record)
        if isinstance(action, str):
            await bot.send_message(chat_id, action)
            return
        decision = await publish_action(self.handlers.runtime, action)
        created = decision.created
        if created is None:
            await bot.send_message(chat_id, refusal_html(decision))
            return
        await bot.send_message(chat_id, published_html(created))
        task = asyncio.create_task(self._send_and_report(bot, chat_id, created))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_and_report(self, bot: Bot, chat_id: int, created: Created) -> None:
        number = created.publication_id
        runtime = self.handlers.runtime
        try:
            note = await send_publication(runtime, self.handlers.send, number)
            said = await asyncio.to_thread(report_html, runtime, created, note)
        except Exception as exc:
            # Not the exception's text: it may quote a subscriber's address.
            log.error("telegram staff: sending #%d failed: %s", number, type(exc).__name__)
            said = (
                f"Sending #{number} failed ({esc(type(exc).__name__)}); `bot show {number}` "
                "tells what went out."
            )
        try:
            await bot.send_message(chat_id, said)
        except TelegramError as exc:
            log.warning("telegram staff: could not report #%d: %s", number, type(exc).__name__)

    async def _enter(self, bot: Bot, chat_id: int, action: FiguresAction, by: str) -> None:
        # enter() checks again: figures entered since the preview may refuse these now.
        outcome = await asyncio.to_thread(store_figures, self.app, action, by)
        await bot.send_message(chat_id, stored_html(outcome, by))

    # -- helpers --------------------------------------------------------------------------

    async def staff_pressing(self, update: Update, query: CallbackQuery) -> str | None:
        """The staff member who pressed a button; anyone else is refused (and logged) here."""
        if not self._here(update):
            await _answer(query, "")  # ends the button's spinner; nothing is shown
            return None
        staff = sender_name(self.app, update)
        if staff is None:
            user = update.effective_user
            log.warning(
                "telegram staff: refused a button press from %s: not on the staff list",
                mask_chat(str(user.id)) if user else "unknown",
            )
            await _answer(query, public_text("staff_only_button", await self._language(update)))
        return staff

    def _here(self, update: Update) -> bool:
        """Whether staff commands are answered in this chat (bot/staff.py `staff_chat`)."""
        chat, admin = update.effective_chat, self.handlers.runtime.schedule.admin.telegram_chat
        return chat is not None and staff_chat(chat.type, chat.id, chat.username, admin)

    async def _language(self, update: Update) -> str:
        """The person's language: as subscribed, else their Telegram app's, else English."""
        user = update.effective_user
        langs = self.handlers.langs
        if user is None:
            return langs[0]
        known = await asyncio.to_thread(store.find, self.app.engine, "telegram", str(user.id))
        if known is not None and known.lang in langs:
            return known.lang
        code = (user.language_code or "").lower()
        return "my" if code.startswith("my") and "my" in langs else "en"


async def _show(message: Message, composed: Decision) -> None:
    """The summary, then each edition, each language's figure card as a photo (with its alt
    text) just before that language's editions: what /preview shows and /postnow asks about.

    Each answer is awaited before the next is handed to the queue (outgoing.py), so they
    arrive in this order, and a question sent after this comes last.
    """
    await message.reply_text(summary_html(composed))
    for item in with_cards(composed.editions):
        if isinstance(item, CardShown):
            await message.reply_photo(
                item.card.png(),
                caption=card_caption(item),
                filename=f"{item.message}-{item.lang}.png",
            )
        else:
            await message.reply_text(edition_html(item))


async def _answer(query: CallbackQuery, note: str) -> None:
    try:
        await query.answer(note[:200] or None)  # Telegram's limit for the toast; none: none
    except TelegramError as exc:
        log.debug("telegram staff: could not answer a button press: %s", type(exc).__name__)


async def _drop_buttons(query: CallbackQuery) -> None:
    """A decision is made once: the buttons go, so nobody presses them again by mistake."""
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.debug("telegram staff: could not remove the buttons: %s", type(exc).__name__)

"""Approving from Telegram: the buttons under an approval request, /approvals, /approve, /reject.

Only staff (`[staff]` in config/bot.toml) decide. Anyone can send any button data, so a press
is checked like a command: the presser must be staff, the request must exist, be open and match
the button's fingerprint; otherwise nothing changes and the attempt is logged without its data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.approvals import gate, notify
from bot.approvals.gate import ApprovalError
from bot.approvals.store import APPROVE, REJECT
from bot.privacy import mask_chat
from bot.telegram_bot.handlers import Context
from bot.telegram_bot.staff import sender_name

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
STAFF_ONLY = {
    "en": "Sorry, only the organisation's staff can do this.",
    "my": "တောင်းပန်ပါသည်။ ဤအရာကို အဖွဲ့အစည်း၏ ဝန်ထမ်းများသာ ပြုလုပ်နိုင်ပါသည်။",
}


def _refusal(update: Update) -> str:
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return STAFF_ONLY["my" if code.lower().startswith("my") else "en"]


def _log_refused(update: Update, what: str) -> None:
    user = update.effective_user
    who = mask_chat(str(user.id)) if user else "unknown"
    # Never their text or button data: it is whatever a stranger chose to send.
    log.warning("telegram: refused %s from %s, who is not staff", what, who)


class ApprovalHandlers:
    """The approval commands and buttons, sharing the App's database."""

    def __init__(self, app: App, approved: Callable[[], None] | None = None) -> None:
        self.app = app
        self.approved = approved

    async def button(self, update: Update, context: Context) -> None:
        """Approve or Reject pressed under a request."""
        query = update.callback_query
        if query is None:
            return
        name = sender_name(self.app, update)
        if name is None:
            _log_refused(update, "an approval button")
            await _answer(query, _refusal(update))
            return
        parsed = notify.parse_button(query.data or "")
        if parsed is None:
            log.info("telegram: %s pressed an approval button with unknown data", name)
            await _answer(query, "This button is not one of ours, or it is outdated.")
            return
        request_id, mark, approve = parsed
        if not approve:
            await _answer(query, f"Say why: /reject {request_id} your reason")
            await _send(query, f"To reject #{request_id}, send: /reject {request_id} your reason")
            return
        said, closed = await self._decide(name, request_id, APPROVE, None, mark)
        await _answer(query, said)
        await _send(query, f"{name}: {said}")
        if closed:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as exc:
                log.debug("telegram: could not remove approval buttons: %s", type(exc).__name__)

    async def list(self, update: Update, context: Context) -> None:
        """/approvals: what waits for a decision."""
        message = await self._staff_message(update, "/approvals")
        if message is None:
            return
        found, last = await asyncio.to_thread(gate.pending, self.app.engine)
        if not found:
            await message.reply_text("Nothing waits for approval.")
            return
        lines = [gate.summary(r, last) + f" · {notify.rule(r, last)}" for r in found]
        await message.reply_text(notify.html("\n".join(lines)))

    async def approve(self, update: Update, context: Context) -> None:
        """/approve ID."""
        await self._command(update, context, APPROVE)

    async def reject(self, update: Update, context: Context) -> None:
        """/reject ID reason."""
        await self._command(update, context, REJECT)

    async def _command(self, update: Update, context: Context, decision: str) -> None:
        message = await self._staff_message(update, f"/{decision}")
        if message is None:
            return
        name = sender_name(self.app, update)
        assert name is not None
        args = context.args or []
        if not args or not args[0].lstrip("#").isdigit() or len(args[0]) > 12:
            usage = "/approve ID" if decision == APPROVE else "/reject ID reason"
            await message.reply_text(f"Write it as {usage}, e.g. {usage.replace('ID', '12')}.")
            return
        reason = " ".join(args[1:]) if decision == REJECT else None
        said, _ = await self._decide(name, int(args[0].lstrip("#")), decision, reason, None)
        await message.reply_text(notify.html(f"{name}: {said}"))

    async def _decide(
        self, name: str, request_id: int, decision: str, reason: str | None, mark: str | None
    ) -> tuple[str, bool]:
        """What to tell the person, and whether the request is now decided."""
        try:
            request, said = await asyncio.to_thread(
                gate.decide,
                self.app.engine,
                request_id,
                voter=name,
                decision=decision,
                via="telegram",
                now=self.app.clock(),
                reason=reason,
                fingerprint_start=mark,
            )
        except ApprovalError as exc:
            return str(exc), False
        log.info("telegram: %s %sd request #%d", name, decision, request_id)
        if request.state == "approved" and self.approved is not None:
            self.approved()
        return said, request.state != "pending"

    async def _staff_message(self, update: Update, what: str) -> Message | None:
        message = update.effective_message
        if message is None:
            return None
        if sender_name(self.app, update) is None:
            _log_refused(update, what)
            await message.reply_text(_refusal(update))
            return None
        return message


async def _answer(query: CallbackQuery, note: str) -> None:
    try:
        await query.answer(note[:200])  # Telegram's limit for the toast
    except TelegramError as exc:
        log.debug("telegram: could not answer a button press: %s", type(exc).__name__)


async def _send(query: CallbackQuery, text: str) -> None:
    if query.message is not None:
        await query.get_bot().send_message(query.message.chat.id, notify.html(text))

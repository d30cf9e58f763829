"""Approving from Telegram: the buttons under an approval request, /approvals, /approve, /reject.

The commands go through the staff commands' own check (bot/telegram_bot/staff_commands.py):
only staff decide. Anyone can send any button data, so a press is checked like a command: the
presser must be staff, the request must exist, be open and match the button's fingerprint;
otherwise nothing changes and the attempt is logged without its data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Update
from telegram.error import TelegramError

from bot.approvals import gate, notify
from bot.approvals.gate import ApprovalError
from bot.approvals.store import APPROVE, REJECT
from bot.telegram_bot.handlers import Context

if TYPE_CHECKING:
    from bot.app import App
    from bot.telegram_bot.staff_commands import Request, StaffAction, StaffCommands

log = logging.getLogger(__name__)


class ApprovalHandlers:
    """The approval commands and buttons, sharing the App's database and the staff check."""

    def __init__(
        self, app: App, staff: StaffCommands, approved: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.staff = staff
        # Called when a request becomes approved (in `bot run`: wake the scheduler).
        self.approved = approved

    def commands(self) -> dict[str, StaffAction]:
        """The staff commands this adds, run after the staff check."""
        return {"approvals": self.list, "approve": self.approve, "reject": self.reject}

    async def button(self, update: Update, context: Context) -> None:
        """Approve or Reject pressed under a request."""
        query = update.callback_query
        if query is None:
            return
        name = await self.staff.staff_pressing(update, query)
        if name is None:
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

    async def list(self, request: Request) -> None:
        """/approvals: what waits for a decision."""
        found, last = await asyncio.to_thread(gate.pending, self.app.engine)
        if not found:
            await request.message.reply_text("Nothing waits for approval.")
            return
        lines = [gate.summary(r, last) + f" · {notify.rule(r, last)}" for r in found]
        await request.message.reply_text(notify.html("\n".join(lines)))

    async def approve(self, request: Request) -> None:
        """/approve ID."""
        await self._command(request, APPROVE)

    async def reject(self, request: Request) -> None:
        """/reject ID reason."""
        await self._command(request, REJECT)

    async def _command(self, request: Request, decision: str) -> None:
        words = request.rest.split(maxsplit=1)
        if not words or not words[0].lstrip("#").isdigit() or len(words[0]) > 12:
            usage = "/approve ID" if decision == APPROVE else "/reject ID reason"
            await request.message.reply_text(
                f"Write it as {usage}, e.g. {usage.replace('ID', '12')}."
            )
            return
        reason = words[1] if decision == REJECT and len(words) > 1 else None
        number = int(words[0].lstrip("#"))
        said, _ = await self._decide(request.staff, number, decision, reason, None)
        await request.message.reply_text(notify.html(f"{request.staff}: {said}"))

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


async def _answer(query: CallbackQuery, note: str) -> None:
    try:
        await query.answer(note[:200])  # Telegram's limit for the toast
    except TelegramError as exc:
        log.debug("telegram: could not answer a button press: %s", type(exc).__name__)


async def _send(query: CallbackQuery, text: str) -> None:
    if query.message is not None:
        await query.get_bot().send_message(query.message.chat.id, notify.html(text))

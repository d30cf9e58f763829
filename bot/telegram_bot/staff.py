"""Who may control the bot from Telegram: the people listed in `[staff]` of config/bot.toml.

Only the numeric user id counts. A username can be changed or taken over, and anyone can send
any text or any button data, so every staff command and every staff button checks this first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.staff import telegram_name

if TYPE_CHECKING:
    from bot.app import App


def staff_name(app: App, user_id: int | None) -> str | None:
    """The staff member's name for a Telegram user id, or None for everyone else."""
    return telegram_name(app.settings, user_id)


def sender_name(app: App, update: Update) -> str | None:
    """The name of the staff member who sent this update, or None."""
    user = update.effective_user
    return staff_name(app, user.id if user else None)

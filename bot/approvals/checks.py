"""`bot config check` for the approval gate: a gated message must be able to get its approvals."""

from __future__ import annotations

from collections.abc import Collection

from bot.compose.messages import Message
from bot.config.settings import Settings


def approval_problems(
    settings: Settings, messages: list[Message], scheduled: Collection[str], admins_reachable: bool
) -> list[str]:
    """Gated messages nobody would be asked about, or that too few staff could approve.

    `scheduled`: the names of the messages config/schedule.toml posts; `admins_reachable`: whether
    it names an admin Telegram chat or email address to ask.
    """
    staff = settings.file.staff
    problems = []
    for message in messages:
        needed = message.settings.approval
        if not needed:
            continue
        where = f"messages/{message.name}/message.toml: approval = {needed}"
        if message.name in scheduled and not admins_reachable:
            problems.append(
                f"{where}, but no one would be asked: set [admin] telegram_chat or email in "
                "config/schedule.toml, or the post is held every time"
            )
        if staff and len(staff) < needed:
            problems.append(
                f"{where}, but [staff] in config/bot.toml names {len(staff)} "
                f"{'person' if len(staff) == 1 else 'people'}"
            )
    return problems

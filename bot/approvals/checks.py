"""`bot config check` for the approval gate: a gated message must be able to get its approvals."""

from __future__ import annotations

from collections.abc import Collection

from bot.compose.messages import Message
from bot.config.settings import Settings
from bot.staff import verifies


def approval_problems(
    settings: Settings, messages: list[Message], scheduled: Collection[str], admins_reachable: bool
) -> list[str]:
    """Gated messages nobody would be asked about, or whose approvals the staff cannot give.

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
        if needed >= 2 and len(staff) <= needed:
            # Whoever entered or corrected the figures cannot approve them, nor can whoever
            # asked to publish: one more person than the approvals is the least that works.
            problems.append(
                f"{where}, but [staff] in config/bot.toml names {len(staff) or 'nobody'}"
                f"{' person' if len(staff) == 1 else ' people' if staff else ''}: whoever "
                f"enters the figures cannot approve them, so at least {needed + 1} are needed"
            )
        elif needed >= 2 and not verifies(settings):
            problems.append(
                f"{where}, but [staff] in config/bot.toml gives nobody an account: names typed "
                "in a terminal (bot figures set, BOT_USER) are not checked, so the rule cannot "
                'tell who entered figures there. Give each person account = "login"'
            )
    return problems

"""`bot config check` for the approval gate: a gated message must be able to get its approvals."""

from __future__ import annotations

from bot.compose.messages import Message
from bot.config.settings import Settings
from bot.schedule.config import Schedule


def approval_problems(settings: Settings, schedule: Schedule, messages: list[Message]) -> list[str]:
    """Gated messages nobody would be asked about, or that too few staff could approve."""
    scheduled = {
        e.message
        for e in (*schedule.anniversary, *schedule.interval, *schedule.milestone, *schedule.day)
    }
    staff = settings.file.staff
    problems = []
    for message in messages:
        needed = message.settings.approval
        if not needed:
            continue
        where = f"messages/{message.name}/message.toml: approval = {needed}"
        if message.name in scheduled and not (schedule.admin.telegram_chat or schedule.admin.email):
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

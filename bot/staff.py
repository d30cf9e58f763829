"""Who is who: the people under `[staff]` in config/bot.toml, on Telegram and in a terminal.

On Telegram a person is their numeric user id. In a terminal a person is the operating-system
account that runs the command; behind `sudo`, the account that ran sudo (SUDO_USER), believed
only when the command runs as root or as the account that owns the bot's files (`var/`): those
accounts can rewrite the records directly anyway, and sudo is how staff reach them.

When `[staff]` gives nobody an `account` (a fresh set-up, or staff known by Telegram id only),
the terminal cannot tell people apart: the name is BOT_USER, else the login name, and nothing
is verified. `bot config check` says when that leaves the two-person rule open, and votes from a
terminal are refused where they would count as a verified person.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config.settings import Settings
from bot.errors import BotError


class IdentityError(BotError):
    """The person at the keyboard is not who the command says, or not staff at all."""


@dataclass(frozen=True)
class Person:
    """Who runs a command: the name records show, their account, and whether it is checked."""

    name: str
    account: str
    # True when [staff] maps the account to the name; False when names are only declared.
    verified: bool


def _account_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # an account without a passwd entry (a container's arbitrary uid)
        return str(uid)


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def login(
    home: Path,
    env: Mapping[str, str] = os.environ,
    euid: int | None = None,
    owner: Callable[[Path], int | None] = _owner,
) -> str:
    """The account running this command, or the sudo user behind it (see the module's note).

    Read from the process's effective uid, never from USER or LOGNAME, which anyone can set.
    """
    uid = os.geteuid() if euid is None else euid
    account = _account_of(uid)
    sudo = env.get("SUDO_USER", "").strip()
    if sudo and sudo != account and (uid == 0 or owner(home / "var") == uid):
        return sudo
    return account


def verifies(settings: Settings) -> bool:
    """Whether [staff] gives accounts, so that a terminal's user is known by their account."""
    return any(member.account for member in settings.file.staff.values())


def telegram_name(settings: Settings, user_id: int | None) -> str | None:
    """The staff member with this Telegram user id, or None for everyone else."""
    if user_id is None:
        return None
    for name, member in settings.file.staff.items():
        if member.telegram == user_id:
            return name
    return None


def person(
    settings: Settings,
    by: str | None = None,
    env: Mapping[str, str] = os.environ,
    account: str | None = None,
) -> Person:
    """Who runs this command; `--by` may only name that same person.

    With accounts under [staff], the name is the one [staff] gives the account (BOT_USER is
    not read); without, it is BOT_USER, else the account's name.
    """
    account = account or login(settings.home, env)
    declared = env.get("BOT_USER", "").strip() or None
    if verifies(settings):
        name = next((n for n, m in settings.file.staff.items() if m.account == account), None)
        if name is None:
            raise IdentityError(
                f"the account {account!r} is not one of the staff: [staff] in config/bot.toml "
                f'gives no one account = "{account}"; commands that record a name run under '
                "a staff member's own account (with sudo, the account sudo was run from)"
            )
        # BOT_USER is not asked: the account says who it is. --by is refused unless it
        # agrees, so that nobody believes they acted for someone else.
        if by and by not in (name, account):
            raise IdentityError(
                f"--by names {by!r}, but this command runs under the account {account!r}, "
                f"which is {name}: a command is recorded under the name of the person who "
                "runs it"
            )
        return Person(name, account, verified=True)
    name = declared or account
    if by and by != name:
        raise IdentityError(
            f"--by names {by!r}, but this command runs as {name!r}"
            f"{' (BOT_USER)' if declared else ' (the account running it)'}: a command is "
            "recorded under the name of the person who runs it"
        )
    return Person(name, account, verified=False)


def staff_chat(chat_type: str, chat_id: int, username: str | None, admin_chat: str) -> bool:
    """Whether staff commands may be answered here: a private chat, or the admin chat.

    `admin_chat` is `[admin] telegram_chat` of config/schedule.toml: a numeric chat id or an
    @username. Everywhere else, every member of the chat would read the answers.
    """
    if chat_type == "private":
        return True
    wanted = admin_chat.strip()
    if not wanted:
        return False
    if wanted.startswith("@"):
        return bool(username) and wanted[1:].lower() == (username or "").lower()
    return wanted.lstrip("-").isdigit() and int(wanted) == chat_id

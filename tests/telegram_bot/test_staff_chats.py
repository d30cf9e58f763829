"""Staff commands are answered only in a private chat and in the admin chat (issue 15, 3).

Anywhere else every member of the chat would read the answer (who entered the figures, the
history, the pause), so there the bot says nothing at all and changes nothing, even to staff.
"""

from __future__ import annotations

import pytest

from bot import control
from bot.app import App
from bot.staff import staff_chat
from tests.conftest import dump_database
from tests.peers.telegram_server import FakeTelegram
from tests.telegram_bot import test_staff
from tests.telegram_bot.conftest import GROUP, RunningBot, press
from tests.telegram_bot.test_staff import EVERY_TABLE, STAFF, talk, to_chat

# The staff fixtures of test_staff.py: two members, GROUP their admin chat, the seed figures.
staffed, bot = test_staff.staffed, test_staff.bot

ELSEWHERE = -1005550001111
IN_GROUP = {"chat_type": "supergroup"}
COMMANDS = (
    "/status",
    "/figures",
    "/history",
    "/pause Nobody here should read this",
    "/resume",
    "/setfigures killed=4480 as_of=2024-01-31 source=https://aappb.org/",
    "/postnow daily-briefing",
    "/preview daily-briefing",
    "/approvals",
)


def test_staff_commands_in_another_group_get_no_answer_and_change_nothing(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    before = dump_database(db_url, EVERY_TABLE)
    for command in COMMANDS:
        telegram.push_message(ELSEWHERE, command, user_id=STAFF, **IN_GROUP)
    # The button of a question asked elsewhere, pressed in that group: answered empty.
    assert press(telegram, ELSEWHERE, "adm:Zz9Qq8Ww7Ee6Rr5T:yes", user_id=STAFF, **IN_GROUP) == ""
    # Updates are handled in order: once the same person is answered in the admin group and
    # in private, every command above was handled too.
    assert talk(telegram, GROUP, "/status", user_id=STAFF, **IN_GROUP)
    assert talk(telegram, STAFF, "/history", user_id=STAFF)

    assert to_chat(telegram, ELSEWHERE) == []
    assert control.current_pause(staffed.engine, staffed.clock()) is None
    assert dump_database(db_url, EVERY_TABLE) == before


def test_whoami_still_answers_anywhere(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    answer = talk(telegram, ELSEWHERE, "/whoami", user_id=STAFF, **IN_GROUP)
    assert f"<code>{STAFF}</code>" in answer[0].params["text"]


@pytest.mark.parametrize(
    ("kind", "chat", "username", "admin", "answered"),
    [
        ("private", 7710009001, None, "", True),
        ("supergroup", -1001234567890, None, "-1001234567890", True),
        ("supergroup", -1001234567891, None, "-1001234567890", False),
        ("supergroup", -1001234567890, "AappAdmins", "@aappadmins", True),
        ("supergroup", -1001234567890, "someone_else", "@aappadmins", False),
        ("group", -4001, None, "", False),
        ("channel", -1001234567890, None, "@aappadmins", False),
    ],
)
def test_which_chats_are_staff_chats(
    kind: str, chat: int, username: str | None, admin: str, answered: bool
) -> None:
    assert staff_chat(kind, chat, username, admin) is answered

"""/setfigures refuses what cannot be true, and a second member of staff confirms the unusual.

Issue 15, reproduction 4, in Telegram: `as_of=2031-01-01` and `killed=60000000` are refused
outright; a rise beyond `max_change_per_day` waits on Confirm for someone else's
`/setfigures confirm=CODE`.
"""

from __future__ import annotations

import re

from bot.app import App
from tests.conftest import dump_database
from tests.peers.telegram_server import FakeTelegram
from tests.telegram_bot import test_staff
from tests.telegram_bot.conftest import RunningBot, press
from tests.telegram_bot.test_staff import (
    OTHER_STAFF,
    OTHER_STAFF_NAME,
    STAFF,
    STAFF_NAME,
    asks,
    buttons,
    latest_killed,
    talk,
    wait_text,
)

# The staff fixtures of test_staff.py: two members, their admin chat, the seed figures.
staffed, bot = test_staff.staffed, test_staff.bot
SOURCE = "source=https://aappb.org/"


def test_a_future_date_and_an_impossible_value_are_refused(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    before = dump_database(db_url)
    future = talk(telegram, STAFF, f"/setfigures killed=4491 as_of=2031-01-01 {SOURCE}", asks)
    assert (
        "killed as of 2031-01-01 is dated after today (2024-02-01)" in (future[-1].params["text"])
    )
    huge = talk(telegram, STAFF, f"/setfigures killed=60000000 as_of=2024-02-01 {SOURCE}", asks)
    text = huge[-1].params["text"]
    assert "above the largest possible value of killed, 1000000" in text
    assert not huge[-1].params.get("reply_markup")  # nothing to confirm
    assert dump_database(db_url) == before


def test_an_unusual_rise_waits_for_a_second_member_of_staff(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    asked = talk(telegram, STAFF, f"/setfigures killed=5200 as_of=2024-02-01 {SOURCE}", asks)[-1]
    assert "Beyond the believable change" in asked.params["text"]
    assert "killed rises by 726 in 1 day" in asked.params["text"]
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, buttons(asked)[0])
    waiting = wait_text(telegram, STAFF, "Not stored yet", since)
    code = re.search(r"confirm=([A-Z0-9]{6})", waiting)
    assert code, waiting
    assert latest_killed(staffed).value == 4474

    # The person who typed them cannot confirm them.
    own = talk(telegram, STAFF, f"/setfigures confirm={code.group(1)}", asks)[-1]
    press(telegram, STAFF, buttons(own)[0])
    refused = wait_text(telegram, STAFF, "someone else must confirm", since)
    assert f"{STAFF_NAME} typed these figures, so someone else must confirm them" in refused
    assert latest_killed(staffed).value == 4474

    other = talk(telegram, OTHER_STAFF, f"/setfigures confirm={code.group(1)}", asks)[-1]
    assert f"Typed by {STAFF_NAME}" in other.params["text"]
    press(telegram, OTHER_STAFF, buttons(other)[0])
    said = wait_text(telegram, OTHER_STAFF, "Stored", since)
    assert said == f"Stored 1 value, entered by {STAFF_NAME}, confirmed by {OTHER_STAFF_NAME}."
    stored = latest_killed(staffed)
    assert (stored.value, stored.entered_by) == (5200, STAFF_NAME)

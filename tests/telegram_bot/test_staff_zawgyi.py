"""Staff's commands in Telegram refuse Burmese typed in Zawgyi, with the text in Unicode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import zawgyi
from bot.app import App
from bot.runtime import build_runtime
from bot.telegram_bot import build_application
from tests.compose.helpers import enter_seed
from tests.conftest import dump_database
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import reload_settings
from tests.telegram_bot.conftest import RunningBot
from tests.telegram_bot.test_staff import STAFF, STAFF_NAME, asks, talk

# (Zawgyi, Unicode): "Burma" and "political prisoners".
BURMA = ("ျမန္မာႏိုင္ငံ", "မြန်မာနိုင်ငံ")
PRISONERS = ("ႏိုင္ငံေရးအက်ဥ္းသားမ်ား", "နိုင်ငံရေးအကျဉ်းသားများ")


@pytest.fixture
def staffed(wired: App) -> App:
    path = wired.settings.home / "config" / "bot.toml"
    config = path.read_text(encoding="utf-8")
    path.write_text(config.replace("\n[staff]\n", f'\n[staff]\n"{STAFF_NAME}" = {STAFF}\n', 1))
    reload_settings(wired)
    enter_seed(wired)
    return wired


@pytest.fixture
def staff_bot(staffed: App) -> Iterator[RunningBot]:
    application = build_application(build_runtime(staffed))
    assert application is not None
    with RunningBot(application) as running:
        yield running


@pytest.mark.parametrize(
    ("words", "problem", "unicode"),
    [
        (
            f"killed=4480 as_of=2024-02-01 source={BURMA[0]}",
            "the source of killed is Zawgyi-encoded Burmese, not Unicode",
            BURMA[1],
        ),
        (
            f'killed=4480 as_of=2024-02-01 source=https://aappb.org/ correction="{PRISONERS[0]}"',
            "the reason for the correction is Zawgyi-encoded Burmese, not Unicode",
            PRISONERS[1],
        ),
    ],
)
def test_setfigures_refuses_zawgyi_with_the_unicode_text(
    staffed: App,
    telegram: FakeTelegram,
    staff_bot: RunningBot,
    db_url: str,
    words: str,
    problem: str,
    unicode: str,
) -> None:
    before = dump_database(db_url)

    answer = talk(telegram, STAFF, f"/setfigures {words}", asks)[-1]

    text = answer.params["text"]
    assert text.startswith("<b>Refused, nothing was changed</b>"), text
    assert problem in text
    if zawgyi.converted(unicode) is not None:
        assert f"in Unicode it reads: {unicode}" in text
    assert not answer.params.get("reply_markup")
    assert dump_database(db_url) == before


def test_a_pause_reason_in_zawgyi_is_refused(
    staffed: App, telegram: FakeTelegram, staff_bot: RunningBot
) -> None:
    answer = talk(telegram, STAFF, f"/pause {PRISONERS[0]}")[-1]
    assert answer.params["text"].startswith("Not paused: the reason is Zawgyi-encoded Burmese")

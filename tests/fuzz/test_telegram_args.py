"""Whatever follows /latest, /subscribe or /start, the bot answers and subscribes nobody."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.app import App
from tests.fuzz.test_web_form import ODD
from tests.peers.telegram_server import FakeTelegram
from tests.telegram_bot.conftest import RunningBot, say
from tests.web.helpers import people

tails = st.one_of(
    st.just(""),
    ODD.map(lambda t: " " + t),
    st.text(max_size=40).map(lambda t: " " + t),
    st.sampled_from([" en", " my", " lang:en", " @spring_bot", "\n/stop", " " + "ရဲ" * 1500]),
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    command=st.sampled_from(["/latest", "/subscribe", "/start"]),
    tail=tails,
    chat=st.integers(min_value=1, max_value=2**40),
)
def test_every_command_with_random_words_is_answered_and_subscribes_nobody(
    sqlite_app: App,
    sqlite_telegram: FakeTelegram,
    sqlite_bot: RunningBot,
    command: str,
    tail: str,
    chat: int,
) -> None:
    before = people(sqlite_app)
    answer = say(sqlite_telegram, chat, command + tail)
    event(command)
    assert answer.params["chat_id"] == str(chat)
    assert answer.params["text"].strip()
    # Nobody pressed a language button: no command alone adds a subscriber.
    assert people(sqlite_app) == before
    assert sqlite_bot.error is None

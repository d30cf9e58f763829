"""People talking to the bot: choosing a language, /subscribe, /stop, /latest, /help, groups."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.lang import has_latin_digit
from bot.subscribers import store
from bot.telegram_bot.texts import both, text
from tests.compose.helpers import enter_seed
from tests.peers.telegram_server import FakeTelegram
from tests.telegram_bot.conftest import GROUP, OTHER, PERSON, RunningBot, press, say, subscribe

BUTTONS = {
    "inline_keyboard": [
        [
            {"text": "English", "callback_data": "lang:en"},
            {"text": "မြန်မာ", "callback_data": "lang:my"},
        ]
    ]
}


def person(app: App, chat: int = PERSON) -> store.Subscriber | None:
    return store.find(app.engine, "telegram", str(chat))


def test_start_offers_both_languages_and_burmese_subscribes_in_burmese(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    welcome = say(telegram, PERSON, "/start")

    org = wired.settings.file.organisation.name
    assert welcome.params["chat_id"] == str(PERSON)
    assert welcome.params["parse_mode"] == "HTML"
    assert welcome.params["text"] == "\n\n".join(
        text("welcome", lang, org=org.get(lang)) for lang in ("en", "my")
    )
    assert welcome.json("reply_markup") == BUTTONS
    assert person(wired) is None  # /start alone subscribes nobody

    assert press(telegram, PERSON, "lang:my") == text("chosen", "my")

    confirmation = telegram.calls_to("sendMessage")[-1]
    assert confirmation.params["chat_id"] == str(PERSON)
    assert confirmation.params["text"] == text("subscribed", "my")
    found = person(wired)
    assert found is not None
    assert (found.lang, found.status, found.topics) == ("my", "active", store.TOPICS)
    # The buttons are gone from the welcome, so they cannot be pressed twice by mistake.
    sent = next(m for m in telegram.messages.values() if m["text"] == welcome.params["text"])
    assert sent["reply_markup"] is None


def test_choosing_again_changes_the_language_only(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    subscribe(telegram, PERSON, "en")
    first = person(wired)
    subscribe(telegram, PERSON, "my")

    again = person(wired)
    assert first is not None and again is not None
    assert (again.id, again.token, again.lang, again.status) == (
        first.id,
        first.token,
        "my",
        "active",
    )
    assert telegram.calls_to("sendMessage")[-1].params["text"] == text("subscribed", "my")


@pytest.mark.parametrize("lang", ["en", "my"])
def test_latest_in_the_chosen_language(
    wired: App, telegram: FakeTelegram, bot: RunningBot, lang: str
) -> None:
    enter_seed(wired)
    subscribe(telegram, PERSON, lang)

    latest = say(telegram, PERSON, "/latest").params["text"]

    label = wired.book.figures["arrested"].label.get(lang)
    if lang == "my":
        assert f"{label} <b>၂၅,၉၃၁</b> ဦး" in latest
        assert "၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက် အထိ" in latest
        assert "နိုင်ငံရေးအကျဉ်းသားများ ကူညီစောင့်ရှောက်ရေးအသင်း" in latest
        # Latin digits only inside the link's address, never in what is read.
        assert not has_latin_digit(re.sub(r'href="[^"]*"', "", latest))
    else:
        assert f"<b>25,931</b> {label}" in latest
        assert "Figures as of January 31, 2024:" in latest
    assert '<a href="https://aappb.org/?p=27322">' in latest


def test_latest_without_a_subscription_follows_the_telegram_app_language(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    enter_seed(wired)

    burmese = say(telegram, PERSON, "/latest", language_code="my").params["text"]
    english = say(telegram, OTHER, "/latest", language_code="de").params["text"]

    assert "၂၅,၉၃၁" in burmese
    assert "25,931" in english
    assert person(wired) is None and person(wired, OTHER) is None


def test_latest_before_any_figure(wired: App, telegram: FakeTelegram, bot: RunningBot) -> None:
    assert say(telegram, PERSON, "/latest").params["text"] == text("no_figures", "en")


@pytest.mark.parametrize("command", ["/stop", "/unsubscribe"])
def test_stop_unsubscribes_and_answers_in_the_persons_language(
    wired: App, telegram: FakeTelegram, bot: RunningBot, command: str
) -> None:
    subscribe(telegram, PERSON, "my")

    assert say(telegram, PERSON, command).params["text"] == text("unsubscribed", "my")
    found = person(wired)
    assert found is not None and found.status == "unsubscribed"

    assert say(telegram, PERSON, command).params["text"] == text("not_subscribed", "my")


def test_stop_from_a_stranger(wired: App, telegram: FakeTelegram, bot: RunningBot) -> None:
    assert say(telegram, PERSON, "/stop").params["text"] == text("not_subscribed", "en")
    assert person(wired) is None


def test_subscribe_reactivates_in_the_language_kept(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    subscribe(telegram, PERSON, "my")
    say(telegram, PERSON, "/stop")

    assert say(telegram, PERSON, "/subscribe").params["text"] == text("resubscribed", "my")
    found = person(wired)
    assert found is not None and (found.status, found.lang) == ("active", "my")

    assert say(telegram, PERSON, "/subscribe").params["text"] == text("already_subscribed", "my")


def test_subscribe_from_a_newcomer_asks_for_the_language(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    asked = say(telegram, PERSON, "/subscribe")

    assert asked.params["text"] == both("choose_language")
    assert asked.json("reply_markup") == BUTTONS
    assert person(wired) is None
    press(telegram, PERSON, "lang:en")
    found = person(wired)
    assert found is not None and found.lang == "en"


@pytest.mark.parametrize(
    "data", ["lang:fr", "zzz", "", "lang:", "lang:my ", "LANG:my", "lang:en" + "x" * 193]
)
def test_a_forged_button_changes_nothing(
    wired: App, telegram: FakeTelegram, bot: RunningBot, data: str
) -> None:
    subscribe(telegram, OTHER, "en")
    before = store.counts(wired.engine)
    sent = len(telegram.calls_to("sendMessage"))

    assert press(telegram, PERSON, data) == both("stale_button")
    assert press(telegram, OTHER, data) == both("stale_button")

    assert store.counts(wired.engine) == before
    assert person(wired) is None
    other = person(wired, OTHER)
    assert other is not None and other.lang == "en"
    # Updates are handled in order: the answer to this comes after anything the presses did.
    say(telegram, PERSON, "/help")
    assert len(telegram.calls_to("sendMessage")) == sent + 1


def test_a_group_cannot_subscribe(wired: App, telegram: FakeTelegram, bot: RunningBot) -> None:
    for command in ("/start", "/subscribe@fake_bot", "/stop"):
        answer = say(telegram, GROUP, command, chat_type="supergroup", user_id=PERSON)
        assert answer.params["text"] == both("personal")
        assert answer.params["chat_id"] == str(GROUP)
        button = answer.json("reply_markup")["inline_keyboard"][0][0]
        assert button["url"] == "https://t.me/fake_bot?start=subscribe"
        assert "callback_data" not in button

    # A language button pressed in a group (forged: the bot never shows one there).
    assert press(telegram, GROUP, "lang:my", chat_type="group", user_id=PERSON) == both("personal")
    assert store.counts(wired.engine) == {}


def test_help_and_anything_else_in_private(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    subscribe(telegram, PERSON, "my")

    assert say(telegram, PERSON, "/help").params["text"] == text("help", "my")
    assert say(telegram, PERSON, "hello?").params["text"] == text("help", "my")
    assert say(telegram, PERSON, "/unknown").params["text"] == text("help", "my")
    assert say(telegram, OTHER, "/help").params["text"] == text("help", "en")


def test_commands_addressed_to_another_bot_are_ignored_in_groups(
    wired: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    telegram.push_message(GROUP, "/start@other_bot", chat_type="group", user_id=PERSON)
    answer = say(telegram, GROUP, "/help", chat_type="group", user_id=PERSON)

    assert answer.params["text"] == text("help", "en")
    assert len(telegram.calls_to("sendMessage")) == 1

"""Staff controlling the bot from Telegram, and everyone else refused without a trace of change."""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot import control
from bot.app import App
from bot.compose.drafts import Draft
from bot.publish.sender import Report
from bot.store import figures as figure_store
from bot.store.schema import deliveries, figure_snapshots, publications
from bot.telegram_bot import build_application
from bot.telegram_bot.staff_texts import public_text
from tests.compose.helpers import compose, enter_seed, put
from tests.conftest import dump_database
from tests.peers.telegram_server import Call, FakeTelegram
from tests.publish.helpers import (
    CHAT,
    Clock,
    add_subscribers,
    publish_occasion,
    reload_settings,
    set_toml,
)
from tests.telegram_bot.conftest import (
    GROUP,
    NAME,
    PERSON,
    RunningBot,
    fast_runtime,
    press,
    subscribe,
)

STAFF = 7710009001
STAFF_NAME = "Aye Aye"
OTHER_STAFF = 7710009002
OTHER_STAFF_NAME = "Ko Min"
EVERY_TABLE = (
    "figure_snapshots",
    "figure_values",
    "publications",
    "editions",
    "deliveries",
    "subscribers",
    "control",
    "occasion_log",
    "leases",
    "approval_requests",
    "approval_votes",
)
IN_GROUP = {"chat_type": "supergroup"}
FORGED = "adm:Zz9Qq8Ww7Ee6Rr5T:yes"
SENDS = ("sendMessage", "sendPhoto")


@pytest.fixture
def staffed(wired: App) -> App:
    """Two staff members in [staff] of config/bot.toml, and the seed figures entered."""
    path = wired.settings.home / "config" / "bot.toml"
    config = path.read_text(encoding="utf-8")
    members = f'"{STAFF_NAME}" = {STAFF}\n"{OTHER_STAFF_NAME}" = {OTHER_STAFF}\n'
    if "\n[staff]\n" in config:
        config = config.replace("\n[staff]\n", f"\n[staff]\n{members}", 1)
    else:
        config += f"\n[staff]\n{members}"
    path.write_text(config, encoding="utf-8")
    # GROUP is the admin chat: staff commands are answered there and in private chats only.
    schedule = wired.settings.home / "config" / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    assert 'telegram_chat = ""' in text
    schedule.write_text(text.replace('telegram_chat = ""', f'telegram_chat = "{GROUP}"'), "utf-8")
    reload_settings(wired)
    staff = wired.settings.file.staff
    assert {name: member.telegram for name, member in staff.items()} == {
        STAFF_NAME: STAFF,
        OTHER_STAFF_NAME: OTHER_STAFF,
    }
    enter_seed(wired)
    return wired


@pytest.fixture
def bot(staffed: App) -> Iterator[RunningBot]:
    application = build_application(fast_runtime(staffed))
    assert application is not None
    with RunningBot(application) as running:
        yield running


def to_chat(telegram: FakeTelegram, chat: int | str, since: int = 0) -> list[Call]:
    """The bot's messages to one chat, from the `since`th sendMessage on."""
    return [c for c in telegram.calls_to("sendMessage")[since:] if c.params["chat_id"] == str(chat)]


def talk(
    telegram: FakeTelegram,
    chat: int,
    text: str,
    until: Callable[[Call], bool] = lambda call: True,
    **sender: Any,
) -> list[Call]:
    """Send `text` to the bot; its answers in that chat, up to the first that `until` accepts."""
    since = len(telegram.calls_to("sendMessage"))
    telegram.push_message(chat, text, first_name=NAME, **sender)
    assert telegram.wait_for(lambda: any(until(c) for c in to_chat(telegram, chat, since))), [
        c.params["text"] for c in to_chat(telegram, chat, since)
    ]
    answers = to_chat(telegram, chat, since)
    return answers[: next(i for i, c in enumerate(answers) if until(c)) + 1]


def asks(call: Call) -> bool:
    """The end of /postnow or /setfigures: the question with buttons, or a refusal."""
    text = call.params["text"]
    ends = ("Not published", "<b>Refused", "<b>Error", "<b>Nothing new")
    return bool(call.params.get("reply_markup")) or text.startswith(ends)


def buttons(call: Call) -> tuple[str, str]:
    """The callback data of Confirm and Cancel."""
    row = call.json("reply_markup")["inline_keyboard"][0]
    assert [button["text"] for button in row] == ["Confirm", "Cancel"]
    return row[0]["callback_data"], row[1]["callback_data"]


def ask_to_post(telegram: FakeTelegram, chat: int, text: str, **sender: Any) -> tuple[str, str]:
    answers = talk(telegram, chat, text, lambda c: bool(c.params.get("reply_markup")), **sender)
    return buttons(answers[-1])


def collect(telegram: FakeTelegram, chat: int, text: str, count: int) -> list[str]:
    """Send `text` to the bot and wait for `count` answers in that chat."""
    since = len(telegram.calls_to("sendMessage"))
    telegram.push_message(chat, text, first_name=NAME)
    assert telegram.wait_for(lambda: len(to_chat(telegram, chat, since)) >= count)
    settle(telegram, chat)
    answers = [c.params["text"] for c in to_chat(telegram, chat, since)]
    assert len(answers) == count + 1, answers  # and the answer to settle's /whoami
    return answers[:count]


def wait_text(telegram: FakeTelegram, chat: int, pattern: str, since: int = 0) -> str:
    """The first message to `chat` matching `pattern` (waiting for it)."""

    def found() -> list[str]:
        texts = [c.params["text"] for c in to_chat(telegram, chat, since)]
        return [text for text in texts if re.search(pattern, text)]

    assert telegram.wait_for(lambda: bool(found())), [
        c.params["text"] for c in to_chat(telegram, chat, since)
    ]
    return found()[0]


def published(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(publications)).all())


def outbox_files(app: App) -> list[str]:
    folder = app.settings.outbox_dir
    return sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def public_posts(telegram: FakeTelegram) -> list[Call]:
    """The posts in the organisation's channel (a post with a card is a photo)."""
    return [c for c in telegram.calls if c.method in SENDS and c.params["chat_id"] == CHAT]


def settle(telegram: FakeTelegram, chat: int = STAFF) -> None:
    """Updates are handled in order: once this is answered, everything before it was too."""
    talk(telegram, chat, "/whoami", user_id=STAFF)


# -- anyone ------------------------------------------------------------------------------


def test_whoami_tells_anyone_their_id_in_their_language(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    english = talk(telegram, PERSON, "/whoami")[0].params["text"]
    burmese = talk(telegram, OTHER_STAFF, "/whoami", language_code="my")[0].params["text"]
    in_group = talk(telegram, GROUP, "/whoami", user_id=PERSON, **IN_GROUP)[0].params["text"]

    assert english == public_text("whoami", "en", user_id=PERSON)
    assert f"<code>{PERSON}</code>" in english
    assert burmese == public_text("whoami", "my", user_id=OTHER_STAFF)
    assert in_group == english  # the sender's id, not the group's


# -- everyone else -----------------------------------------------------------------------


def test_a_non_staff_person_changes_nothing_and_posts_nothing(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    talk(telegram, STAFF, "/pause checking a figure", user_id=STAFF)
    before = dump_database(db_url, EVERY_TABLE)
    commands = [
        "/postnow daily-briefing",
        "/postnow daily-briefing x,telegram",
        "/setfigures killed=5000 as_of=2024-02-01 source=https://aappb.org/",
        "/pause because",
        "/resume",
        "/preview daily-briefing",
        "/figures",
        "/status",
        "/history",
    ]
    for command in commands:
        answers = talk(telegram, PERSON, command)
        assert [a.params["text"] for a in answers] == [public_text("staff_only", "en")]
    # In the admin group too, and in the person's language.
    refused = talk(
        telegram,
        GROUP,
        "/postnow@fake_bot daily-briefing",
        user_id=PERSON,
        language_code="my",
        **IN_GROUP,
    )
    assert refused[0].params["text"] == public_text("staff_only", "my")
    assert talk(telegram, GROUP, "/resume", user_id=PERSON, **IN_GROUP)[0].params["text"] == (
        public_text("staff_only", "en")
    )

    assert dump_database(db_url, EVERY_TABLE) == before
    assert control.current_pause(staffed.engine, staffed.clock()) is not None
    assert public_posts(telegram) == [] and outbox_files(staffed) == []


def test_buttons_pressed_by_anyone_else_change_nothing(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    confirm, cancel = ask_to_post(
        telegram, GROUP, "/postnow daily-briefing", user_id=STAFF, **IN_GROUP
    )
    before = dump_database(db_url, EVERY_TABLE)
    not_staff = public_text("staff_only_button", "en")

    # A person in the admin group who is not staff, the staff member's button in hand.
    assert press(telegram, GROUP, confirm, user_id=PERSON, **IN_GROUP) == not_staff
    # The same data, and made-up data, sent from elsewhere.
    assert press(telegram, PERSON, confirm) == not_staff
    assert press(telegram, PERSON, FORGED) == not_staff
    assert press(telegram, PERSON, "adm:") == not_staff
    # Another member of staff, and the right person in the wrong chat.
    assert press(telegram, GROUP, confirm, user_id=OTHER_STAFF, **IN_GROUP) == (
        f"Only {STAFF_NAME} can decide this, in the chat where it was asked."
    )
    assert press(telegram, STAFF, confirm) == (
        f"Only {STAFF_NAME} can decide this, in the chat where it was asked."
    )
    # Made-up data from staff.
    stale = "This button is no longer valid: send the command again."
    assert press(telegram, GROUP, FORGED, user_id=STAFF, **IN_GROUP) == stale
    assert press(telegram, GROUP, confirm[:-3] + "now", user_id=STAFF, **IN_GROUP) == stale

    settle(telegram)
    assert dump_database(db_url, EVERY_TABLE) == before
    assert public_posts(telegram) == [] and outbox_files(staffed) == []

    # Cancel by the person who asked: nothing published, and the buttons are gone.
    since = len(telegram.calls_to("sendMessage"))
    assert press(telegram, GROUP, cancel, user_id=STAFF, **IN_GROUP) == "Cancelled."
    assert wait_text(telegram, GROUP, "Cancelled", since) == "Cancelled: nothing was published."
    prompt = [m for m in telegram.messages.values() if "Publish <b>" in m.get("text", "")]
    assert len(prompt) == 1 and prompt[0]["reply_markup"] is None
    assert press(telegram, GROUP, confirm, user_id=STAFF, **IN_GROUP) == stale

    settle(telegram)
    assert dump_database(db_url, EVERY_TABLE) == before
    assert published(staffed) == [] and public_posts(telegram) == []
    assert outbox_files(staffed) == []


def test_a_non_staff_attempt_is_logged_without_what_was_typed(
    staffed: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    application = build_application(fast_runtime(staffed))
    assert application is not None
    with RunningBot(application):
        talk(
            telegram,
            PERSON,
            "/setfigures killed=98765 as_of=2024-02-01 source=https://leak.example/Qz7",
        )
        talk(telegram, PERSON, "/pause Nobody-Should-Read-This")
        press(telegram, PERSON, FORGED)

    logged = "\n".join(
        f"{record.getMessage()}\n{record.exc_text or ''}" for record in caplog.records
    )
    assert "refused /setfigures from 7***: not on the staff list" in logged
    assert "refused /pause from 7***" in logged
    assert "refused a button press from 7***" in logged
    for secret in ("98765", "leak.example", "Nobody-Should", FORGED, "Zz9Qq8", str(PERSON), NAME):
        assert secret not in logged


# -- /preview ----------------------------------------------------------------------------


def test_preview_shows_each_edition_with_its_length(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    editions = compose(staffed, "daily-briefing", "2024-02-01")
    drafts = [e for e in editions if isinstance(e, Draft)]
    assert len(drafts) == len(editions) >= 6  # x, telegram, email (and more), en and my

    answers = collect(telegram, STAFF, "/preview daily-briefing", len(editions) + 1)

    assert "<b>daily-briefing</b>: Short daily update" in answers[0]
    assert "for 2024-02-01, newest figures as of 2024-01-31" in answers[0]
    shown = {}
    for text in answers[1:]:
        found = re.match(r"<b>daily-briefing · (\w+) · (\w+)</b>\n", text)
        assert found is not None, text
        shown[found.groups()] = text
    for draft in drafts:
        text = shown[(draft.channel, draft.lang)]
        assert len(text) <= 4096
        label = "text" if draft.channel == "email" else "post"
        measure = (
            f"{draft.lengths[0]}/{draft.limit}"
            if draft.limit
            else (f"{draft.lengths[0]} characters")
        )
        assert f"[{label} · {measure}]\n{html.escape(draft.parts[0], quote=False)}" in text
        if draft.channel == "email":
            assert f"Subject: {html.escape(draft.subject or '', quote=False)}\n" in text
    assert "[post · " in shown[("x", "en")] and "/280]" in shown[("x", "en")]

    burmese = collect(
        telegram, STAFF, "/preview daily-briefing my", sum(e.lang == "my" for e in editions) + 1
    )
    assert all(" · my</b>" in text for text in burmese[1:])


def answers_since(telegram: FakeTelegram, since: int) -> list[Call]:
    """Texts and photos to the staff chat, in the order the bot sent them, from `since` on."""
    return [
        c for c in telegram.calls[since:] if c.method in SENDS and c.params["chat_id"] == str(STAFF)
    ]


def preview_with_photos(telegram: FakeTelegram, command: str, texts: int) -> list[Call]:
    """`command`'s answers, photos included, once its `texts` text messages have all come."""
    since = len(telegram.calls)
    collect(telegram, STAFF, command, texts)
    answers = answers_since(telegram, since)
    assert answers[-1].params["text"].startswith("Your Telegram user id")  # settle's /whoami
    return answers[:-1]


def test_preview_sends_each_languages_card_before_its_editions(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    editions = compose(staffed, "daily-briefing", "2024-02-01")
    drafts = [e for e in editions if isinstance(e, Draft)]
    cards = {draft.lang: draft.card for draft in drafts if draft.card is not None}
    assert set(cards) == {"en", "my"}
    # Every channel's draft in a language carries the same card: it is sent once per language.
    assert all(d.card is not None and d.card.sha256 == cards[d.lang].sha256 for d in drafts)

    answers = preview_with_photos(telegram, "/preview daily-briefing", len(editions) + 1)

    seen: list[tuple[str, ...]] = []
    for call in answers[1:]:
        if call.method == "sendPhoto":
            caption = call.params["caption"]
            found = re.match(r"<b>daily-briefing · card · (\w+)</b>", caption)
            assert found is not None, caption
            lang = found.group(1)
            card = cards[lang]
            assert hashlib.sha256(call.params["photo"]).hexdigest() == card.sha256
            assert f"\nAlt text: {html.escape(card.alt, quote=False)}" in caption
            shown = html.unescape(re.sub(r"<[^>]*>", "", caption))
            assert len(shown.encode("utf-16-le")) // 2 <= 1024
            seen.append(("card", lang))
        else:
            found = re.match(r"<b>daily-briefing · (\w+) · (\w+)</b>\n", call.params["text"])
            assert found is not None, call.params["text"]
            seen.append(found.groups())
    assert answers[0].method == "sendMessage" and "edition(s) follow" in answers[0].params["text"]
    expected: list[tuple[str, ...]] = []
    for edition in editions:
        if ("card", edition.lang) not in expected:
            expected.append(("card", edition.lang))
        expected.append((edition.channel, edition.lang))
    assert seen == expected
    # Each language's own card: the Burmese alt text is in Burmese.
    assert re.search("[\u1000-\u109f]", cards["my"].alt)
    assert not re.search("[\u1000-\u109f]", cards["en"].alt)

    burmese = preview_with_photos(
        telegram, "/preview daily-briefing my", sum(e.lang == "my" for e in editions) + 1
    )
    assert [c.method for c in burmese[:3]] == ["sendMessage", "sendPhoto", "sendMessage"]
    assert hashlib.sha256(burmese[1].params["photo"]).hexdigest() == cards["my"].sha256
    assert [c.method for c in burmese].count("sendPhoto") == 1


def test_preview_of_a_message_without_a_card_sends_no_photo(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    assert not (staffed.settings.messages_dir / "weekly-digest" / "card.toml").exists()
    editions = compose(staffed, "weekly-digest", "2024-02-01")
    assert editions and all(isinstance(e, Draft) and e.card is None for e in editions)

    answers = preview_with_photos(telegram, "/preview weekly-digest", len(editions) + 1)

    assert [c.method for c in answers] == ["sendMessage"] * (len(editions) + 1)
    assert telegram.calls_to("sendPhoto") == []


def test_preview_of_an_unknown_message_suggests_the_right_one(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    answer = talk(telegram, STAFF, "/preview daily-brefing")[0].params["text"]

    assert answer.startswith("<b>Error:</b> unknown message 'daily-brefing'")
    assert "did you mean 'daily-briefing'?" in answer


# -- /postnow ----------------------------------------------------------------------------


def postnow_with_photos(telegram: FakeTelegram, command: str) -> list[Call]:
    """`command`'s answers, photos included, up to and with its Confirm / Cancel question."""
    since = len(telegram.calls)
    ask_to_post(telegram, STAFF, command)
    return answers_since(telegram, since)


def test_postnow_sends_each_languages_card_before_its_editions_and_asks_last(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    editions = [e for e in compose(staffed, "daily-briefing", "2024-02-01") if e.channel == "x"]
    cards = {e.lang: e.card for e in editions if isinstance(e, Draft) and e.card is not None}
    assert set(cards) == {"en", "my"}

    answers = postnow_with_photos(telegram, "/postnow daily-briefing x")

    assert answers[0].method == "sendMessage" and "edition(s) follow" in answers[0].params["text"]
    seen: list[tuple[str, ...]] = []
    for call in answers[1:-1]:
        if call.method == "sendPhoto":
            caption = call.params["caption"]
            found = re.match(r"<b>daily-briefing · card · (\w+)</b>", caption)
            assert found is not None, caption
            card = cards[found.group(1)]
            assert hashlib.sha256(call.params["photo"]).hexdigest() == card.sha256
            assert f"\nAlt text: {html.escape(card.alt, quote=False)}" in caption
            seen.append(("card", found.group(1)))
        else:
            found = re.match(r"<b>daily-briefing · (\w+) · (\w+)</b>\n", call.params["text"])
            assert found is not None, call.params["text"]
            seen.append(found.groups())
    expected: list[tuple[str, ...]] = []
    for edition in editions:
        expected += [("card", edition.lang), (edition.channel, edition.lang)]
    assert seen == expected  # x only: each language's card, then its one edition
    # The question comes last, after every edition and card, and binds as before.
    question = answers[-1]
    assert question.method == "sendMessage"
    assert question.params["text"].startswith("Publish <b>daily-briefing</b> for 2024-02-01 to x?")
    confirm, cancel = buttons(question)
    assert press(telegram, OTHER_STAFF, confirm) == (
        f"Only {STAFF_NAME} can decide this, in the chat where it was asked."
    )
    assert press(telegram, STAFF, cancel) == "Cancelled."
    settle(telegram)
    assert published(staffed) == [] and public_posts(telegram) == []


def test_postnow_of_a_message_without_a_card_sends_no_photo(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    assert not (staffed.settings.messages_dir / "weekly-digest" / "card.toml").exists()
    editions = [e for e in compose(staffed, "weekly-digest", "2024-02-01") if e.channel == "email"]
    assert editions and all(isinstance(e, Draft) and e.card is None for e in editions)

    answers = postnow_with_photos(telegram, "/postnow weekly-digest email")

    assert [c.method for c in answers] == ["sendMessage"] * (len(editions) + 2)
    assert answers[-1].params["text"].startswith("Publish <b>weekly-digest</b>")
    assert telegram.calls_to("sendPhoto") == []


def test_confirm_publishes_once_and_reports_each_delivery(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    add_subscribers(staffed.engine, ["en", "en", "my"])
    subscribe(telegram, PERSON, "en")
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing")
    assert published(staffed) == []

    since = len(telegram.calls_to("sendMessage"))
    assert press(telegram, STAFF, confirm) == "Confirmed."
    assert press(telegram, STAFF, confirm) == (
        "This button is no longer valid: send the command again."
    )
    report = wait_text(telegram, STAFF, "Deliveries of #", since)

    rows = published(staffed)
    assert len(rows) == 1 and rows[0].created_by == STAFF_NAME
    assert wait_text(telegram, STAFF, "^Publication #", since).startswith(
        f"Publication #{rows[0].id} (daily-briefing/2024-02-01): "
    )
    # X has no credentials here: its posts went to the outbox folder, and the report says so.
    assert "✓ x · en · (account) · written to var/outbox/x/" in report
    assert "✓ x · my · (account) · written to var/outbox/x/" in report
    assert "x · en · (account) · sent" not in report
    assert f"✓ telegram · en · {CHAT} · sent" in report
    assert f"✓ telegram · my · {CHAT} · sent" in report
    assert "email · en · 2 subscriber(s): 2 written to var/outbox/email/" in report
    assert "email · my · 1 subscriber(s): 1 written to var/outbox/email/" in report
    assert "telegram · en · 1 subscriber(s): 1 sent" in report
    assert str(PERSON) not in report and "@example.org" not in report
    assert len(public_posts(telegram)) == 2
    landed = [c for c in telegram.calls if c.method in SENDS and c.params["chat_id"] == str(PERSON)]
    assert len(landed) == 3  # welcome, subscribed, the post
    x_posts = [f for f in outbox_files(staffed) if "/x/" in f]
    assert len(x_posts) == 2

    # Asking again for the same occasion publishes nothing twice.
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing x telegram")
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, confirm)
    assert wait_text(telegram, STAFF, "Already published", since).startswith(
        f"Already published as #{rows[0].id}"
    )
    wait_text(telegram, STAFF, "Deliveries of #", since)
    assert len(published(staffed)) == 1
    assert len(public_posts(telegram)) == 2
    assert [f for f in outbox_files(staffed) if "/x/" in f] == x_posts


def test_confirm_after_ten_minutes_is_too_late(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    clock = Clock()
    staffed.clock = clock
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing telegram")
    clock.advance(10 * 60 + 1)

    assert press(telegram, STAFF, confirm).startswith("Too late")
    assert press(telegram, STAFF, confirm) == (
        "This button is no longer valid: send the command again."
    )
    settle(telegram)
    assert published(staffed) == [] and public_posts(telegram) == []
    prompt = [m for m in telegram.messages.values() if "Publish <b>" in m.get("text", "")]
    assert prompt[0]["reply_markup"] is None


def test_the_runners_send_is_used_when_given(staffed: App, telegram: FakeTelegram) -> None:
    calls: list[int] = []
    runtime = fast_runtime(staffed)

    async def send() -> Report:
        # As the Runner's: every pending delivery, whatever its publication.
        calls.append(1)
        report, _ = await runtime.send()
        return report

    application = build_application(runtime, send=send)
    assert application is not None
    with RunningBot(application):
        confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing telegram")
        press(telegram, STAFF, confirm)
        report = wait_text(telegram, STAFF, "Deliveries of #")

    assert calls == [1]
    assert f"✓ telegram · en · {CHAT} · sent" in report
    assert len(public_posts(telegram)) == 2


def test_pause_blocks_postnow_until_resume(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing")
    assert talk(telegram, STAFF, "/pause")[0].params["text"].startswith("Give the reason")
    paused = talk(telegram, OTHER_STAFF, "/pause checking a figure")[0].params["text"]
    assert paused.startswith("Paused: nothing will be posted")
    found = control.current_pause(staffed.engine, staffed.clock())
    assert found is not None and (found.by, found.reason) == (OTHER_STAFF_NAME, "checking a figure")

    # A question asked before the pause cannot be confirmed during it …
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, confirm)
    refused = wait_text(telegram, STAFF, "Not published", since)
    assert "paused since" in refused and "checking a figure" in refused
    # … nor can a new one be asked.
    answer = talk(telegram, STAFF, "/postnow daily-briefing", asks)
    assert [a.params["text"] for a in answer] == [refused]
    assert "paused:    paused since" in talk(telegram, STAFF, "/status")[0].params["text"]
    assert published(staffed) == [] and public_posts(telegram) == []

    assert talk(telegram, STAFF, "/resume")[0].params["text"].startswith("Resumed")
    assert talk(telegram, STAFF, "/resume")[0].params["text"] == "The bot was not paused."
    assert control.current_pause(staffed.engine, staffed.clock()) is None


# -- /status, /history, /figures ---------------------------------------------------------


def test_status_and_history_answer(staffed: App, telegram: FakeTelegram, bot: RunningBot) -> None:
    status = talk(telegram, STAFF, "/status")[0].params["text"]
    assert status.startswith("<pre>scheduler: not running\npaused:    no\n")
    assert "figures:   newest as of 2024-01-31 (1 days old)" in status
    assert talk(telegram, STAFF, "/history")[0].params["text"] == "Nothing has been published yet."

    number = publish_occasion(staffed, "daily-briefing", "2024-02-01", ["x"])
    history = talk(telegram, STAFF, "/history")[0].params["text"]
    assert re.search(
        rf"#{number}  2024-02-01 07:30 \+0630  daily-briefing/2024-02-01  \[x\]", history
    )
    assert (
        f"last:      #{number} daily-briefing/2024-02-01"
        in talk(telegram, STAFF, "/status")[0].params["text"]
    )


def test_figures_shows_age_and_who_entered_them(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    shown = talk(telegram, STAFF, "/figures")[0].params["text"]

    assert "killed (" in shown
    assert "= 4474 · as of 2024-01-31 (1 day old) · entered by test" in shown


# -- /setfigures -------------------------------------------------------------------------


def latest_killed(app: App) -> figure_store.StoredValue:
    with app.engine.connect() as conn:
        return figure_store.history(conn, "killed")[-1]


def test_setfigures_confirmed_is_stored_with_the_staff_name(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    asked = talk(
        telegram,
        STAFF,
        "/setfigures killed=4,480 arrested=26000 as_of=2024-02-01 source=https://aappb.org/?p=1",
        asks,
    )[-1]
    text = asked.params["text"]
    assert "killed: 4474 (as of 2024-01-31) → 4480 (as of 2024-02-01)" in text
    assert "arrested: 25931 (as of 2024-01-31) → 26000 (as of 2024-02-01)" in text
    assert "source: https://aappb.org/?p=1" in text
    before = dump_database(db_url)
    confirm, _ = buttons(asked)

    assert press(telegram, OTHER_STAFF, confirm) == (
        f"Only {STAFF_NAME} can decide this, in the chat where it was asked."
    )
    assert dump_database(db_url) == before
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, confirm)
    said = wait_text(telegram, STAFF, "Stored", since)

    assert said == f"Stored 2 values, entered by {STAFF_NAME}."
    stored = latest_killed(staffed)
    assert (stored.value, stored.entered_by, stored.correction) == (4480, STAFF_NAME, None)
    with staffed.engine.connect() as conn:
        origin = conn.execute(
            sa.select(figure_snapshots.c.origin).where(figure_snapshots.c.id == stored.snapshot_id)
        ).scalar()
    assert origin == "telegram /setfigures"


def test_a_falling_total_is_refused_and_nothing_is_stored(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str
) -> None:
    before = dump_database(db_url)
    answer = talk(
        telegram, STAFF, "/setfigures killed=4000 as_of=2024-02-01 source=https://aappb.org/", asks
    )

    assert len(answer) == 1 and not answer[0].params.get("reply_markup")
    text = answer[0].params["text"]
    assert text.startswith("<b>Refused, nothing was changed</b> (1 problem):")
    assert "killed=4000: killed would fall from 4474 (as of 2024-01-31" in text
    assert 'add correction="why"' in text
    assert dump_database(db_url) == before

    # With the reason, in the quotes a phone may type.
    asked = talk(
        telegram,
        STAFF,
        "/setfigures killed=4000 as_of=2024-02-01 source=https://aappb.org/ "
        "correction=“recount of 2023”",
        asks,
    )[-1]
    assert "correction: recount of 2023" in asked.params["text"]
    press(telegram, STAFF, buttons(asked)[0])
    wait_text(telegram, STAFF, "Stored 1 value")
    stored = latest_killed(staffed)
    assert (stored.value, stored.correction) == (4000, "recount of 2023")


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("killed=4480 source=https://x", "give either as_of=DATE or period=START..END"),
        ("killed=4480 as_of=2024-02-01", "give source=URL"),
        ("killed=many as_of=2024-02-01 source=https://x", "killed=many: killed: 'many' is not"),
        ("kiled=4480 as_of=2024-02-01 source=https://x", "did you mean"),
        ("killed=4480 as_of=2024-02-31 source=https://x", "is not a date written YYYY-MM-DD"),
        ('killed=4480 as_of=2024-02-01 source=https://x correction="why', "a quote is not closed"),
    ],
)
def test_setfigures_refusals_are_shown(
    staffed: App, telegram: FakeTelegram, bot: RunningBot, db_url: str, words: str, problem: str
) -> None:
    before = dump_database(db_url)

    answer = talk(telegram, STAFF, f"/setfigures {words}")[0]

    assert problem in answer.params["text"]
    assert not answer.params.get("reply_markup")
    assert dump_database(db_url) == before


def test_figures_entered_since_the_preview_are_checked_again(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    asked = talk(
        telegram, STAFF, "/setfigures killed=4480 as_of=2024-02-01 source=https://aappb.org/", asks
    )[-1]
    put(staffed, {"killed": 4490}, "2024-02-01")  # someone else, meanwhile

    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, buttons(asked)[0])
    said = wait_text(telegram, STAFF, "Refused", since)

    assert "killed as of 2024-02-01 is already entered as 4490" in said
    assert latest_killed(staffed).value == 4490


def test_a_message_that_needs_approval_is_not_published_from_a_chat(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    settings = staffed.settings.messages_dir / "daily-briefing" / "message.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "approval = 1\n", encoding="utf-8")

    answers = talk(telegram, STAFF, "/postnow daily-briefing", asks)

    said = answers[-1].params["text"]
    assert said.startswith("Not published: daily-briefing needs 1 approval")
    assert not answers[-1].params.get("reply_markup")
    assert published(staffed) == [] and public_posts(telegram) == []


def test_postnow_sends_nothing_to_a_channel_switched_off(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    set_toml(staffed.settings.home, "channels.x", enabled=False)
    reload_settings(staffed)
    since = len(telegram.calls_to("sendMessage"))
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing x,telegram")
    shown = " ".join(c.params["text"] for c in to_chat(telegram, STAFF, since))
    assert "x: turned off in config/bot.toml" in shown
    press(telegram, STAFF, confirm)
    wait_text(telegram, STAFF, "Deliveries of #")

    with staffed.engine.connect() as conn:
        channels = set(conn.execute(sa.select(deliveries.c.channel)).scalars())
    assert channels == {"telegram"}
    assert not (staffed.settings.outbox_dir / "x").exists()
    # Only X asked for, and X is off: nothing to confirm.
    answer = talk(telegram, STAFF, "/postnow daily-briefing x")
    assert "no enabled channel" in answer[-1].params["text"]


def test_confirm_publishes_nothing_when_the_figures_changed_since_the_preview(
    staffed: App, telegram: FakeTelegram, bot: RunningBot
) -> None:
    confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing telegram")
    # A correction lands between the preview and the press: the preview's number is wrong now.
    put(staffed, {"killed": 4480}, "2024-02-01")
    since = len(telegram.calls_to("sendMessage"))
    press(telegram, STAFF, confirm)

    refused = wait_text(telegram, STAFF, "Not published", since)
    assert "changed since the preview" in refused
    assert published(staffed) == [] and public_posts(telegram) == []


def test_a_confirm_question_survives_a_restart_of_the_bot(
    staffed: App, telegram: FakeTelegram
) -> None:
    first = build_application(fast_runtime(staffed))
    assert first is not None
    with RunningBot(first):
        confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing telegram")
    assert published(staffed) == []

    # `bot run` restarted: a new process knows only what the database kept.
    second = build_application(fast_runtime(staffed))
    assert second is not None
    with RunningBot(second):
        assert press(telegram, OTHER_STAFF, confirm).startswith("Only Aye Aye can decide")
        assert press(telegram, STAFF, confirm) == "Confirmed."
        report = wait_text(telegram, STAFF, "Deliveries of #")
        assert press(telegram, STAFF, confirm) == (
            "This button is no longer valid: send the command again."
        )

    assert len(published(staffed)) == 1
    assert f"✓ telegram · en · {CHAT} · sent" in report
    assert len(public_posts(telegram)) == 2


def test_confirm_after_a_restart_refuses_when_the_figures_changed(
    staffed: App, telegram: FakeTelegram
) -> None:
    first = build_application(fast_runtime(staffed))
    assert first is not None
    with RunningBot(first):
        confirm, _ = ask_to_post(telegram, STAFF, "/postnow daily-briefing telegram")
    put(staffed, {"killed": 4480}, "2024-02-01")

    second = build_application(fast_runtime(staffed))
    assert second is not None
    with RunningBot(second):
        assert press(telegram, STAFF, confirm) == "Confirmed."
        said = wait_text(telegram, STAFF, "^Not published")

    assert "changed since the preview" in said
    assert published(staffed) == [] and public_posts(telegram) == []

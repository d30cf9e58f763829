"""Bluesky's editions: which wording, how they are cut and counted; record keys; config check."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.channels.bluesky import Bluesky, BlueskySettings
from bot.channels.bluesky_records import TID_SYNTAX, record_key
from bot.compose.drafts import Draft, Failure
from bot.errors import FitError
from bot.fit.bluesky import BLUESKY_LIMIT, graphemes, split_posts
from tests.compose.helpers import compose, enter_seed

DAY = "2024-02-01"
# Burmese: many more code points than graphemes (marks and stacked consonants).
MINGALABA = "မင်္ဂလာပါ"


def _numbers(i: int, n: int) -> str:
    return f"{i}/{n}"


@pytest.fixture
def seeded(app: App) -> App:
    enter_seed(app)
    return app


def test_each_anniversary_edition_is_a_thread_within_bluesky_limits(seeded: App) -> None:
    editions = compose(seeded, "anniversary", DAY, channels=["bluesky"])

    assert [e.lang for e in editions] == ["en", "my"]
    en, my = editions
    assert isinstance(en, Draft) and isinstance(my, Draft)
    for draft in (en, my):
        assert draft.limit == BLUESKY_LIMIT and len(draft.parts) > 1
        for part, shown in zip(draft.parts, draft.lengths, strict=True):
            assert len(part) <= 300 and len(part.encode()) <= 3000
            assert shown == graphemes(part)
    # The X wording, not the long statement, numbered as on X (in Burmese digits for Burmese).
    assert en.parts[0].startswith("Third Year of the Spring Revolution")
    assert en.parts[-1].endswith(f"{len(en.parts)}/{len(en.parts)}")
    assert my.parts[0].endswith("၁/၃") and my.parts[-1].endswith("၃/၃")
    # What previews show for Burmese is the grapheme count, well under the characters.
    assert all(shown < len(part) for part, shown in zip(my.parts, my.lengths, strict=True))


def test_a_bluesky_template_is_used_where_there_is_one(seeded: App, home: Path) -> None:
    (home / "messages" / "anniversary" / "bluesky.en.txt.j2").write_text(
        "On Bluesky: {{ figures.killed | count }} killed.\n", encoding="utf-8"
    )

    en, my = compose(seeded, "anniversary", DAY, channels=["bluesky"])

    assert isinstance(en, Draft) and en.parts == ("On Bluesky: (4474) killed.",)
    assert isinstance(my, Draft) and len(my.parts) == 3  # no Burmese one: the X wording


def test_a_word_too_long_for_a_post_names_the_template(seeded: App, home: Path) -> None:
    (home / "messages" / "anniversary" / "bluesky.en.txt.j2").write_text(
        "https://aappb.org/" + "x" * 300 + "\n", encoding="utf-8"
    )

    en = compose(seeded, "anniversary", DAY, langs=["en"], channels=["bluesky"])[0]

    assert isinstance(en, Failure)
    assert en.reason.startswith("messages/anniversary/bluesky.en.txt.j2: a single word of 318")
    assert "a Bluesky post of 300" in en.reason


def test_burmese_is_cut_by_characters_which_bound_any_grapheme_count() -> None:
    text = " ".join([MINGALABA] * 40)  # 399 characters, 279 graphemes by UAX #29
    assert len(text) > 300 and graphemes(text) < 300

    parts = split_posts(text, _numbers)

    assert len(parts) == 2 and all(len(p) <= 300 for p in parts)
    assert graphemes(MINGALABA) == 6  # UAX #29 (regex's \X agrees); atproto's own count is 5


def test_an_empty_text_is_refused() -> None:
    with pytest.raises(FitError, match="a Bluesky post would be empty"):
        split_posts("  \n ", _numbers)


def test_record_keys_are_tids_the_same_on_every_attempt_and_unique() -> None:
    parts = ("One 1/2", "Two 2/2")
    first = [record_key("delivery-3", parts, i) for i in range(2)]

    assert all(TID_SYNTAX.match(key) for key in first)
    assert first == [record_key("delivery-3", parts, i) for i in range(2)]
    assert first[0] < first[1]
    # Another delivery, or another text under the same delivery number (a new database).
    assert record_key("delivery-4", parts, 0) not in first
    assert record_key("delivery-3", ("Other 1/2", "Two 2/2"), 0) not in first


# bot config check ---------------------------------------------------------------------------------


def _problems(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **settings: str) -> str:
    for name in ("BOT_BLUESKY_HANDLE", "BOT_BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return "\n".join(Bluesky.problems(BlueskySettings(**settings)))


def test_config_check_finds_a_bad_server_address(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "is not the address of a Bluesky server" in _problems(
        monkeypatch, {}, base_url="bsky.social"
    )
    assert "plain http" in _problems(monkeypatch, {}, base_url="http://pds.example.org")
    assert _problems(monkeypatch, {}, base_url="http://127.0.0.1:2583") == ""
    assert _problems(monkeypatch, {}) == ""  # no credentials at all: the outbox folder, fine


def test_config_check_names_the_missing_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _problems(monkeypatch, {"BOT_BLUESKY_HANDLE": "aapp.bsky.social"})
    assert "BOT_BLUESKY_APP_PASSWORD is not set, though BOT_BLUESKY_HANDLE is" in found

    found = _problems(monkeypatch, {"BOT_BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"})
    assert "BOT_BLUESKY_HANDLE is not set, though BOT_BLUESKY_APP_PASSWORD is" in found


def test_config_check_refuses_what_is_not_an_app_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"BOT_BLUESKY_HANDLE": "@aapp.bsky.social", "BOT_BLUESKY_APP_PASSWORD": "hunter2!"}
    found = _problems(monkeypatch, env)
    assert "BOT_BLUESKY_APP_PASSWORD is not an app password (xxxx-xxxx-xxxx-xxxx)" in found
    assert "hunter2" not in found
    env = {"BOT_BLUESKY_HANDLE": "aapp", "BOT_BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}
    assert "BOT_BLUESKY_HANDLE is not a Bluesky handle" in _problems(monkeypatch, env)

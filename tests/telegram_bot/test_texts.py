"""The bot's texts: both languages everywhere, escaped values, buttons within Telegram's limits."""

from __future__ import annotations

import re

import pytest

from bot.lang import has_latin_digit
from bot.telegram_bot.texts import COMMANDS, LANGUAGE_CHOICE, LANGUAGE_NAMES, TEXTS, both, text

KEYS = sorted(TEXTS)
TELEGRAM_TAGS = re.compile(r"</?(b|i|u|s|a|code|pre|blockquote)\b[^>]*>")


@pytest.mark.parametrize("key", KEYS)
def test_every_text_in_english_and_burmese(key: str) -> None:
    english, burmese = TEXTS[key]["en"], TEXTS[key]["my"]

    assert set(TEXTS[key]) == {"en", "my"}
    assert english != burmese
    assert sorted(re.findall(r"{\w+}", english)) == sorted(re.findall(r"{\w+}", burmese))
    assert not has_latin_digit(burmese)
    # Only markup Telegram accepts; nothing else that looks like a tag.
    assert "<" not in TELEGRAM_TAGS.sub("", english + burmese)


def test_values_are_escaped() -> None:
    found = text("latest_heading", "en", org='<a href="x">&', date="<b>")

    assert found == "<b>&lt;a href=&quot;x&quot;&gt;&amp;</b>\nFigures as of &lt;b&gt;:"


def test_an_unknown_language_falls_back_to_english() -> None:
    assert text("help", "fr") == text("help", "en")
    assert both("personal") == f"{text('personal', 'en')}\n\n{text('personal', 'my')}"


def test_button_data_fits_telegrams_64_bytes() -> None:
    for lang in LANGUAGE_NAMES:
        assert len((LANGUAGE_CHOICE + lang).encode()) <= 64


def test_button_answers_fit_a_toast() -> None:
    for key in ("chosen", "stale_button", "failed", "personal"):
        assert len(both(key)) <= 200
        assert "<" not in both(key)  # shown as plain text


def test_command_menus() -> None:
    assert set(COMMANDS) == {"en", "my"}
    for menu in COMMANDS.values():
        assert list(menu) == ["start", "subscribe", "latest", "stop", "help"]
        assert all(1 <= len(about) <= 256 for about in menu.values())

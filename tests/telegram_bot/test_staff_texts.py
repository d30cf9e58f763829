"""The staff commands' texts and limits: both languages for refusals, messages under 4096."""

from __future__ import annotations

import re

import pytest

from bot.errors import Problems
from bot.lang import has_latin_digit
from bot.telegram_bot.staff_texts import (
    MESSAGE_LIMIT,
    TEXTS,
    error_html,
    fit,
    pre,
    public_text,
    units,
)
from bot.telegram_bot.texts import COMMANDS

STAFF_COMMANDS = {"preview", "postnow", "figures", "setfigures", "pause", "resume", "status"}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_refusal_in_english_and_burmese(key: str) -> None:
    english, burmese = TEXTS[key]["en"], TEXTS[key]["my"]

    assert set(TEXTS[key]) == {"en", "my"} and english != burmese
    assert sorted(re.findall(r"{\w+}", english)) == sorted(re.findall(r"{\w+}", burmese))
    assert not has_latin_digit(burmese)


def test_the_button_refusal_fits_a_toast() -> None:
    for lang in ("en", "my"):
        toast = public_text("staff_only_button", lang)
        assert len(toast) <= 200 and "<" not in toast


def test_staff_commands_stay_out_of_the_public_menu() -> None:
    for menu in COMMANDS.values():
        assert not STAFF_COMMANDS & set(menu)


def test_a_long_text_is_cut_with_a_note_and_never_splits_an_entity() -> None:
    body = "a & b < c " * 1000 + "😀" * 3000

    message = fit("<b>head</b>\n", body)

    assert units(message) <= MESSAGE_LIMIT
    assert message.startswith("<b>head</b>\na &amp; b &lt; c ")
    assert message.endswith("`bot preview` shows it whole)")
    assert not re.search(r"&[a-z]*$", message.split("\n… (cut")[0])


def test_a_short_text_is_kept_whole_and_escaped() -> None:
    assert fit("<b>x</b>\n", "<i>'quoted'</i> & more") == (
        "<b>x</b>\n&lt;i&gt;'quoted'&lt;/i&gt; &amp; more"
    )
    block = pre(["line"] * 2000)
    assert block.startswith("<pre>") and block.endswith("</pre>")
    assert units(block) <= MESSAGE_LIMIT


def test_problems_are_listed_with_the_telegram_way_to_correct() -> None:
    shown = error_html(Problems(['killed=1: … repeat with --correction "why"', "<second>"]))

    assert shown.startswith("<b>Refused, nothing was changed</b> (2 problems):\n• killed=1")
    assert "• &lt;second&gt;" in shown
    assert 'add correction="why"' in shown

"""The staff commands' texts and limits: both languages for refusals, messages under 4096."""

from __future__ import annotations

import html
import re

import pytest

from bot.cards.alt import ALT_MAX
from bot.cards.card import Card
from bot.channels.telegram_card import CAPTION_LIMIT
from bot.compose.drafts import Draft, Failure
from bot.errors import Problems
from bot.fit.telegram import visible_length
from bot.lang import has_latin_digit
from bot.telegram_bot.staff_posts import CAPTION_CUT, CardShown, card_caption, with_cards
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


def _card(alt: str, sha: str = "a" * 64) -> Card:
    return Card(sha, alt, 1200, 675, 84_000, f"/cards/{sha}.png")


def _draft(channel: str, lang: str, card: Card | None) -> Draft:
    return Draft("daily-briefing", channel, lang, ("text",), (4,), 4096, (), card=card)


def test_a_card_is_shown_once_per_language_before_its_first_edition() -> None:
    en, my = _card("en alt"), _card("my alt", "b" * 64)
    failed = Failure("daily-briefing", "x", "en", "too long")
    editions = (
        failed,
        _draft("telegram", "en", en),
        _draft("email", "en", en),
        _draft("x", "my", my),
        _draft("telegram", "my", my),
    )

    shown = with_cards(editions)

    assert shown == [
        CardShown("daily-briefing", "en", en),
        *editions[:3],
        CardShown("daily-briefing", "my", my),
        *editions[3:],
    ]
    assert with_cards(tuple(_draft(c, "en", None) for c in ("x", "email"))) == [
        _draft("x", "en", None),
        _draft("email", "en", None),
    ]


def test_a_card_caption_carries_the_whole_alt_text_within_the_limit() -> None:
    short = card_caption(CardShown("daily-briefing", "en", _card("1 <killed> & 2 held.")))
    assert short == (
        "<b>daily-briefing · card · en</b> (1200×675, 84 kB)\n"
        "Alt text: 1 &lt;killed&gt; &amp; 2 held."
    )
    # The longest alt text a card may have (bot/cards/alt.py) leaves no room for the heading:
    # it goes alone, whole.
    longest = "၁၂၃ & " * (ALT_MAX // 6)
    caption = card_caption(CardShown("daily-briefing", "my", _card(longest)))
    assert caption == html.escape(longest, quote=False)
    assert visible_length(caption) <= CAPTION_LIMIT
    # Longer than Telegram takes (never drawn so), it is cut with a note, not refused.
    cut = card_caption(CardShown("daily-briefing", "my", _card("x" * 2000)))
    assert visible_length(cut) <= CAPTION_LIMIT and cut.endswith(CAPTION_CUT)

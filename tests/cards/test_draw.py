"""Drawing a card: RAQM required, fonts found, one 16:9 size under every byte limit, alt text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App
from bot.cards import draw
from bot.cards.alt import ALT_LIMITS, alt_text
from bot.cards.card import CardError
from bot.cards.content import CardContent, Row
from bot.cards.fonts import find_fonts
from tests.cards.helpers import card_of

CONTENT = CardContent(
    lang="en",
    title="Daily Briefing",
    period="Since the coup of February 1, 2021, as of January 31, 2024",
    rows=(Row("4,474", "killed by the junta"), Row("25,931", "arrested")),
    org_name="Assistance Association for Political Prisoners",
    org_short="AAPP",
    date="February 1, 2024",
    website="aappb.org",
)


def test_without_raqm_nothing_is_drawn_and_the_package_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import features

    real = features.check
    monkeypatch.setattr(features, "check", lambda name: False if name == "raqm" else real(name))

    with pytest.raises(CardError, match="libraqm0") as raised:
        draw.draw_card(CONTENT)
    assert "Burmese" in str(raised.value)


def test_missing_fonts_are_named_with_their_debian_packages(tmp_path: Path) -> None:
    with pytest.raises(CardError) as raised:
        find_fonts([tmp_path])
    said = str(raised.value)
    assert "NotoSansMyanmar-Regular.ttf (Debian: fonts-noto-core)" in said
    assert "Padauk-Regular.ttf (Debian: fonts-sil-padauk)" in said


def test_a_card_is_16_by_9_and_under_every_platforms_byte_limit(seeded_app: App) -> None:
    for message in ("anniversary", "daily-briefing"):
        for lang in ("en", "my"):
            card = card_of(seeded_app, message, lang)
            image = Image.open(io.BytesIO(card.png()))
            assert image.format == "PNG" and image.size == (1200, 675)
            assert (card.width, card.height) == image.size and 1200 * 9 == 675 * 16
            assert card.size == len(card.png()) < 2_000_000  # Bluesky's, the smallest


def test_the_card_and_its_alt_text_carry_the_editions_own_figures(seeded_app: App) -> None:
    en = card_of(seeded_app, "daily-briefing", "en")
    my = card_of(seeded_app, "daily-briefing", "my")
    assert "4,474 killed by the junta" in en.alt and "25,931" in en.alt
    assert "၄,၄၇၄" in my.alt and "၂၅,၉၃၁" in my.alt
    assert not any(char.isascii() and char.isdigit() for char in my.alt)
    year = card_of(seeded_app, "anniversary", "en")
    assert "1,988 arrested" in year.alt or "1,988" in year.alt
    for card in (en, my, year):
        assert 0 < len(card.alt) <= min(ALT_LIMITS["x"], ALT_LIMITS["mastodon"])


def test_an_alt_text_too_long_for_x_is_refused() -> None:
    rows = tuple(Row(f"{n:,}", "a very long label " * 12) for n in range(6))
    with pytest.raises(CardError, match="X accepts 1000"):
        alt_text(CardContent("en", "Title", "Period", rows, "Org", "O", "today"))


def test_a_card_too_full_to_read_is_refused_not_shrunk() -> None:
    crowded = CardContent(
        "en",
        "An extremely long title " * 8,
        "period",
        CONTENT.rows,
        "Org",
        "O",
        "today",
    )
    with pytest.raises(CardError, match="does not fit"):
        draw.draw_card(crowded)

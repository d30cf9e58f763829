"""Mastodon's length count and the editions fitted to it: threads within the configured limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mastodon import Mastodon as MastodonPy

from bot.app import App
from bot.channels.mastodon import Mastodon, MastodonSettings
from bot.compose.drafts import Draft
from bot.errors import FitError
from bot.fit.mastodon import status_length
from tests.compose.helpers import compose, enter_seed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("", 0),
        ("see https://aappb.org/?p=27322&lang=en now", 4 + 23 + 4),
        ("https://example.org/" + "a" * 300, 23),
        ("aappb.org without a scheme is text", 34),
        ("@aapp@mastodon.social thanks", len("@aapp thanks")),
        ("👨‍👩‍👧", 1),  # one grapheme of five code points
        ("ကို", 1),  # a consonant and its vowel signs: one grapheme
        # A stacked consonant (virama U+1039) starts a grapheme of its own before Unicode 16:
        # the larger count, which no Mastodon server exceeds.
        ("မင်္ဂလာပါ", 7),
        ("(၂၅၉၃၁)ဦး", 9),
    ],
)
def test_status_length_counts_as_mastodon_does(text: str, expected: int) -> None:
    assert status_length(text) == expected


_ALPHABET = st.sampled_from(
    [*"abc .,\n@/:", "မ", "င", "်", "္", "ဂ", "ာ", "ါ", "ု", "ေ", "း", "👍", "\u200d", "é"]
)
_PIECES = st.one_of(
    st.text(_ALPHABET, max_size=12),
    st.sampled_from(["https://aappb.org/?p=27322", " @aapp@mastodon.social ", " @bob "]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_status_length_never_counts_fewer_than_mastodon_py(text: str) -> None:
    # Mastodon.py copies the server's rule with Unicode 16 graphemes; ours differs only where
    # an older server counts more (stacked consonants), never less.
    theirs = MastodonPy.get_status_length(text)
    ours = status_length(text)
    assert ours >= theirs
    if "\u1039" not in text:
        assert ours == theirs


class _Edition:
    """A composed edition as Mastodon.fit sees it (the Fitting protocol)."""

    def __init__(self, text: str, lang: str = "en", own: str | None = None, **values: Any):
        self.message, self.lang, self.text = "statement", lang, text
        self.context: dict[str, Any] = {}
        self.settings = MastodonSettings(**values)
        self._own = own

    def optional(self, part: str, ext: str) -> str | None:
        return self._own if (part, ext) == ("mastodon", "txt") else None

    def render(self, template: str, extra: dict[str, Any]) -> str:
        raise AssertionError("not used")

    def where(self, part: str, ext: str) -> str:
        return f"statement/{part}.{self.lang}.{ext}.j2"

    def path(self, part: str, ext: str) -> str:
        return self.where(part, ext)

    def has(self, part: str, ext: str) -> str | None:
        return self.where(part, ext) if self.optional(part, ext) else None


STATEMENT = "\n\n".join(
    f"Paragraph {n} says that (25931) people were arrested and (4474) killed, and that the "
    f"figures at https://aappb.org/?p=2732{n} are verified one by one."
    for n in range(1, 13)
)


def test_a_long_statement_becomes_a_numbered_thread_within_the_limit() -> None:
    fitted = Mastodon.fit(_Edition(STATEMENT))

    n = len(fitted.parts)
    assert n > 1 and fitted.limit == 500
    assert all(status_length(p) <= 500 for p in fitted.parts)
    assert fitted.lengths == tuple(status_length(p) for p in fitted.parts)
    assert [p.rsplit(" ", 1)[1] for p in fitted.parts] == [f"{i}/{n}" for i in range(1, n + 1)]
    # Nothing lost or changed: the parts without their numbers are the statement's words.
    words = " ".join(p.rsplit(" ", 1)[0] for p in fitted.parts).split()
    assert words == STATEMENT.split()


def test_a_larger_configured_limit_makes_fewer_posts() -> None:
    stock = Mastodon.fit(_Edition(STATEMENT))
    larger = Mastodon.fit(_Edition(STATEMENT, max_characters=1500))

    assert len(larger.parts) < len(stock.parts)
    assert larger.limit == 1500 and max(larger.lengths) > 500


def test_a_burmese_thread_is_numbered_in_burmese_digits() -> None:
    text = " ".join(["စစ်ကောင်စီ၏ ဖမ်းဆီးမှု (၂၅၉၃၁)ဦး။"] * 60)

    fitted = Mastodon.fit(_Edition(text, lang="my"))

    n = len(fitted.parts)
    digits = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
    assert n > 1
    assert fitted.parts[-1].endswith(f"{n}/{n}".translate(digits))
    assert not re.search(r"[0-9]", "".join(fitted.parts))


def test_a_short_message_is_one_post_without_a_number() -> None:
    fitted = Mastodon.fit(_Edition("Today: (4474) killed since the coup."))

    assert fitted.parts == ("Today: (4474) killed since the coup.",)


def test_a_mastodon_template_of_the_message_is_used_instead_of_the_statement() -> None:
    fitted = Mastodon.fit(_Edition(STATEMENT, own="Short: (4474) killed. https://aappb.org"))

    assert fitted.parts == ("Short: (4474) killed. https://aappb.org",)


def test_a_word_too_long_for_a_post_is_a_fit_error_naming_mastodon() -> None:
    with pytest.raises(FitError, match="a single word of 600 characters cannot fit in a Mastodon"):
        Mastodon.fit(_Edition("x" * 600))


def test_the_anniversary_statement_fits_both_editions(app: App) -> None:
    enter_seed(app)

    editions = compose(app, "anniversary", "2024-02-01", None, ["mastodon"])

    drafts = {e.lang: e for e in editions if isinstance(e, Draft)}
    assert set(drafts) == {"en", "my"}
    en, my = drafts["en"], drafts["my"]
    assert en.parts[0].startswith("Statement on Third Year Anniversary of Spring Revolution")
    assert "(25931) political prisoners have been arrested" in "".join(en.parts)
    assert "(၂၅၉၃၁)ဦး" in "".join(my.parts)
    for draft in (en, my):
        assert len(draft.parts) > 1 and draft.limit == 500
        assert all(status_length(part) <= 500 for part in draft.parts)


_WORDS = st.sampled_from(
    [
        "the",
        "junta",
        "(25931)",
        "ဦး",
        "မင်္ဂလာပါ",
        "(၂၅၉၃၁)",
        "ကို",
        "👨‍👩‍👧",
        "https://aappb.org/?p=1",
        "a.",
        "၊",
        "။",
    ]
)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(_WORDS, min_size=1, max_size=120), limit=st.integers(20, 120))
def test_the_quick_count_splits_exactly_as_the_full_count(words: list[str], limit: int) -> None:
    # Fitting uses a count that skips texts too short to exceed the limit: the thread it makes,
    # and any error, must be the one the full count makes.
    from bot.fit.mastodon import status_length_within
    from bot.fit.x import split_thread

    text = " ".join(words)

    def split(length: Any) -> list[str] | str:
        try:
            return split_thread(
                text, limit, numbering=lambda i, n: f"{i}/{n}", length=length, unit="characters"
            )
        except FitError as exc:
            return str(exc)

    assert split(status_length_within(limit)) == split(status_length)

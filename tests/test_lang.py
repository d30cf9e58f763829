"""Tests for bot.lang: house-style numbers, dates and ordinals in English and Burmese."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from bot import lang
from bot.lang import (
    MYANMAR_DIGITS,
    count,
    digits,
    has_latin_digit,
    long_date,
    number,
    ordinal,
    ordinal_title,
    short_date,
    span,
)

COUP = date(2021, 2, 1)
ZAWGYI_ONLY = "\u1060\u1061\u1062\u1063\u1064\u1065\u1066\u1067\u1068\u1069\u106a\u106b"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("25931", "en", "25931"),
        ("25931", "my", "၂၅၉၃၁"),
        (0, "my", "၀"),
        (1234567890, "my", "၁၂၃၄၅၆၇၈၉၀"),
        ("from 2023 to 2024", "my", "from ၂၀၂၃ to ၂၀၂၄"),
        ("၁၂ already", "my", "၁၂ already"),
        ("(28) killed", "en", "(28) killed"),
    ],
)
def test_digits(text: str | int, language: str, expected: str) -> None:
    assert digits(text, language) == expected


@pytest.mark.parametrize(
    ("value", "language", "grouped", "expected"),
    [
        (25931, "en", False, "25931"),
        (25931, "my", False, "၂၅၉၃၁"),
        (25931, "en", True, "25,931"),
        (25931, "my", True, "၂၅,၉၃၁"),
        (1234567, "my", True, "၁,၂၃၄,၅၆၇"),
        (999, "en", True, "999"),
        (0, "my", True, "၀"),
        (-1588, "my", True, "-၁,၅၈၈"),
    ],
)
def test_number(value: int, language: str, grouped: bool, expected: str) -> None:
    assert number(value, language, grouped=grouped) == expected


@pytest.mark.parametrize("value", [0, 7, 999, 1000, 25931, 1234567, 10**12])
def test_grouping_agrees_with_cldr(value: int) -> None:
    babel_numbers = pytest.importorskip("babel.numbers")
    for language in lang.LANGUAGES:
        cldr = babel_numbers.format_decimal(value, locale=language)
        assert number(value, language, grouped=True) == digits(cldr, language)


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (25931, "en", "(25931)"),
        (25931, "my", "(၂၅၉၃၁)"),
        (28, "my", "(၂၈)"),
        (0, "en", "(0)"),
    ],
)
def test_count(value: int, language: str, expected: str) -> None:
    assert count(value, language) == expected


@pytest.mark.parametrize(
    ("d", "language", "expected"),
    [
        (date(2023, 2, 1), "en", "February 1, 2023"),
        (date(2023, 2, 1), "my", "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်"),
        (date(2024, 1, 31), "en", "January 31, 2024"),
        (date(2024, 1, 31), "my", "၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်"),
        (date(2024, 2, 29), "my", "၂၀၂၄ ခုနှစ် ဖေဖော်ဝါရီလ ၂၉ ရက်"),
        (date(2021, 8, 10), "my", "၂၀၂၁ ခုနှစ် ဩဂုတ်လ ၁၀ ရက်"),
        (date(2020, 12, 25), "en", "December 25, 2020"),
    ],
)
def test_long_date(d: date, language: str, expected: str) -> None:
    assert long_date(d, language) == expected


def test_burmese_month_names_agree_with_cldr() -> None:
    babel_dates = pytest.importorskip("babel.dates")
    cldr = babel_dates.get_month_names("wide", locale="my")
    for month in range(1, 13):
        assert long_date(date(2023, month, 1), "my").split()[2] == cldr[month] + "လ"


@pytest.mark.parametrize(
    ("d", "language", "expected"),
    [
        (date(2023, 2, 1), "en", "1 February 2023"),
        (date(2023, 2, 1), "my", "၁.၂.၂၀၂၃"),
        (date(2024, 12, 31), "en", "31 December 2024"),
        (date(2024, 12, 31), "my", "၃၁.၁၂.၂၀၂၄"),
    ],
)
def test_short_date(d: date, language: str, expected: str) -> None:
    assert short_date(d, language) == expected


@pytest.mark.parametrize(
    ("start", "end", "language", "expected"),
    [
        (
            date(2023, 2, 1),
            date(2024, 1, 31),
            "en",
            "February 1, 2023 – January 31, 2024",
        ),
        (
            date(2023, 2, 1),
            date(2024, 1, 31),
            "my",
            "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်မှ ၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်အထိ",
        ),
        (date(2024, 2, 1), date(2024, 2, 1), "en", "February 1, 2024 – February 1, 2024"),
    ],
)
def test_span(start: date, end: date, language: str, expected: str) -> None:
    assert span(start, end, language) == expected


def test_span_matches_the_statement() -> None:
    heading = "Third Year of the Spring Revolution from February 1, 2023 – January 31, 2024"
    assert heading.endswith(span(date(2023, 2, 1), date(2024, 1, 31), "en"))


EN_ORDINALS = {
    1: "first",
    2: "second",
    3: "third",
    4: "fourth",
    5: "fifth",
    8: "eighth",
    9: "ninth",
    10: "tenth",
    11: "eleventh",
    12: "twelfth",
    13: "thirteenth",
    19: "nineteenth",
    20: "twentieth",
    21: "twenty-first",
    22: "twenty-second",
    23: "twenty-third",
    40: "fortieth",
    42: "forty-second",
    75: "seventy-fifth",
    90: "ninetieth",
    99: "ninety-ninth",
    100: "100th",
    101: "101st",
    102: "102nd",
    103: "103rd",
    104: "104th",
    111: "111th",
    112: "112th",
    113: "113th",
    121: "121st",
    122: "122nd",
    123: "123rd",
    211: "211th",
    1001: "1001st",
}


@pytest.mark.parametrize(("n", "expected"), sorted(EN_ORDINALS.items()))
def test_english_ordinal(n: int, expected: str) -> None:
    assert ordinal(n, "en") == expected


def test_english_ordinals_are_unique_up_to_125() -> None:
    words = [ordinal(n, "en") for n in range(1, 126)]
    assert len(set(words)) == len(words)
    assert all(word and word == word.strip() for word in words)


MY_ORDINALS = {
    1: "ပထမ",
    2: "ဒုတိယ",
    3: "တတိယ",
    4: "စတုတ္ထ",
    5: "ပဉ္စမ",
    6: "ဆဋ္ဌမ",
    7: "သတ္တမ",
    8: "အဋ္ဌမ",
    9: "နဝမ",
    10: "ဒသမ",
    11: "(၁၁) ကြိမ်မြောက်",
    75: "(၇၅) ကြိမ်မြောက်",
    101: "(၁၀၁) ကြိမ်မြောက်",
}


@pytest.mark.parametrize(("n", "expected"), sorted(MY_ORDINALS.items()))
def test_burmese_ordinal(n: int, expected: str) -> None:
    assert ordinal(n, "my") == expected


def test_burmese_ordinals_are_unique_without_latin_digits() -> None:
    words = [ordinal(n, "my") for n in range(1, 126)]
    assert len(set(words)) == len(words)
    assert not any(has_latin_digit(word) for word in words)


@pytest.mark.parametrize(
    ("n", "language", "expected"),
    [
        (1, "en", "First"),
        (3, "en", "Third"),
        (21, "en", "Twenty-first"),
        (101, "en", "101st"),
        (3, "my", "တတိယ"),
        (12, "my", "(၁၂) ကြိမ်မြောက်"),
    ],
)
def test_ordinal_title(n: int, language: str, expected: str) -> None:
    assert ordinal_title(n, language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("no digits", False),
        ("၂၀၂၄ ခုနှစ်", False),
        ("၂၀၂4", True),
        ("(0)", True),
        ("Twenty-first 9", True),
    ],
)
def test_has_latin_digit(text: str, expected: bool) -> None:
    assert has_latin_digit(text) is expected


def _burmese_samples() -> list[str]:
    d = date(2028, 9, 30)
    return [
        digits("0123456789", "my"),
        number(9876543210, "my", grouped=True),
        count(25931, "my"),
        long_date(d, "my"),
        short_date(d, "my"),
        span(COUP, d, "my"),
        *(ordinal(n, "my") for n in range(1, 126)),
    ]


@pytest.mark.parametrize("text", _burmese_samples())
def test_burmese_output_is_unicode_myanmar(text: str) -> None:
    assert not has_latin_digit(text)
    # Zawgyi reuses code points that Unicode leaves for other Myanmar-script languages.
    assert not any(ch in ZAWGYI_ONLY for ch in text)
    assert unicodedata.is_normalized("NFC", text)


BAD_LANGUAGE_CALLS: list[Callable[[str], Any]] = [
    lambda language: digits("1", language),
    lambda language: number(1, language),
    lambda language: count(1, language),
    lambda language: long_date(COUP, language),
    lambda language: short_date(COUP, language),
    lambda language: span(COUP, COUP, language),
    lambda language: ordinal(1, language),
    lambda language: ordinal_title(1, language),
]


@pytest.mark.parametrize("call", BAD_LANGUAGE_CALLS)
@pytest.mark.parametrize("language", ["fr", "EN", "my-MM", "zawgyi", ""])
def test_unknown_language_is_refused(call: Callable[[str], Any], language: str) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        call(language)


@pytest.mark.parametrize("n", [0, -1, -100])
@pytest.mark.parametrize("language", lang.LANGUAGES)
def test_ordinal_below_one_is_refused(n: int, language: str) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        ordinal(n, language)


def test_span_backwards_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        span(date(2024, 1, 31), date(2023, 2, 1), "en")


def test_constants() -> None:
    assert lang.LANGUAGES == ("en", "my")
    assert [ord(ch) for ch in MYANMAR_DIGITS] == list(range(0x1040, 0x104A))

"""Numbers, dates and ordinals in the organisation's English and Burmese house style.

Burmese output is Unicode (never Zawgyi) and uses Myanmar digits throughout. Babel is not used
here: it prints Latin digits for the "my" locale whatever numbering system is asked for
(REFERENCE.md section 6), and importing it slows the command line. The month names and the
"," group separator below are the ones CLDR gives for "my"; the tests check that they agree.

Date styles:

- ``long_date``: en "February 1, 2023"; my "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်".
- ``short_date``: en "1 February 2023" (the month is spelled out because staff read both
  day-first and month-first numeric dates, and misread them); my "၁.၂.၂၀၂၃" (day.month.year,
  the numeric form common in Burmese notices).
- ``span``: en "February 1, 2023 – January 31, 2024" (en dash with spaces, as in the statements);
  my "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်မှ ၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်အထိ" (from ... until).
"""

from __future__ import annotations

import re
from datetime import date

LANGUAGES = ("en", "my")
MYANMAR_DIGITS = "၀၁၂၃၄၅၆၇၈၉"

_TO_MYANMAR = str.maketrans("0123456789", MYANMAR_DIGITS)
_LATIN_DIGIT = re.compile(r"[0-9]")

_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MY_MONTHS = (
    "ဇန်နဝါရီ",
    "ဖေဖော်ဝါရီ",
    "မတ်",
    "ဧပြီ",
    "မေ",
    "ဇွန်",
    "ဇူလိုင်",
    "ဩဂုတ်",
    "စက်တင်ဘာ",
    "အောက်တိုဘာ",
    "နိုဝင်ဘာ",
    "ဒီဇင်ဘာ",
)

_EN_UNIT_ORDINALS = (
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
)
_EN_TEEN_ORDINALS = (
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_TENS_ORDINALS = (
    "",
    "",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
)
# Burmese writes the first ten ordinals with the Pali loan words; past ten there are none in
# everyday use, so a counted form ("the 11th time") takes over.
_MY_PALI_ORDINALS = (
    "ပထမ",
    "ဒုတိယ",
    "တတိယ",
    "စတုတ္ထ",
    "ပဉ္စမ",
    "ဆဋ္ဌမ",
    "သတ္တမ",
    "အဋ္ဌမ",
    "နဝမ",
    "ဒသမ",
)
_MY_COUNTED_ORDINAL_SUFFIX = " ကြိမ်မြောက်"


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")


def digits(text: str | int, lang: str) -> str:
    """Return `text` with Latin digits written in the script of `lang`."""
    _check_language(lang)
    text = str(text)
    return text.translate(_TO_MYANMAR) if lang == "my" else text


def number(value: int, lang: str, grouped: bool = False) -> str:
    """Return an integer in `lang`, optionally with thousands separators ("25,931")."""
    _check_language(lang)
    return digits(f"{value:,}" if grouped else str(value), lang)


def count(value: int, lang: str) -> str:
    """Return a figure in the organisation's statement style: "(25931)" / "(၂၅၉၃၁)"."""
    return f"({number(value, lang)})"


def long_date(d: date, lang: str) -> str:
    """Return a date as written in statements: "February 1, 2023" / "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်"."""
    _check_language(lang)
    if lang == "my":
        return digits(f"{d.year} ခုနှစ် {_MY_MONTHS[d.month - 1]}လ {d.day} ရက်", lang)
    return f"{_EN_MONTHS[d.month - 1]} {d.day}, {d.year}"


def short_date(d: date, lang: str) -> str:
    """Return a compact date for staff: "1 February 2023" / "၁.၂.၂၀၂၃"."""
    _check_language(lang)
    if lang == "my":
        return digits(f"{d.day}.{d.month}.{d.year}", lang)
    return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"


def span(start: date, end: date, lang: str) -> str:
    """Return an inclusive date range in statement style, from `start` to `end`."""
    _check_language(lang)
    if end < start:
        raise ValueError(f"span ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if lang == "my":
        return f"{long_date(start, lang)}မှ {long_date(end, lang)}အထိ"
    return f"{long_date(start, lang)} – {long_date(end, lang)}"


def _en_ordinal_word(n: int) -> str:
    tens, units = divmod(n, 10)
    if tens == 0:
        return _EN_UNIT_ORDINALS[units]
    if tens == 1:
        return _EN_TEEN_ORDINALS[units]
    if units == 0:
        return _EN_TENS_ORDINALS[tens]
    return f"{_EN_TENS[tens]}-{_EN_UNIT_ORDINALS[units]}"


def _en_ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def ordinal(n: int, lang: str) -> str:
    """Return the ordinal of `n`: "third", "twenty-first", "101st" / "တတိယ", "(၁၁) ကြိမ်မြောက်"."""
    _check_language(lang)
    if n < 1:
        raise ValueError(f"ordinal needs a number of 1 or more, got {n}")
    if lang == "my":
        if n <= len(_MY_PALI_ORDINALS):
            return _MY_PALI_ORDINALS[n - 1]
        return count(n, lang) + _MY_COUNTED_ORDINAL_SUFFIX
    # Words read well in a title up to ninety-ninth; beyond that they become unwieldy.
    if n < 100:
        return _en_ordinal_word(n)
    return f"{n}{_en_ordinal_suffix(n)}"


def ordinal_title(n: int, lang: str) -> str:
    """Return the ordinal of `n` for a title: "Third", "Twenty-first" / "တတိယ"."""
    word = ordinal(n, lang)
    # Burmese has no letter case, so only English changes.
    return word[:1].upper() + word[1:] if lang == "en" else word


def has_latin_digit(text: str) -> bool:
    """Return True if `text` contains any of the Latin digits 0-9."""
    return _LATIN_DIGIT.search(text) is not None

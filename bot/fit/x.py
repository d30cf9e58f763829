"""Fit text into X posts: twitter-text v3 weighted length and numbered threads."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from twitter_text import parse_tweet
from twitter_text.extract_urls import extract_urls_with_indices

from bot.errors import FitError
from bot.fit.breaks import PARAGRAPH, SENTENCE, cuts, level, pack, strip

X_LIMIT: Final = 280

Numbering = Callable[[int, int], str]
Length = Callable[[str], int]

URL_WEIGHT: Final = 23

# A code point that is not in twitter-text v3's weight-100 ranges (U+0000-U+10FF, U+2000-U+200D,
# U+2010-U+201F, U+2032-U+2037), or that can be (part of) an emoji even inside them: (C) and (R)
# (U+00A9, U+00AE) are emoji on their own, and U+200D (zero-width joiner) glues emoji together.
# Keycaps need U+FE0F or U+20E3, which are outside the ranges. Text with none of these, once
# NFC-normalised, holds no emoji and no code point of weight 2.
_MAYBE_HEAVY: Final = re.compile(
    "[^\x00-\u00a8\u00aa-\u00ad\u00af-\u10ff\u2000-\u200c\u2010-\u201f\u2032-\u2037]"
)


def weighted_length(text: str) -> int:
    """Return the length X counts for text (twitter-text v3: URLs 23, emoji and CJK 2)."""
    fast = _light_weighted_length(text)
    return fast if fast is not None else int(parse_tweet(text).weightedLength)


def _light_weighted_length(text: str) -> int | None:
    """The weighted length of text without emoji or heavy code points, else None.

    parse_tweet spends most of its time in its emoji regular expression; when no code point can
    weigh 2, the count is one per code point and 23 per URL, found by twitter-text's own extractor
    on the same normalised text.
    """
    # As parse_tweet: NFC first (it can compose e.g. "=" + U+0338 into U+2260), then line endings.
    normal = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if _MAYBE_HEAVY.search(normal):
        return None
    # Walk the URLs as parse_tweet does: one per start index (the last wins), and a URL that
    # starts inside the previous one is skipped.
    sizes = {url["indices"][0]: len(url["url"]) for url in extract_urls_with_indices(normal)}
    weight, end = len(normal), 0
    for start in sorted(sizes):
        if start >= end:
            weight += URL_WEIGHT - sizes[start]
            end = start + sizes[start]
    return weight


def split_thread(
    text: str,
    limit: int = X_LIMIT,
    numbering: Numbering | None = None,
    *,
    length: Length = weighted_length,
    post: str = "an X post",
    unit: str = "weighted characters",
) -> list[str]:
    """Split text into posts of at most limit, numbered if more than one.

    X's weighted length by default; another platform's thread gives its own `length`, and what
    its errors call a post ("a Mastodon post") and the unit.
    """
    whole = strip(text)
    if not whole:
        raise FitError(f"{post} would be empty: there is no text to publish")
    if length(whole) <= limit:
        return [whole]
    number = numbering or _default_numbering
    words, levels = _words(whole)
    measure = _Measure(length, post, unit)
    # The number of parts changes the width of every suffix ("9/9" vs "10/10"), which can
    # change the number of parts again, so look for a count that agrees with itself.
    n, tried = 2, set()
    while n not in tried:
        tried.add(n)
        ranges = _pack_thread(words, levels, n, limit, number, measure)
        if len(ranges) == n:
            return _finish(words, ranges, number)
        n = max(2, len(ranges))
    # Only a numbering whose width jumps around with the total can get here.
    counts = ", ".join(map(str, sorted(tried)))
    raise FitError(
        "the text cannot be numbered as a thread: with the numbering given, the count of "
        f"posts never matches the numbers written on them (tried {counts} posts)"
    )


def _default_numbering(index: int, total: int) -> str:
    return f"{index}/{total}"


def _words(text: str) -> tuple[list[tuple[str, str]], list[int]]:
    """Cut text into (separator before, word) pairs and the break level before each word."""
    words: list[tuple[str, str]] = []
    levels: list[int] = []
    for gap, word in cuts(text):
        levels.append(level(gap, words[-1][1]) if gap is not None else PARAGRAPH)
        words.append((gap or "", word))
    return words, levels


def _render(words: list[tuple[str, str]], start: int, end: int) -> str:
    # The separator before the first word is where the previous part ended, so it is dropped.
    return words[start][1] + "".join(sep + word for sep, word in words[start + 1 : end])


def _pack_thread(
    words: list[tuple[str, str]],
    levels: list[int],
    n: int,
    limit: int,
    number: Numbering,
    measure: _Measure,
) -> list[tuple[int, int]]:
    def fits(start: int, end: int, index: int) -> bool:
        return measure.length(f"{_render(words, start, end)} {number(index, n)}") <= limit

    def too_long(at: int, index: int) -> FitError:
        return _word_too_long(words[at][1], limit, number(index, n), measure)

    # Posts break between sentences; clauses and spaces are only used inside a long one.
    return pack(levels, SENTENCE, fits, too_long)


def _finish(
    words: list[tuple[str, str]], ranges: list[tuple[int, int]], number: Numbering
) -> list[str]:
    n = len(ranges)
    return [f"{_render(words, s, e)} {number(i, n)}" for i, (s, e) in enumerate(ranges, 1)]


@dataclass(frozen=True)
class _Measure:
    """How a platform counts, and how its errors name the platform and the unit."""

    length: Length
    post: str
    unit: str


def _word_too_long(word: str, limit: int, suffix: str, measure: _Measure) -> FitError:
    weight = measure.length(word)
    shown = word if len(word) <= 40 else word[:40] + "…"
    post = measure.post
    if weight > limit:
        return FitError(
            f"a single word of {weight} {measure.unit} cannot fit in {post} of {limit}: '{shown}'"
        )
    return FitError(
        f"a single word of {weight} {measure.unit} cannot fit in {post} of {limit} "
        f"together with the thread number '{suffix}': '{shown}'"
    )

"""Fit text into X posts: twitter-text v3 weighted length and numbered threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from twitter_text import parse_tweet

from bot.errors import FitError
from bot.fit.breaks import PARAGRAPH, SENTENCE, cuts, level, pack, strip

X_LIMIT: Final = 280

Numbering = Callable[[int, int], str]


def weighted_length(text: str) -> int:
    """Return the length X counts for text (twitter-text v3: URLs 23, emoji and CJK 2)."""
    return int(parse_tweet(text).weightedLength)


def split_thread(text: str, limit: int = X_LIMIT, numbering: Numbering | None = None) -> list[str]:
    """Split text into X posts of at most limit weighted characters, numbered if more than one."""
    whole = strip(text)
    if not whole:
        raise FitError("the X post is empty: there is no text to publish")
    if weighted_length(whole) <= limit:
        return [whole]
    number = numbering or _default_numbering
    words, levels = _words(whole)
    # The number of parts changes the width of every suffix ("9/9" vs "10/10"), which can
    # change the number of parts again, so look for a count that agrees with itself.
    n, tried = 2, set()
    while n not in tried:
        tried.add(n)
        ranges = _pack_thread(words, levels, n, limit, number)
        if len(ranges) == n:
            return _finish(words, ranges, number)
        n = max(2, len(ranges))
    # Only a numbering whose width jumps around with the total can get here.
    counts = ", ".join(map(str, sorted(tried)))
    raise FitError(
        "the text cannot be numbered as an X thread: with the numbering given, the count of "
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
    words: list[tuple[str, str]], levels: list[int], n: int, limit: int, number: Numbering
) -> list[tuple[int, int]]:
    def fits(start: int, end: int, index: int) -> bool:
        return weighted_length(f"{_render(words, start, end)} {number(index, n)}") <= limit

    def too_long(at: int, index: int) -> FitError:
        return _word_too_long(words[at][1], limit, number(index, n))

    # Posts break between sentences; clauses and spaces are only used inside a long one.
    return pack(levels, SENTENCE, fits, too_long)


def _finish(
    words: list[tuple[str, str]], ranges: list[tuple[int, int]], number: Numbering
) -> list[str]:
    n = len(ranges)
    return [f"{_render(words, s, e)} {number(i, n)}" for i, (s, e) in enumerate(ranges, 1)]


def _word_too_long(word: str, limit: int, suffix: str) -> FitError:
    weight = weighted_length(word)
    shown = word if len(word) <= 40 else word[:40] + "…"
    if weight > limit:
        return FitError(
            f"a single word of {weight} weighted characters cannot fit in an X post "
            f"of {limit}: '{shown}'"
        )
    return FitError(
        f"a single word of {weight} weighted characters cannot fit in an X post of {limit} "
        f"together with the thread number '{suffix}': '{shown}'"
    )

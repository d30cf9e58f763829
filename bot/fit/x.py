"""Fit text into X posts: twitter-text v3 weighted length and numbered threads."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final

from twitter_text import parse_tweet

from bot.errors import FitError

X_LIMIT: Final = 280

# Break levels, most preferred first. A thread breaks between sentences (levels up to
# _SENTENCE); clauses and plain spaces are only used inside a sentence too long for one post.
_PARAGRAPH, _LINE, _SENTENCE, _CLAUSE, _SPACE = range(5)

# No-break spaces are left out on purpose: writers use them to keep two words together.
# U+200B is in because Burmese text often marks phrase boundaries with it instead of a space.
_GAP_CHAR = r"(?:[^\S\u00a0\u2007\u202f]|\u200b)"
_GAP: Final = re.compile(f"({_GAP_CHAR}+)")
_LEADING: Final = re.compile(f"^{_GAP_CHAR}+")
_TRAILING: Final = re.compile(f"{_GAP_CHAR}+$")
_CLOSERS = "\"'”’»)\\]"
_SENTENCE_END: Final = re.compile(f"[.!?…။][{_CLOSERS}]*$")
_CLAUSE_END: Final = re.compile(f"[,;:၊][{_CLOSERS}]*$")
# Burmese often has no space after ။ or ၊, so the mark itself (with any closing quote)
# has to count as a break opportunity, or a whole Burmese paragraph would be one "word".
_MYANMAR_MARK: Final = re.compile(
    f"(?<=[။၊])(?![။၊{_CLOSERS}])(?!$)|(?<=[။၊][{_CLOSERS}])(?![{_CLOSERS}])(?!$)"
)

Numbering = Callable[[int, int], str]


def weighted_length(text: str) -> int:
    """Return the length X counts for text (twitter-text v3: URLs 23, emoji and CJK 2)."""
    return int(parse_tweet(text).weightedLength)


def split_thread(text: str, limit: int = X_LIMIT, numbering: Numbering | None = None) -> list[str]:
    """Split text into X posts of at most limit weighted characters, numbered if more than one."""
    whole = _strip(text)
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


def _strip(text: str) -> str:
    return _TRAILING.sub("", _LEADING.sub("", text))


def _level(separator: str, before: str) -> int:
    newlines = separator.count("\n")
    if newlines >= 2:
        return _PARAGRAPH
    if newlines == 1:
        return _LINE
    if _SENTENCE_END.search(before):
        return _SENTENCE
    if _CLAUSE_END.search(before):
        return _CLAUSE
    return _SPACE


def _words(text: str) -> tuple[list[tuple[str, str]], list[int]]:
    """Cut text into (separator before, word) pairs and the break level before each word."""
    words: list[tuple[str, str]] = []
    levels: list[int] = []
    separator = ""
    for k, chunk in enumerate(_GAP.split(text)):
        if k % 2:
            separator = chunk
            continue
        for j, word in enumerate(_MYANMAR_MARK.split(chunk)):
            if j:
                separator = ""
            levels.append(_level(separator, words[-1][1]) if words else _PARAGRAPH)
            words.append((separator, word))
    return words, levels


def _render(words: list[tuple[str, str]], start: int, end: int) -> str:
    # The separator before the first word is where the previous part ended, so it is dropped.
    return words[start][1] + "".join(sep + word for sep, word in words[start + 1 : end])


def _units(levels: list[int], lo: int, hi: int, level: int) -> Iterator[tuple[int, int]]:
    start = lo
    for i in range(lo + 1, hi):
        if levels[i] <= level:
            yield start, i
            start = i
    yield start, hi


def _pack(
    levels: list[int],
    top: int,
    fits: Callable[[int, int, int], bool],
    too_long: Callable[[int, int], FitError],
) -> list[tuple[int, int]]:
    """Greedily pack units of break level top into parts, cutting finer only when one must."""
    ranges: list[tuple[int, int]] = []
    current: int | None = None

    def place(lo: int, hi: int, level: int) -> None:
        nonlocal current
        for start, end in _units(levels, lo, hi, level):
            if current is not None and fits(current, end, len(ranges) + 1):
                continue
            # A unit that will not join the current part starts a fresh one, even when it
            # must itself be cut, so a long sentence begins a post instead of trailing one.
            if current is not None:
                ranges.append((current, start))
                current = None
            if fits(start, end, len(ranges) + 1):
                current = start
            elif end - start == 1:
                raise too_long(start, len(ranges) + 1)
            else:
                place(start, end, level + 1)

    place(0, len(levels), top)
    if current is not None:
        ranges.append((current, len(levels)))
    return ranges


def _pack_thread(
    words: list[tuple[str, str]], levels: list[int], n: int, limit: int, number: Numbering
) -> list[tuple[int, int]]:
    def fits(start: int, end: int, index: int) -> bool:
        return weighted_length(f"{_render(words, start, end)} {number(index, n)}") <= limit

    def too_long(at: int, index: int) -> FitError:
        return _word_too_long(words[at][1], limit, number(index, n))

    return _pack(levels, _SENTENCE, fits, too_long)


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

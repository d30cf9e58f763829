"""Where text may be cut, and how to pack the pieces into parts; shared by every channel."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final

from bot.errors import FitError

# Break levels, most preferred first. A splitter packs whole units of some level and only
# falls back to finer levels inside a unit too long for one part.
PARAGRAPH, LINE, SENTENCE, CLAUSE, SPACE = range(5)

# No-break spaces are left out on purpose: writers use them to keep two words together.
# U+200B is in because Burmese text often marks phrase boundaries with it instead of a space.
_GAP_CHAR = r"(?:[^\S\u00a0\u2007\u202f]|\u200b)"
_GAP: Final = re.compile(f"({_GAP_CHAR}+)")
LEADING: Final = re.compile(f"^{_GAP_CHAR}+")
TRAILING: Final = re.compile(f"{_GAP_CHAR}+$")
_CLOSERS = "\"'”’»)\\]"
_SENTENCE_END: Final = re.compile(f"[.!?…။][{_CLOSERS}]*$")
_CLAUSE_END: Final = re.compile(f"[,;:၊][{_CLOSERS}]*$")
# Burmese often has no space after ။ or ၊, so the mark itself (with any closing quote)
# has to count as a break opportunity, or a whole Burmese paragraph would be one "word".
_MYANMAR_MARK: Final = re.compile(
    f"(?<=[။၊])(?![။၊{_CLOSERS}])(?!$)|(?<=[။၊][{_CLOSERS}])(?![{_CLOSERS}])(?!$)"
)
MARK_END: Final = re.compile(f"[။၊][{_CLOSERS}]*$")


def strip(text: str) -> str:
    """Return text without the gaps at its start and end."""
    return TRAILING.sub("", LEADING.sub("", text))


def cuts(text: str) -> Iterator[tuple[str | None, str]]:
    """Yield (gap before, piece) for each unbreakable piece; the gap is None for the first."""
    gap: str | None = None
    for k, chunk in enumerate(_GAP.split(text)):
        if k % 2:
            gap = chunk
            continue
        for j, piece in enumerate(_MYANMAR_MARK.split(chunk)):
            yield ("" if j else gap), piece


def level(gap: str, before: str) -> int:
    """Return the break level of gap, given the text that comes before it."""
    newlines = gap.count("\n")
    if newlines >= 2:
        return PARAGRAPH
    if newlines == 1:
        return LINE
    if _SENTENCE_END.search(before):
        return SENTENCE
    if _CLAUSE_END.search(before):
        return CLAUSE
    return SPACE


def _units(levels: list[int], lo: int, hi: int, top: int) -> Iterator[tuple[int, int]]:
    start = lo
    for i in range(lo + 1, hi):
        if levels[i] <= top:
            yield start, i
            start = i
    yield start, hi


def pack(
    levels: list[int],
    top: int,
    fits: Callable[[int, int, int], bool],
    too_long: Callable[[int, int], FitError],
) -> list[tuple[int, int]]:
    """Greedily pack units of break level top into parts, cutting finer only when one must."""
    ranges: list[tuple[int, int]] = []
    current: int | None = None

    def place(lo: int, hi: int, at: int) -> None:
        nonlocal current
        for start, end in _units(levels, lo, hi, at):
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
                place(start, end, at + 1)

    place(0, len(levels), top)
    if current is not None:
        ranges.append((current, len(levels)))
    return ranges

"""Text before it is drawn: runs of one script each, and where a line may break.

Burmese writes no spaces between words; the spaces it has (which the templates keep) mark
phrases. A line breaks at a space when one fits; a phrase too long for a line breaks between
syllables, which Burmese typesetting accepts, never inside one: a syllable is a consonant (or an
independent vowel) with its medials, vowels and tone marks, plus any consonant killed by asat
(်) or stacked under virama (္). So a break may come before a consonant unless

- the consonant is stacked (preceded by ္): `ဗုဒ္ဓ` keeps `ဒ္ဓ` together;
- it is killed or begins a kinzi (followed by ်, or ္, possibly after the dot below ့):
  `စောင့်` is one syllable (`င့်` closes it), `မင်္ဂလာ` breaks only before `လာ`;

and never after a digit, so `(၂၅၉၃၁)ဦး` stays whole. A dictionary (ICU's) would find word
boundaries, a finer choice among these points; syllables need no extra library and never
split what a reader sees as one unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# The Myanmar blocks: the main one, Extended-A and Extended-B.
_MYANMAR = re.compile(r"[\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF]")
_STARTS = re.compile(
    r"(?<!\u1039)[\u1000-\u1021\u103F](?!\u1037?[\u103A\u1039])"  # an unstacked, live consonant
    r"|[\u1023-\u102A]"  # an independent vowel
)
# After these a syllable may not be split off: digits (a number and its classifier stay
# together) and an opening bracket.
_NO_BREAK_AFTER = re.compile(r"[0-9\u1040-\u1049(\[]")

Measure = Callable[[str], float]


def is_myanmar(char: str) -> bool:
    """Whether `char` is of the Myanmar script (letters, marks, digits, punctuation)."""
    return _MYANMAR.match(char) is not None


def runs(text: str) -> list[tuple[bool, str]]:
    """`text` cut into runs of one script each: (Myanmar?, text), in order.

    A space between two Myanmar runs belongs to them (one run, shaped together); elsewhere it
    goes with the Latin run, whose font has every space and punctuation mark.
    """
    out: list[tuple[bool, str]] = []
    for index, char in enumerate(text):
        if char == " ":
            before = index > 0 and is_myanmar(text[index - 1])
            after = index + 1 < len(text) and is_myanmar(text[index + 1])
            mine = before and after
        else:
            mine = is_myanmar(char)
        if out and out[-1][0] == mine:
            out[-1] = (mine, out[-1][1] + char)
        else:
            out.append((mine, char))
    return out


def syllable_breaks(text: str) -> list[int]:
    """Positions inside `text` (not at spaces) where a Burmese line may break."""
    points = []
    for found in _STARTS.finditer(text):
        at = found.start()
        if at == 0:
            continue
        before = text[at - 1]
        if before == " " or not is_myanmar(before) or _NO_BREAK_AFTER.match(before):
            continue
        points.append(at)
    return points


def wrap(text: str, width: float, measure: Measure) -> list[str]:
    """`text` in lines no wider than `width`, broken at spaces, else between syllables.

    A piece that no break can bring under `width` (a long number) is left on a line of its
    own, wider than asked: the caller measures the lines and decides (a smaller size, or an
    error), so nothing is cut off unseen.
    """
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        if measure(word) <= width:
            current = word
            continue
        # A phrase wider than a line: each line takes as many syllables as fit.
        pieces = _syllables(word, width, measure)
        current = pieces.pop()
        lines.extend(pieces)
    if current:
        lines.append(current)
    return lines


def _syllables(word: str, width: float, measure: Measure) -> list[str]:
    """A phrase without spaces in lines of whole syllables; the last line is still open."""
    lines: list[str] = []
    start = 0
    last_fit = 0
    for point in [*syllable_breaks(word), len(word)]:
        if measure(word[start:point]) <= width or last_fit == start:
            last_fit = point
            continue
        lines.append(word[start:last_fit])
        start = last_fit
        last_fit = point
    lines.append(word[start:])
    return lines

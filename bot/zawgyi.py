"""Zawgyi-encoded Burmese in what staff enter: found with myanmartools, refused with a suggestion.

Zawgyi is a font encoding that puts Burmese letters on the Unicode code points of other
letters and marks: it looks right only in a Zawgyi font and is garbled everywhere else (a
reader's phone, a search engine, a screen reader). Older documents and some phones still
produce it, so templates, figure labels, sources and reasons are checked line by line and
refused, never converted silently: text that is already Unicode stays exactly as written. The
suggestion is ICU's `Zawgyi-my` transform when PyICU is installed (`pip install PyICU`, which
builds against the system's ICU: Debian's `libicu-dev`); without it the refusal says how to
convert the text instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path

# myanmartools suggests 0.95 for "certainly Zawgyi"; short or ambiguous text (a lone "ဦး")
# scores in between and is let through rather than refused on a guess.
THRESHOLD = 0.95
# A suggestion longer than this is cut: a line of a template can be long, a reply is read.
_SHOWN = 300
_NEUTRAL = frozenset("၀၁၂၃၄၅၆၇၈၉၊။")
_WITHOUT_ICU = "convert it to Unicode (a Zawgyi-to-Unicode converter) and enter it again"


@functools.cache
def _detector() -> Callable[[str], float]:
    from myanmartools import ZawgyiDetector  # type: ignore[import-untyped]

    # It loads its model with importlib.resources.open_binary, deprecated since Python 3.11:
    # the library's warning, not ours, and it says nothing about the text.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector().get_zawgyi_probability  # type: ignore[no-any-return]


@functools.cache
def _transform() -> Callable[[str], str] | None:
    try:
        import icu  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    return icu.Transliterator.createInstance("Zawgyi-my").transliterate  # type: ignore[no-any-return]


def has_burmese(text: str) -> bool:
    """Whether `text` has a Myanmar letter or mark: the only place Zawgyi can hide. Digits
    and the marks ၊ and ။ are written alike in both encodings, so they alone say nothing."""
    return any(
        ("\u1000" <= char <= "\u109f" and char not in _NEUTRAL) or "\uaa60" <= char <= "\uaa7f"
        for char in text
    )


def is_zawgyi(text: str) -> bool:
    """Whether `text` is almost certainly Zawgyi rather than Unicode Burmese."""
    return has_burmese(text) and _detector()(text) >= THRESHOLD


def converted(text: str) -> str | None:
    """`text` through ICU's Zawgyi-to-Unicode transform, or None when PyICU is not installed."""
    transform = _transform()
    return transform(text) if transform is not None else None


def advice(text: str) -> str:
    """What to enter instead of the Zawgyi `text`: its Unicode form, or how to get it."""
    unicode = converted(text.strip())
    if unicode is None:
        return _WITHOUT_ICU
    shown = unicode if len(unicode) <= _SHOWN else unicode[:_SHOWN] + "…"
    return f"in Unicode it reads: {shown}"


def problem(text: str) -> str | None:
    """Why `text` (one field: a source, a reason) is refused, or None when it is not Zawgyi.

    Written to follow the field's name: "the source of killed " + problem.
    """
    if not is_zawgyi(text):
        return None
    return f"is Zawgyi-encoded Burmese, not Unicode; {advice(text)}"


def line_problems(text: str, where: str) -> list[str]:
    """`where:LINE: …` for every line of `text` that is Zawgyi (lines counted from 1)."""
    return [
        f"{where}:{number}: Zawgyi-encoded Burmese, not Unicode; {advice(line)}"
        for number, line in enumerate(text.splitlines(), start=1)
        if is_zawgyi(line)
    ]


def file_problems(path: Path, where: str) -> list[str]:
    """`line_problems` of a text file; a file that is not UTF-8 is another check's business."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []
    return line_problems(text, where)

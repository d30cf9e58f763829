"""Fit text into Bluesky posts: 300 graphemes and 3,000 UTF-8 bytes each, as a numbered thread.

Bluesky's server counts graphemes with the JavaScript `Intl.Segmenter` of its ICU, and
libraries disagree on Burmese: "မင်္ဂလာပါ" is 6 graphemes for UAX #29 (the `grapheme`
package, `regex`'s \\X), 7 for older Unicode data, 5 for atproto's own approximation. Which
count the server's ICU gives was not verified. A grapheme is one code point or more under
every one of them, so a post of at most 300 code points is at most 300 graphemes however the
server counts: posts are cut at 300 code points. At 4 bytes per code point at most, such a post
is at most 1,200 bytes, well inside the 3,000-byte limit (checked all the same).

Previews show the grapheme count (UAX #29) that Bluesky's own composer shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bot.errors import FitError
from bot.fit.x import split_thread

BLUESKY_LIMIT: Final = 300
BLUESKY_BYTES: Final = 3000


def _uax29() -> Callable[[str], int]:
    try:
        import grapheme  # type: ignore[import-untyped]
    except ImportError:  # without it, code points: never fewer than graphemes
        return len
    length: Callable[[str], int] = grapheme.length
    return length


graphemes: Final = _uax29()


def safe_length(text: str) -> int:
    """The length posts are cut by: code points, an upper bound of any grapheme count."""
    return len(text)


def split_posts(text: str, numbering: Callable[[int, int], str]) -> list[str]:
    """Split text into Bluesky posts of at most 300 code points, numbered if more than one."""
    parts = split_thread(
        text,
        BLUESKY_LIMIT,
        numbering,
        length=safe_length,
        post="a Bluesky post",
        unit="characters",
    )
    for part in parts:
        size = len(part.encode("utf-8"))
        if size > BLUESKY_BYTES:  # cannot happen at 300 code points; a guard if limits change
            raise FitError(f"a Bluesky post of {size} bytes is over the {BLUESKY_BYTES} allowed")
    return parts

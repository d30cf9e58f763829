"""How long Mastodon says a status is: graphemes, each link 23, a remote mention by its name.

Mastodon's server (StatusLengthValidator) counts the text's extended grapheme clusters, so a
Burmese syllable with its vowel signs is fewer characters than code points; every http(s) link
counts as 23 whatever its length; `@name@example.social` counts as `@name`. Links are found
with Mastodon.py's copy of the server's pattern.

Which grapheme rules apply depends on the Unicode version of the server's Ruby: since Unicode
16, a stacked Burmese consonant (virama U+1039 and the consonant after it) joins the cluster
before it ("မင်္ဂလာပါ" is 6); before, it starts a cluster of its own (7). A count below the
server's means a post it refuses, so the older, larger count is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import grapheme  # type: ignore[import-untyped]

URL_LENGTH: Final = 23

# Unicode's Indic_Conjunct_Break=Linker characters: a linker between two consonants is what
# Unicode 15.1 and 16 rule GB9c joins into one cluster (Myanmar's U+1039 since 16).
_LINKERS: Final = "\u094d\u09cd\u0acd\u0b4d\u0c4d\u0d4d\u1039"
_LINKED: Final = re.compile(f"[{_LINKERS}]")
# Mastodon.py's (and the server's) remote mention: counted without its domain.
_REMOTE_MENTION: Final = re.compile(
    r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9\.\-]+[a-z0-9]+)", re.IGNORECASE
)


def status_length(text: str) -> int:
    """The length Mastodon counts for `text` against an instance's `max_characters`."""
    return graphemes(_countable(text))


def status_length_within(limit: int) -> Callable[[str], int]:
    """A `status_length` for fitting: exact above `limit`, at most `limit` when it fits.

    Counting graphemes is slow and most candidates a thread tries are far within the limit: a
    grapheme is at least one code point, so a text of at most `limit` code points fits without
    counting. A single word is always counted exactly, since an error may show its length.
    """

    def length(text: str) -> int:
        countable = _countable(text)
        if len(countable) <= limit and any(c.isspace() for c in text):
            return len(countable)
        return graphemes(countable)

    return length


def _countable(text: str) -> str:
    # Links count as URL_LENGTH whatever their length; a remote mention without its domain.
    if "://" in text:  # the server's link pattern needs a scheme
        from mastodon._url_regex import url_regex

        text = url_regex.sub(lambda m: m.group(2) + "x" * URL_LENGTH, text)
    if "@" in text:
        text = _REMOTE_MENTION.sub(r"\1@\3", text)
    return text


def graphemes(text: str) -> int:
    """Extended grapheme clusters as Unicode 15.0 counts them (no conjunct joining, GB9c)."""
    if text.isascii():  # one grapheme per character, but CR LF is one
        return len(text) - text.count("\r\n")
    if not _LINKED.search(text):
        return int(grapheme.length(text))
    count = 0
    for cluster in grapheme.graphemes(text):
        # Each linker followed by more of the cluster is a join the older rules do not make.
        count += 1 + len(_LINKED.findall(cluster[:-1]))
    return count

"""What a Bluesky post is made of: its record, its clickable links, and a record key of its own.

A post created with a record key chosen by the bot can be looked for after a timeout, and a
second create on the same key fails instead of posting twice. The key is a TID (13 characters
of base32-sortable, the syntax the PDS requires of a post's key), derived from the delivery,
its text and the part's index: the same on every attempt, and different for another delivery
even in a new database whose delivery numbers start again (the text differs; an identical post
found under the key of an identical delivery is the same post).

The time a TID usually carries is not the posting time here: Bluesky shows and orders posts
by their `createdAt`; the key's "time" is drawn from the same hash, within 2023, so that it is
never in the future.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

POST: Final = "app.bsky.feed.post"
_S32: Final = "234567abcdefghijklmnopqrstuvwxyz"
TID_SYNTAX: Final = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
# 2023-01-01T00:00:00Z in microseconds, and a span of 2**45 µs (about 13 months) after it.
_TIME_FROM: Final = 1_672_531_200_000_000
_TIME_SPAN: Final = 2**45
# The largest image the `app.bsky.embed.images` lexicon takes.
IMAGE_BYTES: Final = 2_000_000
_AT_URI: Final = re.compile(r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/([a-zA-Z0-9.-]+)/([^/]+)$")


@dataclass(frozen=True)
class Ref:
    """A strong reference to a record: what a reply points at."""

    uri: str
    cid: str

    def json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


def tid(value: int) -> str:
    """A 64-bit value (top bit clear) in the TID spelling: 13 base32-sortable characters."""
    if not 0 <= value < 2**63:
        raise ValueError(f"a TID holds 63 bits, not {value}")
    return "".join(_S32[(value >> (5 * shift)) & 31] for shift in reversed(range(13)))


def record_key(delivery: str, parts: Sequence[str], index: int) -> str:
    """The record key of part `index` of a delivery: a TID from a hash of the delivery and
    its text, one microsecond apart per part so that a thread's keys sort in its order."""
    digest = hashlib.sha256("\n\x00".join([delivery, *parts]).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    micros = _TIME_FROM + (number >> 10) % _TIME_SPAN + index
    return tid(micros << 10 | (number & 1023))


def split_uri(uri: str) -> tuple[str, str, str]:
    """(repo DID, collection, record key) of an at:// URI; ValueError if it is not one."""
    found = _AT_URI.match(uri)
    if found is None:
        raise ValueError(f"{uri!r} is not the at:// address of a Bluesky post")
    return found.group(1), found.group(2), found.group(3)


def created_at(now: dt.datetime) -> str:
    """The datetime format records use: UTC, milliseconds, a Z."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def post_record(
    text: str,
    lang: str,
    now: dt.datetime,
    thread: tuple[Ref, Ref] | None,
    embed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `app.bsky.feed.post` record: text, its language, clickable links, the thread, and
    an image when there is one."""
    record: dict[str, Any] = {
        "$type": POST,
        "text": text,
        "createdAt": created_at(now),
        # Without langs Bluesky's feeds guess, and label Burmese posts English.
        "langs": [lang],
    }
    found = facets(text)
    if found:
        record["facets"] = found
    if thread is not None:
        root, parent = thread
        record["reply"] = {"root": root.json(), "parent": parent.json()}
    if embed is not None:
        record["embed"] = embed
    return record


def image_embed(blob: dict[str, Any], alt: str, width: int, height: int) -> dict[str, Any]:
    """One image under a post, with its alt text and its shape (else apps crop it)."""
    return {
        "$type": "app.bsky.embed.images",
        "images": [{"image": blob, "alt": alt, "aspectRatio": {"width": width, "height": height}}],
    }


def facets(text: str) -> list[dict[str, Any]]:
    """Links, #tags and $cashtags as facets over UTF-8 byte ranges: plain text links nothing.

    The SDK's port of the official `detectFacets` finds them (bare domains such as aappb.org
    too) and measures in bytes, so a link after Burmese text is where Bluesky expects it.
    """
    from atproto_client.utils.facet_detection import (  # type: ignore[import-untyped]
        detect_facets,
    )

    return [facet.model_dump(by_alias=True, exclude_none=True) for facet in detect_facets(text)]

"""What staff approve: an occasion's editions as they would go out, and the figures they carry.

The fingerprint covers the text of every edition, each figure's value, date and source, and who
entered or corrected each of those values, so a change to the wording, to the figures behind it
or to who vouches for them is a different post, needing a new approval.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.compose.drafts import Draft

# One stored figure value: the figure, its date (a span's last day), the span's first day.
Slot = tuple[str, dt.date, dt.date | None]
# Who entered or corrected each value, in the order they did.
Authorship = Mapping[Slot, tuple[str, ...]]


@dataclass(frozen=True)
class Edition:
    """One edition as approved: enough to show it and to compare it with a later version."""

    channel: str
    lang: str
    subject: str | None
    text: str
    figures: tuple[str, ...]

    @property
    def label(self) -> str:
        """`telegram · my`."""
        return f"{self.channel} · {self.lang}"


def editions(drafts: Sequence[Draft]) -> list[Edition]:
    """The approvable form of the drafts, in a stable order."""
    out = [
        Edition(
            d.channel,
            d.lang,
            d.subject,
            "\n\n".join(d.parts),
            tuple(sorted(u.describe() for u in d.figures)),
        )
        for d in drafts
    ]
    return sorted(out, key=lambda e: (e.channel, e.lang))


def slots(drafts: Sequence[Draft]) -> list[Slot]:
    """Every stored value the drafts carry; a difference of two totals carries both."""
    found: set[Slot] = set()
    for draft in drafts:
        for use in draft.figures:
            if use.derived_from:
                found.update((v.figure, v.as_of, v.period_start) for v in use.derived_from)
            else:
                found.add((use.key, use.as_of, use.period_start))
    return sorted(found, key=slot_order)


def slot_order(slot: Slot) -> tuple[str, dt.date, dt.date]:
    """Figures by name, then date; a span after the running value of its last day."""
    figure, as_of, start = slot
    return figure, as_of, start or dt.date.max


def slot_text(slot: Slot) -> str:
    """`killed as of 2024-01-31`, `arrested for 2023-02-01..2024-01-31`."""
    figure, as_of, start = slot
    return f"{figure} for {start}..{as_of}" if start else f"{figure} as of {as_of}"


def fingerprint(drafts: Sequence[Draft], authors: Authorship | None = None) -> str:
    """sha256 over the editions, their HTML, the figures they carry and who entered those."""
    digest = hashlib.sha256()
    for d in sorted(drafts, key=lambda d: (d.channel, d.lang)):
        for piece in (d.channel, d.lang, d.subject or "", d.html or "", *d.parts):
            digest.update(piece.encode())
            digest.update(b"\x00")
        for use in sorted(u.describe() for u in d.figures):
            digest.update(use.encode())
            digest.update(b"\x00")
        digest.update(b"\x01")
    for slot in sorted(authors or {}, key=slot_order):
        digest.update(f"{slot_text(slot)}: {', '.join((authors or {})[slot])}".encode())
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True)
class Content:
    """What a request is about: its editions, who entered each value they carry, who asked."""

    editions: list[Edition]
    authors: dict[Slot, tuple[str, ...]]
    # The people whose `post-now` or /postnow asked for it (the calendar is nobody).
    requesters: tuple[str, ...] = ()


def to_json(found: Sequence[Edition], authors: Authorship, requesters: Iterable[str] = ()) -> str:
    """The stored form."""
    return json.dumps(
        {
            "editions": [
                {
                    "channel": e.channel,
                    "lang": e.lang,
                    "subject": e.subject,
                    "text": e.text,
                    "figures": list(e.figures),
                }
                for e in found
            ],
            "authors": [
                {
                    "figure": figure,
                    "as_of": as_of.isoformat(),
                    "period_start": start.isoformat() if start else None,
                    "by": list(authors[(figure, as_of, start)]),
                }
                for figure, as_of, start in sorted(authors, key=slot_order)
            ],
            "requesters": sorted(set(requesters)),
        },
        ensure_ascii=False,
    )


def from_json(raw: str) -> Content:
    """What `to_json` stored; a request stored before authorship was kept has none."""
    data = json.loads(raw)
    items = data["editions"] if isinstance(data, dict) else data
    editions = [
        Edition(
            item["channel"],
            item["lang"],
            item.get("subject"),
            item["text"],
            tuple(item.get("figures", ())),
        )
        for item in items
    ]
    if not isinstance(data, dict):
        return Content(editions, {})
    authors = {
        (
            a["figure"],
            dt.date.fromisoformat(a["as_of"]),
            dt.date.fromisoformat(a["period_start"]) if a["period_start"] else None,
        ): tuple(a["by"])
        for a in data.get("authors", ())
    }
    return Content(editions, authors, tuple(data.get("requesters", ())))


def diff(before: Content, after: Sequence[Edition], authors: Authorship, limit: int = 3000) -> str:
    """What changed, word by word with a little context; a change seen in several editions once.

    A value entered or corrected by someone else since is a change too, though it reads the same.
    """
    old = {e.label: e for e in before.editions}
    new = {e.label: e for e in after}
    changes: dict[str, list[str]] = {}
    if not before.authors and authors:
        changes.setdefault("(who entered each figure is now part of what is approved)", [])
    for slot in sorted(before.authors.keys() | authors.keys(), key=slot_order):
        was, now = before.authors.get(slot, ()), authors.get(slot, ())
        if before.authors and was != now:
            shown = [", ".join(names) or "(not carried)" for names in (was, now)]
            changes.setdefault(f"{slot_text(slot)} entered by [{shown[0]} → {shown[1]}]", [])
    for label in sorted(old.keys() | new.keys()):
        a, b = old.get(label), new.get(label)
        if a is None or b is None:
            changes.setdefault("(edition added)" if a is None else "(edition removed)", []).append(
                label
            )
            continue
        for change in _word_changes(_full(a), _full(b)):
            changes.setdefault(change, []).append(label)
        for figure in sorted(set(a.figures) - set(b.figures)):
            changes.setdefault(f"figure was: {figure}", []).append(label)
        for figure in sorted(set(b.figures) - set(a.figures)):
            changes.setdefault(f"figure now: {figure}", []).append(label)
    if not changes:
        return "(the editions read the same; only their formatting changed)"
    lines = [
        f"{change}   [{', '.join(labels)}]" if labels else change
        for change, labels in changes.items()
    ]
    text = "\n".join(lines)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return text


_CONTEXT = 4


def _full(edition: Edition) -> str:
    return f"{edition.subject}\n{edition.text}" if edition.subject else edition.text


def _word_changes(a: str, b: str) -> list[str]:
    """Each changed stretch as `…before [old → new] after…`."""
    words_a, words_b = a.split(), b.split()
    matcher = difflib.SequenceMatcher(None, words_a, words_b, autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before = " ".join(words_a[max(0, i1 - _CONTEXT) : i1])
        after = " ".join(words_a[i2 : i2 + _CONTEXT])
        was = " ".join(words_a[i1:i2]) or "(nothing)"
        now = " ".join(words_b[j1:j2]) or "(nothing)"
        out.append(f"…{before} [{was} → {now}] {after}…")
    return out

"""What staff approve: an occasion's editions as they would go out, and the figures they carry.

The fingerprint covers the text of every edition and each figure's value, date and source, so a
change to the wording or to the figures behind it is a different post, needing a new approval.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.compose.drafts import Draft


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


def fingerprint(drafts: Sequence[Draft]) -> str:
    """sha256 over the editions, their HTML and the figures they carry."""
    digest = hashlib.sha256()
    for d in sorted(drafts, key=lambda d: (d.channel, d.lang)):
        for piece in (d.channel, d.lang, d.subject or "", d.html or "", *d.parts):
            digest.update(piece.encode())
            digest.update(b"\x00")
        for use in sorted(u.describe() for u in d.figures):
            digest.update(use.encode())
            digest.update(b"\x00")
        digest.update(b"\x01")
    return digest.hexdigest()


def to_json(found: Sequence[Edition]) -> str:
    """The stored form."""
    return json.dumps(
        [
            {
                "channel": e.channel,
                "lang": e.lang,
                "subject": e.subject,
                "text": e.text,
                "figures": list(e.figures),
            }
            for e in found
        ],
        ensure_ascii=False,
    )


def from_json(raw: str) -> list[Edition]:
    """The editions stored by `to_json`."""
    return [
        Edition(
            item["channel"],
            item["lang"],
            item.get("subject"),
            item["text"],
            tuple(item.get("figures", ())),
        )
        for item in json.loads(raw)
    ]


def diff(before: Sequence[Edition], after: Sequence[Edition], limit: int = 3000) -> str:
    """What changed, word by word with a little context; a change seen in several editions once."""
    old = {e.label: e for e in before}
    new = {e.label: e for e in after}
    changes: dict[str, list[str]] = {}
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
    lines = [f"{change}   [{', '.join(labels)}]" for change, labels in changes.items()]
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

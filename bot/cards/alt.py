"""A card's alt text: the same figures as the picture, in the card's language.

A card is never attached without it: people who cannot see the picture (screen readers, a
mail client that does not load images) read exactly the numbers it shows.
"""

from __future__ import annotations

from bot.cards.card import CardError
from bot.cards.content import CardContent

# What each platform accepts, in characters: X's POST /2/media/metadata (alt_text.text
# maxLength 1000), Mastodon's default description limit (1,500), Bluesky's app (2,000).
ALT_LIMITS = {"x": 1000, "mastodon": 1500, "bluesky": 2000}
# One card serves every channel, so its alt text must fit the strictest.
ALT_MAX = min(ALT_LIMITS.values())


def alt_text(content: CardContent) -> str:
    """The alt text; CardError when it would be longer than a platform accepts."""
    if content.lang == "my":
        figures = "၊ ".join(f"{row.label} {row.value}" for row in content.rows)
        pieces = [f"{content.title}၊ {content.period}။", f"{figures}။"]
        if content.note:
            pieces.append(_ended(content.note, "။"))
        pieces.append(f"{content.org_name} ({content.org_short})၊ {content.date}။")
    else:
        figures = "; ".join(f"{row.value} {row.label}" for row in content.rows)
        pieces = [f"{content.title}, {content.period}.", f"{figures}."]
        if content.note:
            pieces.append(_ended(content.note, "."))
        pieces.append(f"{content.org_name} ({content.org_short}), {content.date}.")
    text = " ".join(" ".join(piece.split()) for piece in pieces)
    if len(text) > ALT_MAX:
        raise CardError(
            f"the card's alt text is {len(text)} characters; X accepts {ALT_MAX}: shorten the "
            "title, the period, the note or the labels, or show fewer figures"
        )
    return text


def _ended(text: str, stop: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "။", "!", "?")) else text + stop

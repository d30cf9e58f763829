"""The figure card in an email: a linked picture with its alt text, the same for every reader.

Linked, not attached: a fan-out of 100,000 emails must not carry 100,000 copies of the
picture, and its address (the web archive's `/cards/SHA256.png`) is the same in every copy,
so opening it tells nobody who read what: no tracking pixel. A mail client that loads no
images shows the alt text, which holds the same figures. The picture goes where the layout
puts `<!-- card -->`, else under the first heading, else at the top of the body.
"""

from __future__ import annotations

import re
from html import escape

from bot.cards.card import Card

MARK = "<!-- card -->"
_AFTER_TITLE = re.compile(r"</h1\s*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
# Shown at most this wide: half the card's pixels, sharp on a phone's dense screen.
WIDTH = 600


def with_card(html: str | None, card: Card | None) -> str | None:
    """The email's HTML with the card's picture in it (unchanged without a public address)."""
    if html is None or card is None or not card.url.startswith(("https://", "http://")):
        return html
    height = round(WIDTH * card.height / card.width)
    picture = (
        f'<p style="margin:0 0 16px"><img src="{escape(card.url)}" alt="{escape(card.alt)}" '
        f'width="{WIDTH}" height="{height}" style="display:block;width:100%;max-width:{WIDTH}px;'
        'height:auto;border:0"></p>'
    )
    if MARK in html:
        return html.replace(MARK, picture, 1)
    for place in (_AFTER_TITLE, _BODY):
        found = place.search(html)
        if found:
            return html[: found.end()] + picture + html[found.end() :]
    return picture + html

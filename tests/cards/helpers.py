"""A card as the composer makes it for one edition."""

from __future__ import annotations

from bot.app import App
from bot.cards.card import Card
from tests.compose.helpers import compose, only_draft

DAY = "2024-02-01"


def card_of(app: App, message: str, lang: str, channel: str = "x") -> Card:
    """The card of one edition, as composed for `channel`."""
    draft = only_draft(compose(app, message, DAY, [lang], [channel]))
    assert draft.card is not None
    return draft.card

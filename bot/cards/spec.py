"""`messages/NAME/card.toml`: what a message's card shows, declared beside its templates.

    title.en = "{{ anniversary.number | Ordinal }} Year of the Spring Revolution"
    title.my = "နွေဦးတော်လှန်ရေး {{ anniversary.number | ordinal }}နှစ်"
    period.en = "{{ anniversary.span_start | span(anniversary.span_end) }}"
    period.my = "{{ anniversary.span_start | span(anniversary.span_end) }}"

    [[figure]]
    value = "year.arrested"          # any expression a template could print, giving a number
    label.en = "arrested in the year" # optional: config/figures.toml's label otherwise

The texts are templates rendered with what the message's own templates see, so the card and
the text read the same figures; the organisation's name and the date are added by the card.
A message without card.toml has no card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError

from bot.config.model import Localized, Strict, describe_validation_error
from bot.config.tomlfile import TomlFile, load_toml
from bot.errors import Problems

CARD_FILE = "card.toml"
MAX_FIGURES = 6
# A figure slot printed as is: its label can come from config/figures.toml.
_SLOT = re.compile(r"^\s*(figures|year)\.(?P<key>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*$")


class CardFigure(Strict):
    # A template expression giving a whole number: `figures.killed`, `year.arrested`,
    # `difference("arrested", days_ago(7), on)`.
    value: str = Field(min_length=1)
    label: Localized | None = None


class CardSpec(Strict):
    title: Localized
    # What the figures cover: an anniversary's year, "as of" a date.
    period: Localized
    figure: list[CardFigure] = Field(min_length=1, max_length=MAX_FIGURES)
    # A line under the figures (e.g. "the actual numbers may be much higher").
    note: Localized | None = None
    # The date in the corner; the post's date when not given.
    date: Localized | None = None


@dataclass(frozen=True)
class CardDeclaration:
    """A message's card.toml, with the file it came from, so errors can name the line."""

    spec: CardSpec
    toml: TomlFile

    def at(self, *where: str | int) -> str:
        """`messages/NAME/card.toml:LINE` of a field."""
        return self.toml.at(*where)

    def figure_key(self, index: int) -> str | None:
        """The figure key of figure `index` when its value is a plain slot (for its label)."""
        found = _SLOT.match(self.spec.figure[index].value)
        return found.group("key") if found else None


def load_card(folder: Path) -> CardDeclaration | None:
    """The card declared in `folder`/card.toml, or None when the message has none."""
    path = folder / CARD_FILE
    if not path.is_file():
        return None
    toml = load_toml(path)
    try:
        spec = CardSpec.model_validate(toml.data)
    except ValidationError as exc:
        raise Problems(describe_validation_error(toml, exc)) from None
    return CardDeclaration(spec, toml)

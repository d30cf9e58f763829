"""What one card shows, as text already in its language: drawn by draw.py, spoken by alt.py.

Both read this one value, so the picture and its alt text cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: the number as written in the card's language, and what it counts."""

    value: str  # "25,931" / "၂၅,၉၃၁"
    label: str


@dataclass(frozen=True)
class CardContent:
    """Every text on a card, in the order it is read."""

    lang: str
    title: str
    period: str
    rows: tuple[Row, ...]
    org_name: str
    org_short: str
    date: str
    note: str = ""
    website: str = ""

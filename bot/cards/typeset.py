"""Measuring and drawing lines of text with Pillow's RAQM layout (HarfBuzz and FriBiDi).

Burmese needs shaping: the vowel ေ is typed after its consonant but drawn before it, medials
wrap round it, kinzi stacks. Without libraqm Pillow silently falls back to its basic layout,
which draws all of that in the wrong place; so drawing refuses to start without it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cards.card import CardError
from bot.cards.fonts import FontSet
from bot.cards.text import runs

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

# The share of Noto Sans Myanmar's reserved height a line gets unless its marks need more.
MYANMAR_ASCENT, MYANMAR_DESCENT = 0.85, 0.55
# Pieces are measured at this size and scaled; widths get this margin (see Typesetter).
REFERENCE = 100
WIDTH_MARGIN = 0.015

NO_RAQM = (
    "cannot draw cards: Pillow's RAQM text layout is not available here, and without it "
    "Burmese comes out misshapen (vowels in the wrong place, stacks broken). Install the "
    "system packages libraqm0 and libfribidi0 (Debian: apt-get install libraqm0 libfribidi0) "
    "and start the bot again"
)


def require_raqm() -> None:
    """CardError unless Pillow can shape text with libraqm (checked before every card)."""
    from PIL import features

    if not features.check("raqm"):
        raise CardError(NO_RAQM)


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


class Typesetter:
    """Lines of mixed Burmese and Latin text, each run in the font of its script.

    Layout measures every piece at one reference size and scales the answer: a card tried at
    several sizes (a full one is set smaller) shapes each text once. Outlines scale linearly;
    hinting and rounding do not, so measured widths carry a small margin.
    """

    def __init__(self, fonts: FontSet) -> None:
        require_raqm()
        self.fonts = fonts
        self._widths: dict[tuple[str, bool], float] = {}
        self._metrics: dict[tuple[str, bool, bool], tuple[float, float]] = {}

    def font(self, myanmar: bool, bold: bool, size: int) -> FreeTypeFont:
        """The font for one run."""
        return _font(self.fonts.path("myanmar" if myanmar else "latin", bold), size)

    def width(self, text: str, size: int, bold: bool = False) -> float:
        """How wide `text` is drawn at `size`, in pixels (a little over, never under)."""
        key = (text, bold)
        found = self._widths.get(key)
        if found is None:
            found = self._widths[key] = sum(
                self.font(mine, bold, REFERENCE).getlength(run, language="my" if mine else None)
                for mine, run in runs(text)
            )
        return found * size / REFERENCE * (1 + WIDTH_MARGIN) + 1

    def metrics(
        self, text: str, size: int, bold: bool = False, tight: bool = False
    ) -> tuple[int, int]:
        """(ascent, descent) of a line holding `text`, so consecutive lines never touch.

        Noto Sans Myanmar reserves room for the deepest stacks (its line is twice the
        size); a line is given a share of that, or more where its own marks reach further,
        measured on the shaped text. `tight`: only what the text itself reaches (a number,
        which has no marks above or below).
        """
        key = (text, bold, tight)
        found = self._metrics.get(key)
        if found is None:
            found = self._metrics[key] = self._measure(text, bold, tight)
        ascent, descent = found
        return math.ceil(ascent * size / REFERENCE) + 1, math.ceil(descent * size / REFERENCE) + 1

    def _measure(self, text: str, bold: bool, tight: bool) -> tuple[float, float]:
        ascent = descent = 0.0
        for mine, run in runs(text) or [(False, " ")]:
            font = self.font(mine, bold, REFERENCE)
            full_ascent, full_descent = font.getmetrics()
            a, d = float(full_ascent), float(full_descent)
            if mine or tight:
                a, d = (0.0, 0.0) if tight else (a * MYANMAR_ASCENT, d * MYANMAR_DESCENT)
                if run.strip():
                    language = "my" if mine else None
                    _, top, _, bottom = font.getbbox(run, anchor="ls", language=language)
                    a, d = max(a, -top), max(d, bottom)
            ascent, descent = max(ascent, a), max(descent, d)
        return ascent, descent

    def draw(
        self,
        canvas: ImageDraw,
        x: float,
        baseline: float,
        text: str,
        size: int,
        fill: str,
        bold: bool = False,
        align: str = "left",
    ) -> None:
        """Draw one line with its left (or right) end at `x`, on `baseline`."""
        if align == "right":
            x -= sum(
                self.font(mine, bold, size).getlength(run, language="my" if mine else None)
                for mine, run in runs(text)
            )
        for mine, run in runs(text):
            font = self.font(mine, bold, size)
            language = "my" if mine else None
            canvas.text((x, baseline), run, font=font, fill=fill, anchor="ls", language=language)
            x += font.getlength(run, language=language)

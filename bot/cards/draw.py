"""The card's layout and its PNG: a title band, the period, the figures, the source line.

One size for every platform: 1200×675 (16:9) is shown whole by X and Bluesky (16:9 previews),
by Mastodon (its single-picture preview is 16:9) and by Telegram (pictures at their own ratio,
up to 1280 px), so no platform crops a figure away. A card too full to be read at that size
is refused with the reason, never cut or shrunk past a legible size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bot.cards.card import CardError
from bot.cards.content import CardContent
from bot.cards.fonts import FontSet, find_fonts
from bot.cards.text import wrap
from bot.cards.typeset import Typesetter, require_raqm

WIDTH, HEIGHT = 1200, 675
# The smallest of the platforms' limits (Bluesky 2,000,000 bytes; X 5 MB; Telegram 10 MB).
MAX_BYTES = 2_000_000
MARGIN = 64
GAP = 36  # between the figures' columns
ROW_GAP = 26  # between their rows

NAVY = "#17233A"
RED = "#B3261E"
PAPER = "#FFFFFF"
INK = "#16181D"
MUTED = "#4D5461"
ON_NAVY = "#FFFFFF"
ON_NAVY_MUTED = "#AEB9CC"
RULE = "#D5D9E0"

# Sizes at full scale; a fuller card is set smaller, down to MIN_SCALE.
TITLE, PERIOD, VALUE, LABEL, SMALL = 46, 26, 64, 23, 19
SCALES = (1.0, 0.92, 0.85, 0.78, 0.72)
MAX_TITLE_LINES, MAX_LABEL_LINES = 2, 3


@dataclass(frozen=True)
class _Line:
    x: float
    baseline: float
    text: str
    size: int
    fill: str
    bold: bool = False
    align: str = "left"


@dataclass
class _Plan:
    lines: list[_Line] = field(default_factory=list)
    boxes: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)


def draw_card(content: CardContent) -> bytes:
    """The card as PNG bytes; CardError without RAQM or fonts, or when it cannot fit."""
    require_raqm()  # before the cache: a machine that loses libraqm must not go on drawing
    return _png(content, find_fonts())


@lru_cache(maxsize=16)
def _png(content: CardContent, fonts: FontSet) -> bytes:
    # Drawing is a pure function of the texts and the fonts, so composing the same occasion
    # again (each tick while an approval waits) draws nothing new.
    from PIL import Image, ImageDraw

    setter = Typesetter(fonts)
    plan = next((p for p in (_plan(content, setter, s) for s in SCALES) if p), None)
    if plan is None:
        raise CardError(
            f"the card does not fit on {WIDTH}×{HEIGHT} even at {int(SCALES[-1] * 100)}% size: "
            "shorten the title, the period or the labels, or show fewer figures"
        )
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    canvas = ImageDraw.Draw(image)
    for box, colour in plan.boxes:
        canvas.rectangle(box, fill=colour)
    for line in plan.lines:
        setter.draw(
            canvas, line.x, line.baseline, line.text, line.size, line.fill, line.bold, line.align
        )
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3)
    data = out.getvalue()
    if len(data) > MAX_BYTES:
        raise CardError(
            f"the card is {len(data):,} bytes; the platforms take {MAX_BYTES:,} at most"
        )
    return data


def _plan(content: CardContent, setter: Typesetter, scale: float) -> _Plan | None:
    """Where everything goes at `scale`, or None when it does not fit."""
    plan = _Plan()
    inner = WIDTH - 2 * MARGIN

    def size(base: int) -> int:
        return max(1, round(base * scale))

    def block(text: str, px: int, bold: bool, width: float, limit: int) -> list[str] | None:
        lines = wrap(text, width, lambda t: setter.width(t, px, bold))
        too_wide = any(setter.width(line, px, bold) > width for line in lines)
        return None if too_wide or len(lines) > limit else lines

    def advance(text: str, px: int, bold: bool = False, tight: bool = False) -> tuple[int, int]:
        return setter.metrics(text, px, bold, tight)

    # The band: the organisation's short name and the date, the title, what it covers.
    y = 30.0
    short_px, title_px, period_px = size(SMALL), size(TITLE), size(PERIOD)
    title = block(content.title, title_px, True, inner, MAX_TITLE_LINES)
    period = block(content.period, period_px, False, inner, 2)
    if title is None or period is None:
        return None
    if setter.width(f"{content.org_short}  {content.date}", short_px, True) > inner:
        return None
    ascent, descent = advance(f"{content.org_short}{content.date}", short_px, True)
    plan.lines.append(_Line(MARGIN, y + ascent, content.org_short, short_px, ON_NAVY_MUTED, True))
    plan.lines.append(
        _Line(WIDTH - MARGIN, y + ascent, content.date, short_px, ON_NAVY_MUTED, True, "right")
    )
    y += ascent + descent + 8
    for line in title:
        ascent, descent = advance(line, title_px, True)
        plan.lines.append(_Line(MARGIN, y + ascent, line, title_px, ON_NAVY, True))
        y += _leading(ascent, descent)
    y += 2
    for line in period:
        ascent, descent = advance(line, period_px)
        plan.lines.append(_Line(MARGIN, y + ascent, line, period_px, ON_NAVY_MUTED))
        y += _leading(ascent, descent)
    y += 20
    plan.boxes.append(((0, 0, WIDTH, y), NAVY))
    plan.boxes.append(((0, y, WIDTH, y + 7), RED))
    y += 7 + 26

    # The footer, from the bottom up: the organisation under a rule, the note above it.
    footer_px = size(SMALL)
    left, right = content.org_name, content.website
    if setter.width(left, footer_px) + setter.width(right, footer_px) + 40 > inner:
        return None
    ascent, descent = advance(left + right, footer_px)
    baseline = HEIGHT - 28.0 - descent
    plan.lines.append(_Line(MARGIN, baseline, left, footer_px, INK))
    plan.lines.append(_Line(WIDTH - MARGIN, baseline, right, footer_px, MUTED, align="right"))
    floor = baseline - ascent - 14
    plan.boxes.append(((MARGIN, floor, WIDTH - MARGIN, floor + 1), RULE))
    floor -= 12
    if content.note:
        note = block(content.note, footer_px, False, inner, 2)
        if note is None:
            return None
        heights = [advance(line, footer_px) for line in note]
        top = floor - sum(_leading(a, d) for a, d in heights)
        for line, (ascent, descent) in zip(note, heights, strict=True):
            plan.lines.append(_Line(MARGIN, top + ascent, line, footer_px, MUTED))
            top += _leading(ascent, descent)
        floor -= sum(_leading(a, d) for a, d in heights) + 10

    # The figures, in rows of up to four (five or six: two rows of three), centred in the
    # space left between the period and the note.
    value_px, label_px = size(VALUE), size(LABEL)
    rows = list(_rows(len(content.rows)))
    cell = (inner - GAP * (len(rows[0]) - 1)) / len(rows[0])
    placed: list[tuple[float, list[_Line]]] = []
    for row in rows:
        figures = [content.rows[index] for index in row]
        labels = [block(f.label, label_px, False, cell, MAX_LABEL_LINES) for f in figures]
        if any(setter.width(f.value, value_px, True) > cell for f in figures):
            return None
        # One baseline for the numbers of a row, and one top for their labels.
        values = [advance(f.value, value_px, True, tight=True) for f in figures]
        baseline = 5.0 + 18 + max(a for a, _ in values)
        lines = [
            _Line(MARGIN + column * (cell + GAP), baseline, f.value, value_px, INK, True)
            for column, f in enumerate(figures)
        ]
        height = 0.0
        for column, label in enumerate(labels):
            if label is None:
                return None
            at = baseline + max(d for _, d in values) + 12
            for text in label:
                ascent, descent = advance(text, label_px)
                lines.append(
                    _Line(MARGIN + column * (cell + GAP), at + ascent, text, label_px, MUTED)
                )
                at += _leading(ascent, descent)
            height = max(height, at)
        placed.append((height, lines))
    total = sum(height for height, _ in placed) + ROW_GAP * (len(placed) - 1)
    if y + total > floor:
        return None
    top = y + (floor - y - total) / 2
    for row, (height, lines) in zip(rows, placed, strict=True):
        for column in range(len(row)):
            x = MARGIN + column * (cell + GAP)
            plan.boxes.append(((x, top, x + 44, top + 5), RED))
        plan.lines += [replace(line, baseline=line.baseline + top) for line in lines]
        top += height + ROW_GAP
    return plan


def _leading(ascent: int, descent: int) -> float:
    # The fonts' own line height: Noto Sans Myanmar's is tall because Burmese stacks marks
    # above and below; using it keeps one line's stacks off the next.
    return float(ascent + descent)


def _rows(count: int) -> Iterator[list[int]]:
    per_row = count if count <= 4 else 3
    for start in range(0, count, per_row):
        yield list(range(start, min(count, start + per_row)))

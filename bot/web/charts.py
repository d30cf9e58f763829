"""A figure's history drawn as SVG, on the server: pure functions from values to markup.

The charts are inline SVG in the page, so the Content-Security-Policy needs nothing new (no
script, no image from elsewhere, no inline style: only presentation attributes). The large
chart is as wide as its column and a fixed number of pixels high; horizontal positions are
percentages and the line is drawn in a nested, stretched viewport with a stroke that does not
scale, so the labels keep their size from a phone to a desktop instead of shrinking with the
width. Every text is escaped here; numbers and years are written in the page's digits.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.lang import digits, long_date, number, short_date

HEIGHT = 240
_TOP = 26  # room for the highest grid label, written above its line
_BOTTOM = 36  # room for the years under the plot
# Myanmar fonts reach far below the baseline: the years sit high enough to keep their glyphs
# inside the chart, and the grid's lowest label clear of them.
_YEARS_BASELINE = HEIGHT - 12
# The plot spans these percentages of the width, so a point at either end stays visible.
_LEFT_PC = 1.5
_WIDTH_PC = 97.0
_INNER = 1000  # the stretched viewport's horizontal units
_MAX_YEAR_LABELS = 6
# For keeping points off the grid labels: the narrowest chart (a 390-pixel phone less the
# page's margins, rounded down), a label's width per character and its height at 13 px, and a
# point's radius with a little air.
_NARROWEST = 320
_LABEL_CHAR = 8
_LABEL_HEIGHT = 14
_MARK = 5
INK = "#7a1010"
GRID = "#dddddd"
MUTED = "#555555"
SPARK_WIDTH = 96
SPARK_HEIGHT = 28
_IDENT = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Point:
    """One published count of a figure."""

    day: dt.date
    value: int


@dataclass(frozen=True)
class Span:
    """The dates the horizontal axis covers (several sparklines share one)."""

    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, points: Sequence[Point]) -> Span:
        """The points' dates, widened to a month when they are all one day."""
        start = min(point.day for point in points)
        end = max(point.day for point in points)
        if start == end:
            start, end = start - dt.timedelta(days=15), end + dt.timedelta(days=15)
        return cls(start, end)

    def fraction(self, day: dt.date) -> float:
        """Where `day` falls, from 0 (start) to 1 (end)."""
        return (day - self.start).days / (self.end - self.start).days


def ident(text: str) -> str:
    """An id safe in an attribute and an IDREF list: `sagaing.killed` → `sagaing-killed`."""
    return _IDENT.sub("-", text.lower()).strip("-") or "chart"


def ticks(highest: int) -> list[int]:
    """Round values for the grid, from 0 to at least `highest`, in two to four steps."""
    raw = max(highest, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw and m * magnitude >= 1)
    top = max(step, math.ceil(highest / step) * step)
    return list(range(0, top + 1, step))


def summary(points: Sequence[Point], lang: str, texts: dict[str, str]) -> str:
    """The chart in one sentence, for its description and for readers who cannot see it."""
    first, last = points[0], points[-1]
    if len(points) == 1:
        return texts["chart_one"].format(
            last=number(last.value, lang, grouped=True), last_date=long_date(last.day, lang)
        )
    return texts["chart_summary"].format(
        count=digits(len(points), lang),
        first=number(first.value, lang, grouped=True),
        first_date=long_date(first.day, lang),
        last=number(last.value, lang, grouped=True),
        last_date=long_date(last.day, lang),
    )


def line_chart(
    points: Sequence[Point], lang: str, *, title: str, description: str, name: str
) -> Markup:
    """The full chart of a figure's history: grid, years, line, points, latest value.

    `points` are in date order; `name` makes the ids unique in the page. Empty history: no chart.
    """
    if not points:
        return Markup("")
    span = Span.of(points)
    grid = ticks(max(point.value for point in points))
    plot = HEIGHT - _TOP - _BOTTOM
    key = ident(name)

    def y(value: int) -> float:
        return _TOP + plot * (1 - value / grid[-1])

    def x_pc(day: dt.date) -> float:
        return _LEFT_PC + _WIDTH_PC * span.fraction(day)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{key}-title {key}-desc" focusable="false" '
        f'font-size="13" fill="{MUTED}">',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(description)}</desc>',
    ]
    for value in grid:
        colour = MUTED if value == 0 else GRID
        out.append(
            f'<line x1="0" x2="100%" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}"/>'
        )
    out += _years(span, lang, x_pc)
    out.append(_line(points, span, y, plot))
    # Above its line at the left edge, so no width is lost to an axis; over the line, with a
    # halo, so a line passing behind a label leaves it readable. A label that a point would
    # sit on is left out (the zero under a count that starts low): the point is the data,
    # and the other grid labels still give the scale.
    for value in grid:
        label = number(value, lang, grouped=True)
        if not any(_hides(label, y(value), x_pc(p.day), y(p.value)) for p in points):
            out.append(
                f'<text x="0" y="{y(value) - 5:.1f}" stroke="#ffffff" stroke-width="3" '
                f'paint-order="stroke">{escape(label)}</text>'
            )
    for point in points:
        tip = f"{number(point.value, lang, grouped=True)} · {_day(point.day, lang)}"
        out.append(
            f'<circle cx="{x_pc(point.day):.2f}%" cy="{y(point.value):.1f}" r="3.5" '
            f'fill="{INK}"><title>{escape(tip)}</title></circle>'
        )
    last = points[-1]
    out.append(
        f'<text x="{x_pc(last.day):.2f}%" y="{y(last.value) - 9:.1f}" text-anchor="end" '
        f'font-weight="bold" fill="{INK}" stroke="#ffffff" stroke-width="4" '
        f'paint-order="stroke">{escape(number(last.value, lang, grouped=True))}</text>'
    )
    out.append("</svg>")
    return Markup("\n".join(out))


def _hides(label: str, line_y: float, point_x_pc: float, point_y: float) -> bool:
    """Whether a point drawn at (`point_x_pc`, `point_y`) would cover the grid label `label`
    written above its line at `line_y`, on the narrowest chart (a phone's)."""
    right_pc = 100 * (_LABEL_CHAR * len(label) + _MARK) / _NARROWEST
    below_baseline, above_top = 2 + _MARK, 5 + _LABEL_HEIGHT + _MARK
    return point_x_pc < right_pc and line_y - above_top < point_y < line_y + below_baseline


def _line(points: Sequence[Point], span: Span, y: Callable[[int], float], plot: int) -> str:
    # Drawn in a viewport stretched to the plot's width: a polyline cannot take percentages.
    coords = " ".join(
        f"{_INNER * span.fraction(p.day):.1f},{y(p.value) - _TOP:.1f}" for p in points
    )
    floor = f"{_INNER * span.fraction(points[-1].day):.1f},{plot} "
    start = f"{_INNER * span.fraction(points[0].day):.1f},{plot}"
    return (
        f'<svg x="{_LEFT_PC}%" y="{_TOP}" width="{_WIDTH_PC}%" height="{plot}" '
        f'viewBox="0 0 {_INNER} {plot}" preserveAspectRatio="none" overflow="visible" '
        f'aria-hidden="true">'
        f'<polygon points="{start} {coords} {floor}" fill="{INK}" fill-opacity="0.08"/>'
        f'<polyline points="{coords}" fill="none" stroke="{INK}" stroke-width="2.5" '
        f'stroke-linejoin="round" stroke-linecap="round" vector-effect="non-scaling-stroke"/>'
        f"</svg>"
    )


def _years(span: Span, lang: str, x_pc: Callable[[dt.date], float]) -> list[str]:
    """A tick and a label at each New Year inside the span (every other one when crowded)."""
    years = [
        dt.date(year, 1, 1)
        for year in range(span.start.year + 1, span.end.year + 1)
        if span.start < dt.date(year, 1, 1) <= span.end
    ]
    if len(years) < 2:
        # Too short a span for years to say much: its two ends, dated.
        ends = [(span.start, "start"), (span.end, "end")]
        return [
            f'<text x="{x_pc(day):.2f}%" y="{_YEARS_BASELINE}" text-anchor="{anchor}">'
            f"{escape(_day(day, lang))}</text>"
            for day, anchor in ends
        ]
    step = math.ceil(len(years) / _MAX_YEAR_LABELS)
    out = []
    bottom = HEIGHT - _BOTTOM
    for index, day in enumerate(years):
        x = x_pc(day)
        out.append(
            f'<line x1="{x:.2f}%" x2="{x:.2f}%" y1="{bottom}" y2="{bottom + 5}" stroke="{MUTED}"/>'
        )
        if index % step == 0:
            # Centred under its tick, unless that would cut it at an edge of the chart.
            anchor = "end" if x > 92 else "start" if x < 8 else "middle"
            out.append(
                f'<text x="{x:.2f}%" y="{_YEARS_BASELINE}" text-anchor="{anchor}">'
                f"{escape(digits(day.year, lang))}</text>"
            )
    return out


def _day(day: dt.date, lang: str) -> str:
    return short_date(day, lang)


def sparkline(points: Sequence[Point], span: Span, *, title: str) -> Markup:
    """A small line without text, for a table row; `span` is shared by the rows."""
    if not points:
        return Markup("")
    grid_top = max(max(point.value for point in points), 1)
    pad = 3

    def at(point: Point) -> str:
        x = pad + (SPARK_WIDTH - 2 * pad) * span.fraction(point.day)
        y = pad + (SPARK_HEIGHT - 2 * pad) * (1 - point.value / grid_top)
        return f"{x:.1f},{y:.1f}"

    coords = " ".join(at(point) for point in points)
    last_x, last_y = at(points[-1]).split(",")
    shape = (
        f'<polyline points="{coords}" fill="none" stroke="{INK}" stroke-width="1.5" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
        if len(points) > 1
        else ""
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{SPARK_WIDTH}" '
        f'height="{SPARK_HEIGHT}" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
        f'focusable="false"><title>{escape(title)}</title>'
        f'<line x1="{pad}" x2="{SPARK_WIDTH - pad}" y1="{SPARK_HEIGHT - pad}" '
        f'y2="{SPARK_HEIGHT - pad}" stroke="{GRID}"/>{shape}'
        f'<circle cx="{last_x}" cy="{last_y}" r="2.5" fill="{INK}"/></svg>'
    )

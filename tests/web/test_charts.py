"""The SVG charts as pure functions: well-formed, in the page's digits, escaped, to scale."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from bot.web.charts import (
    HEIGHT,
    Point,
    Span,
    ident,
    line_chart,
    sparkline,
    summary,
    ticks,
)
from bot.web.texts import TEXTS

SVG = "{http://www.w3.org/2000/svg}"
# The organisation's killed count as published (config/sample-figures.csv).
KILLED = [
    Point(dt.date(2021, 3, 21), 250),
    Point(dt.date(2021, 5, 20), 810),
    Point(dt.date(2021, 12, 20), 1348),
    Point(dt.date(2022, 5, 19), 1850),
    Point(dt.date(2023, 1, 31), 2940),
    Point(dt.date(2023, 11, 20), 4192),
    Point(dt.date(2024, 1, 31), 4474),
]


def chart(points: list[Point], lang: str = "en", title: str = "killed") -> ET.Element:
    markup = line_chart(points, lang, title=title, description="about it", name="killed")
    return ET.fromstring(str(markup))  # raises if the SVG is not well-formed


def texts_of(root: ET.Element) -> list[str]:
    """Every piece of text a reader or a screen reader gets from the SVG."""
    return [element.text or "" for element in root.iter() if (element.text or "").strip()]


@pytest.mark.parametrize(
    ("highest", "expected"),
    [
        (4474, [0, 2000, 4000, 6000]),
        (19993, [0, 5000, 10000, 15000, 20000]),
        (25931, [0, 10000, 20000, 30000]),
        (36, [0, 10, 20, 30, 40]),
        (3, [0, 1, 2, 3]),
        (0, [0, 1]),
        (1000, [0, 500, 1000]),
    ],
)
def test_grid_lines_are_round_numbers_from_zero_to_above_the_highest(
    highest: int, expected: list[int]
) -> None:
    assert ticks(highest) == expected


@pytest.mark.parametrize("highest", [1, 7, 99, 101, 4474, 123_456, 9_999_999])
def test_every_grid_has_a_few_even_steps_and_covers_the_highest(highest: int) -> None:
    grid = ticks(highest)
    steps = {b - a for a, b in itertools.pairwise(grid)}
    assert grid[0] == 0 and grid[-1] >= highest and len(steps) == 1
    assert 2 <= len(grid) <= 6
    step = steps.pop()
    assert int(str(step).rstrip("0") or "0") in (1, 2, 5), step


def test_the_chart_names_itself_and_shows_the_grid_the_years_and_the_latest_value() -> None:
    root = chart(KILLED)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    shown = texts_of(root)
    for label in ("2,000", "4,000", "6,000", "2022", "2023", "2024"):
        assert label in shown, (label, shown)
    # The count starts at 250 on a grid of 6,000: its first point sits where "0" would be
    # written, so the zero line goes unlabelled rather than hide the point.
    assert "0" not in shown
    assert "2021" not in shown  # the span starts in March 2021: no tick for a year it misses
    assert shown.count("4,474") == 1  # the latest value, at the end of the line
    # One mark per published count, each with its value and date as a tooltip.
    marks = root.findall(f"{SVG}circle")
    assert len(marks) == len(KILLED)
    assert [m.findtext(f"{SVG}title") for m in marks][-1] == "4,474 · 31 January 2024"


def test_a_grid_label_is_kept_where_no_point_sits_on_it() -> None:
    # Still detained: the first count, 4,212, is well above the zero line.
    detained = [Point(dt.date(2021, 5, 20), 4212), Point(dt.date(2024, 1, 31), 19993)]
    shown = texts_of(chart(detained))
    numbers = [label for label in shown if label.replace(",", "").isdigit() and len(label) != 4]
    assert numbers == ["0", "5,000", "10,000", "15,000", "20,000", "19,993"]  # grid, latest
    # A point late in the span never hides a label written at the left edge.
    late = [Point(dt.date(2021, 3, 1), 3000), Point(dt.date(2024, 1, 31), 0)]
    assert "0" in texts_of(chart(late))


def test_points_are_placed_by_date_and_value() -> None:
    marks = chart(KILLED).findall(f"{SVG}circle")
    xs = [float(m.get("cx", "").rstrip("%")) for m in marks]
    ys = [float(m.get("cy", "")) for m in marks]
    assert xs == sorted(xs) and xs[0] == pytest.approx(1.5) and xs[-1] == pytest.approx(98.5)
    # Taller is higher up; time is to scale (May 2021 is 60 days in, of 1,046).
    assert ys == sorted(ys, reverse=True)
    assert xs[1] - xs[0] == pytest.approx(97 * 60 / 1046, abs=0.01)
    # On a grid of 0 to 6,000 over the plot's 178 pixels below a 26-pixel margin.
    assert ys[-1] == pytest.approx(26 + 178 * (1 - 4474 / 6000), abs=0.05)
    assert all(0 < y < HEIGHT for y in ys)


def test_burmese_charts_use_burmese_digits_everywhere() -> None:
    root = chart(KILLED, "my", title="စစ်ကောင်စီ၏ အသတ်ခံရသူ")
    shown = texts_of(root)
    assert not [text for text in shown if re.search("[0-9]", text)], shown
    for label in ("၄,၄၇၄", "၂၀၂၂", "၂၀၂၄", "၆,၀၀၀"):
        assert label in shown


def test_text_from_outside_is_escaped_and_cannot_leave_its_element() -> None:
    hostile = 'killed</title><script>alert(1)</script><title a="'
    markup = str(
        line_chart(KILLED, "en", title=hostile, description="x & <y>", name='killed" onload="x')
    )
    assert "<script" not in markup and "onload=" not in markup
    root = ET.fromstring(markup)
    assert root.findtext(f"{SVG}title") == hostile
    assert root.findtext(f"{SVG}desc") == "x & <y>"
    spark = str(sparkline(KILLED, Span.of(KILLED), title=hostile))
    assert ET.fromstring(spark).findtext(f"{SVG}title") == hostile


@pytest.mark.parametrize(
    ("name", "expected"),
    [("killed", "killed"), ("sagaing.killed", "sagaing-killed"), ('a"><b', "a-b"), ("", "chart")],
)
def test_ids_are_safe(name: str, expected: str) -> None:
    assert ident(name) == expected


def test_one_count_is_one_mark_with_its_date_and_no_count_is_no_chart() -> None:
    root = chart([Point(dt.date(2024, 1, 31), 28)])
    assert len(root.findall(f"{SVG}circle")) == 1
    shown = texts_of(root)
    # Too short for years: the span's two ends are dated instead.
    assert "16 January 2024" in shown and "15 February 2024" in shown
    assert str(line_chart([], "en", title="t", description="d", name="n")) == ""


def test_summary_in_both_languages() -> None:
    english = summary(KILLED, "en", TEXTS["en"])
    assert english == "7 counts, from 250 on March 21, 2021 to 4,474 on January 31, 2024."
    burmese = summary(KILLED, "my", TEXTS["my"])
    assert "၂၅၀" in burmese and "၄,၄၇၄" in burmese and "၇" in burmese
    assert not re.search("[0-9]", burmese)
    single = summary(KILLED[-1:], "en", TEXTS["en"])
    assert single == "One count: 4,474 on January 31, 2024."


def test_sparklines_share_a_time_axis_so_rows_compare() -> None:
    axis = Span(dt.date(2021, 3, 21), dt.date(2024, 1, 31))
    late = [Point(dt.date(2023, 1, 31), 100), Point(dt.date(2024, 1, 31), 200)]
    root = ET.fromstring(str(sparkline(late, axis, title="arrested")))
    line = root.find(f"{SVG}polyline")
    assert line is not None
    first_x = float(line.get("points", "").split()[0].split(",")[0])
    # Starting in 2023 on an axis from 2021, the line starts well past the middle.
    assert first_x > 96 / 2
    assert root.findtext(f"{SVG}title") == "arrested"

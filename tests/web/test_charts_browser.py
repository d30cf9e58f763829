"""The charts in a real browser (Debian's chromium), at a desktop's and a phone's width.

Each page is served by uvicorn on loopback, as `bot run` serves it, with the organisation's
sample figures. Checked: nothing widens the page past the screen; every label of a chart is
inside the chart, none overlaps another or covers a point, and none shrinks on a phone;
Burmese charts are drawn in a Burmese font with Burmese digits; the stylesheet and the charts
load nothing from elsewhere and break no Content-Security-Policy rule. Screenshots are kept in
the test's tmp dir (chart-*.png) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.figures.entries import enter
from bot.figures.importer import read_file
from tests.conftest import FIXED_NOW, ROOT
from tests.peers.ports import free_port
from tests.web.test_browser import CHROMIUM_ARGS, Served, _need_chromium

# A phone is where pages overflow: every kind of page; a desktop: the charts at their widest.
PAGES = {
    ("phone", 390): [
        "/",
        "/my/",
        "/figures",
        "/figures/killed",
        "/my/figures/killed",
        "/figures/detained",
    ],
    ("desktop", 1280): ["/", "/figures/killed", "/my/figures/killed"],
}
CHART_PAGES = {"/figures/killed", "/my/figures/killed", "/figures/detained"}

# Measured in the page: the document's width, elements sticking out on the right, and each
# chart's box with the boxes of its labels.
MEASURE = """() => {
  const width = window.innerWidth;
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.left, right: r.right, y: r.top, bottom: r.bottom}; };
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > 0 && r.right > width + 0.5; })
    .map(e => e.tagName + ': ' + (e.textContent || '').trim().slice(0, 40));
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => ({
    box: box(svg),
    labels: [...svg.querySelectorAll(':scope > text')].map(t => ({text: t.textContent, ...box(t)})),
    marks: [...svg.querySelectorAll(':scope > circle')].map(box),
  }));
  const sparks = [...document.querySelectorAll('svg.spark')].map(box);
  return {document: document.documentElement.scrollWidth, wide, charts, sparks};
}"""


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: the browser checks the drawing; the queries behind the pages run on both
    databases in test_figure_pages.py."""
    yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["right"]
        and b["x"] < a["right"]
        and a["y"] < b["bottom"]
        and b["y"] < a["bottom"]
    )


def _chart_problems(where: str, chart: dict[str, Any]) -> list[str]:
    problems = []
    outer = chart["box"]
    labels = chart["labels"]
    if outer["right"] - outer["x"] < 200 or not labels:
        problems.append(f"{where}: the chart is missing or too narrow: {outer}")
    for label in labels:
        inside = label["x"] >= outer["x"] - 0.5 and label["right"] <= outer["right"] + 0.5
        if not inside or label["y"] < outer["y"] - 0.5 or label["bottom"] > outer["bottom"] + 0.5:
            problems.append(f"{where}: label {label['text']!r} is cut by the chart's edge")
        if label["bottom"] - label["y"] < 12:
            problems.append(f"{where}: label {label['text']!r} shrank to {label}")
    for index, one in enumerate(labels):
        for other in labels[index + 1 :]:
            if _overlap(one, other):
                problems.append(f"{where}: labels {one['text']!r} and {other['text']!r} overlap")
        # The latest value is written next to its own point; no other label may hide one.
        if index < len(labels) - 1:
            hidden = [mark for mark in chart["marks"] if _overlap(one, mark)]
            if hidden:
                problems.append(f"{where}: label {one['text']!r} covers a point: {hidden}")
    return problems


def _page_problems(where: str, width: int, path: str, measured: dict[str, Any]) -> list[str]:
    problems = []
    if measured["document"] > width or measured["wide"]:
        problems.append(f"{where}: wider than the screen: {measured['wide']}")
    if path in CHART_PAGES and len(measured["charts"]) != 1:
        problems.append(f"{where}: {len(measured['charts'])} charts, not one")
    for chart in measured["charts"]:
        problems += _chart_problems(where, chart)
        if path.startswith("/my/"):
            latin = [
                label["text"] for label in chart["labels"] if re.search("[0-9]", label["text"])
            ]
            if latin:
                problems.append(f"{where}: Latin digits in the chart: {latin}")
    if path in ("/", "/my/"):
        sparks = measured["sparks"]
        if len(sparks) != 11 or any(spark["right"] > width for spark in sparks):
            problems.append(f"{where}: small charts missing or cut: {sparks}")
    return problems


def _chart_fonts(page: Any) -> dict[str, int]:
    """The fonts chromium drew the chart's labels with, and how many glyphs each."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "svg.chart > text"})
    found: dict[str, int] = {}
    for node in nodes["nodeIds"]:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            found[font["familyName"]] = found.get(font["familyName"], 0) + font["glyphCount"]
    cdp.detach()
    return found


def test_charts_fit_and_read_well_on_a_desktop_and_a_phone_in_both_languages(
    app: App, tmp_path: Path
) -> None:
    chromium = _need_chromium()
    from playwright.sync_api import sync_playwright

    sample = read_file(ROOT / "config" / "sample-figures.csv")
    enter(app.engine, app.book, sample, entered_by="test", now=FIXED_NOW, origin="test")
    problems: list[str] = []
    requested: list[str] = []
    errors: list[str] = []
    with Served(app, free_port()) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for (device, width), paths in PAGES.items():
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("request", lambda request: requested.append(request.url))
                # A Content-Security-Policy violation is reported on the console as an error.
                page.on("console", lambda note: errors.append(f"{note.type}: {note.text}"))
                for path in paths:
                    where = f"{path} on a {device}"
                    response = page.goto(served.url + path)
                    assert response is not None and response.status == 200, where
                    name = re.sub(r"\W+", "-", path).strip("-") or "home"
                    shot = tmp_path / f"chart-{device}-{name}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    problems += _page_problems(where, width, path, page.evaluate(MEASURE))
                    if path.startswith("/my/figures/"):
                        fonts = _chart_fonts(page)
                        if max(fonts, key=lambda font: fonts[font]) != "Noto Sans Myanmar":
                            problems.append(f"{where}: chart not in a Burmese font: {fonts}")
                page.close()
        finally:
            browser.close()
        elsewhere = [url for url in requested if not url.startswith(served.url)]
    assert [note for note in errors if note.startswith("error")] == []
    assert requested and elsewhere == []
    assert problems == [], "\n".join(problems)

"""The figures on the web: a page per figure (its chart, every count and its source), the list
of all figures, and the rows of the home page's table with a small chart each.

Paths name a figure by its key (`/figures/killed`, `/my/figures/killed`); a key that
`config/figures.toml` does not define is answered with the site's "not found" page, and the
key a reader typed is never written into the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.lang import long_date, number, span
from bot.store.figures import StoredValue, history, timeline
from bot.web.charts import Point, Span, line_chart, sparkline, summary
from bot.web.pages import page_lang, prefix
from bot.web.site import Site
from bot.web.texts import LANGS, TEXTS

if TYPE_CHECKING:
    from bot.app import App


def source_link(source: str) -> str | None:
    """The web address in a source note, if it has one; only http(s), never javascript:."""
    for word in source.split():
        if word.startswith(("https://", "http://")):
            return word
    return None


@dataclass(frozen=True)
class FigureRow:
    """One figure's newest count as the tables show it."""

    key: str
    label: str
    value: str
    as_of: str
    source: str
    link: str | None
    spark: Markup


def running(app: App, keys: Iterable[str]) -> dict[str, list[StoredValue]]:
    """Each figure's running values up to today, oldest first (a corrected date counts once)."""
    today = app.today()
    with app.engine.connect() as conn:
        found = timeline(conn, keys)
    return {
        key: [value for day, value in sorted(days.items()) if day <= today]
        for key, days in found.items()
    }


def _points(values: list[StoredValue]) -> list[Point]:
    return [Point(value.as_of, value.value) for value in values]


def figure_rows(app: App, lang: str) -> list[FigureRow]:
    """The figures that have a running count, in the order of figures.toml, each with its
    newest value and a small chart; the charts share one time axis so they compare."""
    t = TEXTS[lang]
    found = {key: values for key, values in running(app, app.book.figures).items() if values}
    if not found:
        return []
    axis = Span.of([point for values in found.values() for point in _points(values)])
    rows = []
    for key, figure in app.book.figures.items():
        if key not in found:
            continue
        values = found[key]
        newest = values[-1]
        label = figure.label.get(lang)
        points = _points(values)
        rows.append(
            FigureRow(
                key=key,
                label=label,
                value=number(newest.value, lang, grouped=True),
                as_of=long_date(newest.as_of, lang),
                source=newest.source,
                link=source_link(newest.source),
                spark=sparkline(points, axis, title=f"{label}: {summary(points, lang, t)}"),
            )
        )
    return rows


def _history_rows(values: list[StoredValue], lang: str) -> list[dict[str, object]]:
    # Newest first: a reader comes for the latest count and reads back from it.
    return [
        {
            "date": long_date(value.as_of, lang),
            "value": number(value.value, lang, grouped=True),
            "source": value.source,
            "link": source_link(value.source),
            "correction": value.correction,
        }
        for value in reversed(values)
    ]


def _span_rows(entries: list[StoredValue], lang: str) -> list[dict[str, object]]:
    # A span entered again (a correction) replaces the earlier value for that span.
    current: dict[tuple[dt.date | None, dt.date], StoredValue] = {}
    for entry in entries:
        if entry.period_start is not None:
            current[(entry.period_start, entry.as_of)] = entry
    return [
        {
            "span": span(start, end, lang) if start is not None else long_date(end, lang),
            "value": number(entry.value, lang, grouped=True),
            "source": entry.source,
            "link": source_link(entry.source),
            "correction": entry.correction,
        }
        for (start, end), entry in sorted(current.items(), key=lambda item: item[0][1])[::-1]
    ]


def routes(site: Site) -> list[Route]:
    """/figures and /figures/KEY, with and without a language prefix."""
    app = site.app

    def index(request: Request) -> Response:
        lang = page_lang(request)
        latest = {row.key: row for row in figure_rows(app, lang)}
        figures = [
            {
                "key": key,
                "label": figure.label.get(lang),
                "kind": TEXTS[lang][f"kind_{figure.kind}"],
                "row": latest.get(key),
            }
            for key, figure in app.book.figures.items()
        ]
        return site.pages.render(request, "figures.html", lang, figures=figures)

    def page(request: Request) -> Response:
        lang = page_lang(request)
        figure = app.book.figures.get(request.path_params["key"])
        if figure is None:
            return site.message(request, lang, "not_found_title", "not_found_body", status=404)
        t = TEXTS[lang]
        values = running(app, [figure.key])[figure.key]
        with app.engine.connect() as conn:
            entries = history(conn, figure.key)
        label = figure.label.get(lang)
        points = _points(values)
        described = summary(points, lang, t) if points else ""
        return site.pages.render(
            request,
            "figure.html",
            lang,
            label=label,
            kind=t[f"kind_{figure.kind}"],
            chart=line_chart(points, lang, title=label, description=described, name=figure.key),
            described=described,
            rows=_history_rows(values, lang),
            spans=_span_rows(entries, lang),
            figures_path=f"{prefix(lang)}/figures",
        )

    out = []
    for lang_prefix in ("", *(f"/{lang}" for lang in LANGS)):
        out += [
            Route(f"{lang_prefix}/figures", index),
            Route(f"{lang_prefix}/figures/{{key}}", page),
        ]
    return out

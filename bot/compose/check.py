"""Checking templates without figures: syntax, names, figure keys and a trial render."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator
from pathlib import Path

import jinja2
from jinja2 import nodes

from bot.compose.context import Occasion
from bot.compose.drafts import Composer, Failure, Figures
from bot.compose.messages import Message
from bot.compose.render import describe
from bot.config.figuredefs import FigureBook
from bot.config.settings import Localized, Settings
from bot.occasions import nth_anniversary
from bot.store.figures import StoredValue

FIGURE_SETS = ("figures", "year")
# Names every template may use besides its own {% set %} variables.
CONTEXT_NAMES = {
    "lang",
    "occasion",
    "on",
    "org",
    "figures",
    "labels",
    "events",
    "days_since",
    "days_ago",
    "figures_date",
    "difference",
    "entered_between",
    "anniversary",
    "year",
    "subject",
    "blocks",
    "unsubscribe_url",
    "unsubscribe_words",
    "range",
    "loop",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
}


def _dotted(node: nodes.Node) -> tuple[str, int] | None:
    """`figures.sagaing.killed` as ("figures", "sagaing.killed") is returned as (path, lineno)."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if isinstance(node, nodes.Name) and node.name in FIGURE_SETS and parts:
        return node.name + ":" + ".".join(reversed(parts)), node.lineno
    return None


def _walk_figures(ast: nodes.Template) -> Iterator[tuple[str, str, int]]:
    seen: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in seen:
            continue
        found = _dotted(node)
        if found:
            # Mark inner nodes so `figures.sagaing` is not reported on its own.
            inner = node.node if isinstance(node, nodes.Getattr | nodes.Getitem) else None
            while isinstance(inner, nodes.Getattr | nodes.Getitem):
                seen.add(id(inner))
                inner = inner.node
            path, lineno = found
            name, _, key = path.partition(":")
            yield name, key, lineno


def static_problems(env: jinja2.Environment, path: Path, name: str, book: FigureBook) -> list[str]:
    """Syntax errors, unknown names and unknown figures in one template, with their lines."""
    shown = f"messages/{name}"
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [f"{shown}: not UTF-8 text (bad byte at position {exc.start})"]
    try:
        ast = env.parse(source, name, str(path))
        env.compile(ast, name, str(path))
    except jinja2.TemplateSyntaxError as exc:
        exc.filename = str(path)
        return [describe(exc, path.parents[1], shown)]
    problems = []
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in CONTEXT_NAMES | assigned:
            close = difflib.get_close_matches(node.name, sorted(CONTEXT_NAMES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{shown}:{node.lineno}: unknown name {node.name!r}{hint}")
    for set_name, key, lineno in _walk_figures(ast):
        prefixes = {k.rsplit(".", 1)[0] for k in book.figures if "." in k}
        if key not in book.figures and key not in prefixes:
            problems.append(f"{shown}:{lineno}: unknown figure {set_name}.{key}{book.suggest(key)}")
    return problems


def _sample_values(
    book: FigureBook, as_of: dt.date, start: dt.date | None
) -> dict[str, StoredValue]:
    moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return {
        key: StoredValue(key, 1234, as_of, start, "sample", "check", moment, None, 0)
        for key in book.figures
    }


def trial_problems(
    settings: Settings, book: FigureBook, composer: Composer, message: Message
) -> list[str]:
    """Render every edition with a sample value for every figure; report what fails."""
    event = settings.file.events.get(message.settings.event or "")
    if event is not None:
        anniversary = nth_anniversary(event.date, 3)
        occasion = Occasion(message.name, anniversary.on, anniversary, message.settings.event)
        period = _sample_values(book, anniversary.span_end, anniversary.span_start)
    else:
        # A sample for every kind of occasion a template may branch on.
        occasion = Occasion(
            message.name,
            dt.date(2024, 2, 1),
            days=1000,
            names=(Localized(en="Union Day", my="ပြည်ထောင်စုနေ့"),),
        )
        period = {}
    running = _sample_values(book, occasion.on - dt.timedelta(days=1), None)
    # Two dated values per figure so difference() has something to compare.
    early = _sample_values(book, occasion.on - dt.timedelta(days=400), None)
    history = {
        key: {early[key].as_of: early[key], running[key].as_of: running[key]}
        for key in book.figures
    }
    editions = composer.render_all(message, occasion, Figures(running, period, history))
    return [
        f"{edition.message} ({edition.channel}, {edition.lang}): {edition.reason}"
        for edition in editions
        if isinstance(edition, Failure)
    ]

"""`bot figures …`: enter, import, show and trace figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from bot.cli import get_app, who

if TYPE_CHECKING:
    from bot.app import App
    from bot.figures.entries import Entry, Unusual


@click.group()
def figures() -> None:
    """Enter and look up the figures messages are composed from."""


@figures.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--as-of", "as_of", help="Date the figures are as of (YYYY-MM-DD).")
@click.option("--period", help="Span the figures were counted over: START..END (both included).")
@click.option("--source", required=True, help="Where the figures were published (a URL).")
@click.option(
    "--correction", help="Why an earlier figure is being corrected (allows a total to fall)."
)
@click.option("--by", help="Your staff name (optional; it must be yours).")
@click.pass_context
def set_figures(
    ctx: click.Context,
    assignments: tuple[str, ...],
    as_of: str | None,
    period: str | None,
    source: str,
    correction: str | None,
    by: str | None,
) -> None:
    """Enter figures, e.g. killed=4474 arrested=25931 --as-of 2024-01-31 --source URL."""
    from bot.errors import FigureError
    from bot.figures.entries import parse_assignments, parse_date, parse_period

    if bool(as_of) == bool(period):
        raise FigureError("give either --as-of DATE or --period START..END (one of them)")
    try:
        if period:
            period_start, day = parse_period(period)
        else:
            period_start, day = None, parse_date(as_of or "")
    except ValueError as exc:
        raise FigureError(str(exc)) from None
    entries = parse_assignments(assignments, day, period_start, source)
    _enter(ctx, entries, by, "figures set", correction)


def _enter(
    ctx: click.Context, entries: list[Entry], by: str | None, origin: str, correction: str | None
) -> None:
    from bot.figures.entries import Unusual, enter

    app = get_app(ctx)
    name = who(by)
    try:
        outcome = enter(
            app.engine,
            app.book,
            entries,
            entered_by=name,
            now=app.clock(),
            origin=origin,
            correction=correction,
            today=app.today(),
        )
    except Unusual as exc:
        _wait_for_second(app, exc, entries, name, origin)
    _report(outcome.stored, outcome.unchanged)
    if outcome.corrected:
        click.echo(f"Under the correction ({correction}):")
        for line in outcome.corrected:
            click.echo(f"  {line}")


def _wait_for_second(
    app: App, exc: Unusual, entries: list[Entry], by: str, origin: str
) -> NoReturn:
    """Keep figures beyond the believable change for a second person; still a refusal here."""
    from bot.errors import Problems
    from bot.figures.proposals import propose
    from bot.publish.history import local_time

    kept = propose(app.engine, entries, by=by, now=app.clock(), origin=origin, reasons=exc.problems)
    raise Problems(
        [
            *exc.problems,
            f"They wait as {kept.code} until {local_time(app, kept.expires)}: another member of "
            f"staff confirms them with `bot figures confirm {kept.code}` (or /setfigures "
            f"confirm={kept.code} in Telegram).",
        ],
        title=exc.title,
    )


def _report(stored: int, unchanged: int) -> None:
    if stored:
        click.echo(f"Stored {stored} value{'s' if stored != 1 else ''}.", nl=False)
    else:
        click.echo("Nothing new to store.", nl=False)
    click.echo(f" {unchanged} already entered with the same value." if unchanged else "")


@figures.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--correction", help="Why earlier figures are being corrected.")
@click.option("--by", help="Your staff name (optional; it must be yours).")
@click.option(
    "--if-empty", is_flag=True, help="Import only into a store that holds no figures yet."
)
@click.pass_context
def import_figures(
    ctx: click.Context, file: Path, correction: str | None, by: str | None, if_empty: bool
) -> None:
    """Import figures from CSV (date,figure,value,source) or JSON; all rows or none."""
    from bot.figures.importer import read_file
    from bot.store.figures import count_values

    app = get_app(ctx)
    if if_empty:
        with app.engine.connect() as conn:
            if count_values(conn):
                click.echo("The store already holds figures; nothing imported.")
                return
    _enter(ctx, read_file(file), by, f"import {file.name}"[:500], correction)


@figures.command("show")
@click.option("--as-of", "as_of", help="Show the figures as they stood on this date.")
@click.option("--lang", type=click.Choice(["en", "my"]), default="en", show_default=True)
@click.pass_context
def show(ctx: click.Context, as_of: str | None, lang: str) -> None:
    """The newest value of every figure (on or before --as-of)."""
    from bot.errors import FigureError
    from bot.figures.entries import parse_date
    from bot.lang import digits, number
    from bot.store.figures import latest, latest_spans

    app = get_app(ctx)
    try:
        day = parse_date(as_of) if as_of else app.today()
    except ValueError as exc:
        raise FigureError(str(exc)) from None
    with app.engine.connect() as conn:
        values = latest(conn, day)
        spans = latest_spans(conn, day)
    rows = []
    for key, figure in app.book.figures.items():
        stored = values.get(key)
        if figure.kind == "period":
            continue  # counted only over spans: listed below
        if stored is None:
            # A figure entered only for a span has a value, just not a running one.
            missing = "for a span only (below)" if key in spans else "not entered"
            rows.append((key, figure.label.get(lang), "—", missing, ""))
            continue
        rows.append(
            (
                key,
                figure.label.get(lang),
                number(stored.value, lang),
                digits(str(stored.as_of), lang),
                stored.source,
            )
        )
    _table(("figure", "label", "value", "as of", "source"), rows)
    counted = [
        (
            key,
            figure.label.get(lang),
            number(span.value, lang),
            digits(f"{span.period_start}..{span.as_of}", lang),
            span.source,
        )
        for key, figure in app.book.figures.items()
        if (span := spans.get(key)) is not None
    ]
    if counted:
        click.echo("\nCounted over a span (the newest span ending on or before that day):")
        _table(("figure", "label", "value", "span", "source"), counted)
    if not values and not spans:
        click.echo(
            f"\nNo figures entered on or before {day}. "
            "Use `bot figures set` or `bot figures import`."
        )


@figures.command("history")
@click.argument("key")
@click.pass_context
def history(ctx: click.Context, key: str) -> None:
    """Every value ever entered for one figure, with who entered it and when."""
    from bot.store.figures import history as load_history

    app = get_app(ctx)
    app.book.get(key)
    with app.engine.connect() as conn:
        rows = load_history(conn, key)
    if not rows:
        click.echo(f"No values entered for {key} yet.")
        return
    table = []
    for row in rows:
        when = f"{row.period_start}..{row.as_of}" if row.period_start else str(row.as_of)
        entered = row.entered_at.astimezone(dt.UTC) if row.entered_at.tzinfo else row.entered_at
        table.append(
            (
                when,
                str(row.value),
                row.source,
                row.entered_by,
                entered.strftime("%Y-%m-%d %H:%M UTC"),
                f"correction: {row.correction}" if row.correction else "",
            )
        )
    _table(("as of / span", "value", "source", "by", "entered", "note"), table)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for index, row in enumerate([header, *rows]):
        line = "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
        click.echo(line.rstrip())
        if index == 0:
            click.echo("  ".join("-" * width for width in widths))

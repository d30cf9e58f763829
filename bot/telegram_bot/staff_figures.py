"""/figures and /setfigures: the latest figures, and entering new ones as `bot figures set` does.

/setfigures takes `killed=4474 arrested=25931 as_of=2024-01-31 source=URL [correction="why"]`
(or `period=START..END` instead of as_of), parsed with the functions `bot figures set` uses.
The checks run twice: once for the preview, in a transaction that is rolled back, and again
inside `enter` on Confirm, since figures may have changed in between. Figures beyond the
believable change wait on Confirm for a second member of staff, who sends
`/setfigures confirm=CODE` (bot/figures/proposals.py).

Every function here reaches the database: the caller runs it in a worker thread.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import FigureError, Problems
from bot.figures import proposals
from bot.figures.entries import (
    Entry,
    Outcome,
    Unusual,
    check,
    enter,
    parse_assignments,
    parse_date,
    parse_period,
)
from bot.store import figures as store
from bot.telegram_bot.staff_texts import esc, fit

if TYPE_CHECKING:
    import sqlalchemy as sa

    from bot.app import App

ORIGIN = "telegram /setfigures"
_SETTINGS = ("as_of", "period", "source", "correction", "confirm")
# Telegram apps may turn straight quotes into typographic ones as people type.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class FiguresAction:
    """What Confirm enters: these values, with this correction note (or none)."""

    entries: tuple[Entry, ...]
    correction: str | None
    # Confirm as the second person the figures waiting under this code (entries are empty).
    proposal: str | None = None


def parse_request(text: str) -> FiguresAction:
    """The words after /setfigures; Problems or FigureError when they cannot be entered."""
    try:
        words = shlex.split(text.translate(_QUOTES))
    except ValueError:
        raise FigureError(
            'a quote is not closed; write correction="why" with both quotes'
        ) from None
    given: dict[str, str] = {}
    assignments: list[str] = []
    problems: list[str] = []
    for word in words:
        name, equals, text_value = word.partition("=")
        setting = name.strip().replace("-", "_")
        if equals and setting in _SETTINGS:
            if setting in given:
                problems.append(f"{setting} is given twice")
            given[setting] = text_value.strip()
        else:
            assignments.append(word)
    if "confirm" in given:
        if len(given) > 1 or assignments:
            raise FigureError("confirm=CODE goes alone: the figures are the ones waiting as CODE")
        return FiguresAction((), None, given["confirm"].upper())
    if bool(given.get("as_of")) == bool(given.get("period")):
        problems.append("give either as_of=DATE or period=START..END (one of them)")
    if not given.get("source"):
        problems.append("give source=URL: where the figures were published")
    if not assignments:
        problems.append("give the figures as KEY=VALUE, e.g. killed=4474")
    if problems:
        raise Problems(problems)
    try:
        if given.get("period"):
            period_start, day = parse_period(given["period"])
        else:
            period_start, day = None, parse_date(given["as_of"])
    except ValueError as exc:
        raise FigureError(str(exc)) from None
    entries = parse_assignments(assignments, day, period_start, given["source"])
    return FiguresAction(tuple(entries), given.get("correction") or None)


def _when(entry: Entry | store.StoredValue) -> str:
    if entry.period_start is not None:
        return f"for {entry.period_start}..{entry.as_of}"
    return f"as of {entry.as_of}"


def _before(conn: sa.Connection, entry: Entry) -> store.StoredValue | None:
    """The value the new one follows: for its span, or the newest on or before its date."""
    if entry.period_start is not None:
        return store.existing(conn, entry.figure, entry.as_of, entry.period_start)
    return store.latest(conn, entry.as_of).get(entry.figure)


def preview_change(app: App, action: FiguresAction) -> tuple[list[str], bool]:
    """The change as old → new per figure, and whether anything would be stored.

    Problems are raised as the checks phrase them. Nothing is written either way: the checks
    run in a transaction that is rolled back.
    """
    if action.proposal:
        return _proposal_lines(app, action.proposal)
    entries = list(action.entries)
    lines = []
    unusual: list[str] = []
    with app.engine.connect() as conn:
        transaction = conn.begin()
        try:
            try:
                changed = check(conn, app.book, entries, action.correction, today=app.today())
            except Unusual as exc:
                changed, unusual = exc.changed, exc.problems
            for entry in entries:
                before = _before(conn, entry)
                new = f"{entry.value} ({_when(entry)})"
                if entry not in changed:
                    lines.append(f"{entry.figure}: {new}, already entered: unchanged")
                elif before is None:
                    lines.append(f"{entry.figure}: (none) → {new}")
                else:
                    lines.append(f"{entry.figure}: {before.value} ({_when(before)}) → {new}")
        finally:
            transaction.rollback()
    lines.append(f"source: {entries[0].source}")
    if action.correction:
        lines.append(f"correction: {action.correction}")
    if unusual:
        lines += ["", "Beyond the believable change:", *unusual]
        lines.append(
            "On Confirm they wait for a second member of staff; or send them again with "
            'correction="why".'
        )
    return lines, bool(changed)


def _proposal_lines(app: App, code: str) -> tuple[list[str], bool]:
    """What a second person is asked to confirm."""
    proposal = proposals.find(app.engine, code, app.clock())
    lines = [f"Typed by {proposal.by}; only someone else can confirm them."]
    lines += [f"{e.figure}: {e.value} ({_when(e)}), source {e.source}" for e in proposal.entries]
    lines += ["", "Beyond the believable change:", *proposal.reasons]
    return lines, True


def store_figures(app: App, action: FiguresAction, by: str) -> Outcome:
    """Enter the figures, checked again; all of them or none (Problems).

    Beyond the believable change, they wait for a second person instead (`Outcome.waiting`).
    """
    now, today = app.clock(), app.today()
    if action.proposal:
        return proposals.confirm(
            app.engine, app.book, action.proposal, by=by, now=now, today=today
        )[1]
    try:
        return enter(
            app.engine,
            app.book,
            list(action.entries),
            entered_by=by,
            now=now,
            origin=ORIGIN,
            correction=action.correction,
            today=today,
        )
    except Unusual as exc:
        kept = proposals.propose(
            app.engine, list(action.entries), by=by, now=now, origin=ORIGIN, reasons=exc.problems
        )
        return Outcome(0, 0, 0, waiting=kept.code)


def stored_html(outcome: Outcome, by: str) -> str:
    """What Confirm stored, as `bot figures set` reports it."""
    if outcome.waiting:
        return (
            "<b>Not stored yet</b>: beyond the believable change, these figures wait for a "
            f"second member of staff, who sends /setfigures confirm={outcome.waiting} (or runs "
            f"`bot figures confirm {outcome.waiting}`) within a day."
        )
    if outcome.stored:
        said = f"Stored {outcome.stored} value{'s' if outcome.stored != 1 else ''}, entered by "
        entered = outcome.entered_by or by
        said += esc(entered) + (f", confirmed by {esc(by)}." if entered != by else ".")
    else:
        said = "Nothing new to store."
    if outcome.unchanged:
        said += f" {outcome.unchanged} already entered with the same value."
    return said


def figures_html(app: App) -> str:
    """The newest value of each running figure, its date, age and who entered it."""
    today = app.today()
    with app.engine.connect() as conn:
        values = store.latest(conn, today)
    lines = []
    for key, figure in app.book.figures.items():
        if figure.kind == "period":
            continue
        found = values.get(key)
        if found is None:
            lines.append(f"{key} ({figure.label.get('en')}): not entered")
            continue
        age = _age((today - found.as_of).days)
        lines.append(
            f"{key} ({figure.label.get('en')}) = {found.value} · as of {found.as_of} ({age}) · "
            f"entered by {found.entered_by}"
        )
    if not values:
        lines.append(f"No figures entered on or before {today}. /setfigures enters them.")
    return fit(f"<b>Figures</b> (newest on or before {today}):\n", "\n".join(lines))


def _age(days: int) -> str:
    return "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} old"

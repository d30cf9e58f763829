"""Figures as staff give them, and the checks every one passes before anything is stored."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import sqlalchemy as sa

from bot.config.figuredefs import FigureBook
from bot.errors import FigureError, Problems
from bot.figures import plausible
from bot.store import figures as store
from bot.zawgyi import problem as zawgyi_problem

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+$")


@dataclass(frozen=True)
class Entry:
    """One value to enter, and where staff wrote it (for error messages)."""

    figure: str
    value: int
    as_of: dt.date
    period_start: dt.date | None
    source: str
    where: str


def parse_count(text: str) -> int:
    """A whole, non-negative count; Burmese digits and 1,234 grouping are accepted."""
    cleaned = text.strip()
    if _GROUPED.match(cleaned.translate(_MY_TO_LATIN)):
        cleaned = cleaned.replace(",", "")
    latin = cleaned.translate(_MY_TO_LATIN)
    if re.fullmatch(r"-\d+", latin):
        raise ValueError(f"{text!r} is negative; a count cannot be below 0")
    if not re.fullmatch(r"\d+", latin):
        raise ValueError(f"{text!r} is not a whole number")
    if len(latin) > 12:
        raise ValueError(f"{text!r} is too large to be a count of people")
    return int(latin)


_MY_TO_LATIN = str.maketrans("၀၁၂၃၄၅၆၇၈၉", "0123456789")


def parse_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD (Burmese digits accepted)."""
    latin = text.strip().translate(_MY_TO_LATIN)
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", latin):
            raise ValueError
        return dt.date.fromisoformat(latin)
    except ValueError:
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD") from None


MAX_TEXT = {"source": 2000, "who": 200}


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored as given (control characters, broken Unicode, Burmese in
    Zawgyi rather than Unicode), or None."""
    for char in text:
        if char in "\t":
            continue
        if ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF:
            return f"contains a character that cannot be stored (U+{ord(char):04X})"
    return zawgyi_problem(text)


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """A span written START..END, both days included."""
    start_text, dots, end_text = text.partition("..")
    if not dots:
        raise ValueError(f"{text!r} is not a span written START..END, e.g. 2023-02-01..2024-01-31")
    start, end = parse_date(start_text), parse_date(end_text)
    if start > end:
        raise ValueError(f"span {text!r} starts after it ends")
    return start, end


def parse_assignments(
    assignments: list[str] | tuple[str, ...],
    day: dt.date,
    period_start: dt.date | None,
    source: str,
) -> list[Entry]:
    """`KEY=VALUE` words as entries; every malformed one is reported together (Problems)."""
    problems: list[str] = []
    entries: list[Entry] = []
    for assignment in assignments:
        key, equals, value_text = assignment.partition("=")
        if not equals or not key.strip():
            problems.append(f"{assignment!r}: write figures as KEY=VALUE, e.g. killed=4474")
            continue
        try:
            value = parse_count(value_text)
        except ValueError as exc:
            problems.append(f"{assignment}: {key.strip()}: {exc}")
            continue
        entries.append(Entry(key.strip(), value, day, period_start, source, assignment))
    if problems:
        raise Problems(problems)
    return entries


class Unusual(Problems):
    """The only objection is a change faster than believable: a second person may confirm it."""

    def __init__(self, problems: list[str], changed: list[Entry]) -> None:
        super().__init__(problems, title="Figures beyond the believable change were not stored")
        self.changed = changed


def check(
    conn: sa.Connection,
    book: FigureBook,
    entries: list[Entry],
    correction: str | None,
    *,
    today: dt.date | None = None,
    confirmed: bool = False,
) -> list[Entry]:
    """Raise Problems listing every refused entry; return the entries that change something.

    `today` (the organisation's): refuse dates after it. `confirmed`: a second member of staff
    confirmed these values, so a change faster than `max_change_per_day` is let through, as
    under a correction. When such changes are the only objection, the Problems are `Unusual`.
    """
    problems: list[str] = []
    bad_reason = zawgyi_problem(correction) if correction else None
    if bad_reason:
        problems.append(f"the reason for the correction {bad_reason}")
    known = [entry for entry in entries if _check_definition(book, entry, problems)]
    known = _drop_duplicates(known, problems)
    if today is not None:
        problems += plausible.future(known, today)
    problems += plausible.impossible(book, known)
    changed: list[Entry] = []
    for entry in known:
        before = store.existing(conn, entry.figure, entry.as_of, entry.period_start)
        if before is not None and before.value == entry.value:
            continue  # already entered: re-importing a file changes nothing
        if before is not None and not correction:
            problems.append(
                f"{entry.where}: {entry.figure} {_date_text(entry)} is already entered as "
                f"{before.value} (source {before.source}); to replace it with {entry.value}, "
                'repeat with --correction "why"'
            )
            continue
        changed.append(entry)
    if not correction:
        problems += _falling_totals(conn, book, changed)
    problems += _broken_relations(conn, book, changed)
    jumps = [] if correction or confirmed else plausible.unusual(conn, book, changed)
    second_look = [f"{jump.entry.where}: {jump.text}; {plausible.SECOND_LOOK}" for jump in jumps]
    if problems:
        raise Problems(problems + second_look)
    if second_look:
        raise Unusual(second_look, changed)
    return changed


def _date_text(entry: Entry) -> str:
    if entry.period_start is not None:
        return f"for {entry.period_start}..{entry.as_of}"
    return f"as of {entry.as_of}"


def _check_definition(book: FigureBook, entry: Entry, problems: list[str]) -> bool:
    try:
        definition = book.get(entry.figure)
    except FigureError as exc:
        problems.append(f"{entry.where}: {exc}")
        return False
    if definition.kind == "period" and entry.period_start is None:
        problems.append(
            f"{entry.where}: {entry.figure} is counted over a span; give the span it covers "
            "(--period START..END, or START..END in the date column)"
        )
        return False
    if not entry.source.strip():
        problems.append(f"{entry.where}: {entry.figure} has no source; say where it was published")
        return False
    bad = unstorable(entry.source)
    if bad or len(entry.source) > MAX_TEXT["source"]:
        reason = bad or f"is longer than {MAX_TEXT['source']} characters"
        problems.append(f"{entry.where}: the source of {entry.figure} {reason}")
        return False
    return True


def _drop_duplicates(entries: list[Entry], problems: list[str]) -> list[Entry]:
    seen: dict[tuple[str, dt.date, dt.date | None], Entry] = {}
    for entry in entries:
        slot = (entry.figure, entry.as_of, entry.period_start)
        first = seen.get(slot)
        if first is None:
            seen[slot] = entry
        elif first.value != entry.value:
            problems.append(
                f"{entry.where}: {entry.figure} {_date_text(entry)} is given twice with different "
                f"values: {first.value} ({first.where}) and {entry.value}"
            )
    return list(seen.values())


def _falling_totals(conn: sa.Connection, book: FigureBook, entries: list[Entry]) -> list[str]:
    return [
        f"{entry.where}: {what}; a running total never falls. If this corrects an earlier "
        'figure, repeat with --correction "why"'
        for entry, what in _falls(conn, book, entries)
    ]


def _falls(conn: sa.Connection, book: FigureBook, entries: list[Entry]) -> list[tuple[Entry, str]]:
    """Each entry that would make a running total fall, and how."""
    running = [
        entry
        for entry in entries
        if entry.period_start is None and book.figures[entry.figure].kind == "cumulative"
    ]
    if not running:
        return []
    merged: dict[str, dict[dt.date, tuple[int, str]]] = defaultdict(dict)
    for figure, stored in store.timeline(conn, {entry.figure for entry in running}).items():
        for date, row in stored.items():
            merged[figure][date] = (row.value, f"source {row.source}")
    for entry in running:
        merged[entry.figure][entry.as_of] = (entry.value, entry.where)
    found = []
    new_slots = {(entry.figure, entry.as_of): entry for entry in running}
    for figure, values in merged.items():
        for earlier, later in pairwise(sorted(values)):
            before, after = values[earlier], values[later]
            slot = new_slots.get((figure, later)) or new_slots.get((figure, earlier))
            if slot is None or after[0] >= before[0]:
                continue
            found.append(
                (
                    slot,
                    f"{figure} would fall from {before[0]} (as of {earlier}, {before[1]}) to "
                    f"{after[0]} (as of {later}, {after[1]})",
                )
            )
    return found


def corrected(conn: sa.Connection, book: FigureBook, changed: list[Entry]) -> list[str]:
    """What a correction lets through, for staff to see: replaced values and falling totals.

    A correction applies to the whole command, so a slip in another figure of the same command
    (25931 typed 2593) is shown here rather than passing unseen.
    """
    lines = []
    for entry in changed:
        before = store.existing(conn, entry.figure, entry.as_of, entry.period_start)
        if before is not None:
            lines.append(
                f"{entry.figure} {_date_text(entry)}: {before.value} → {entry.value} (replaced)"
            )
    lines += [what.replace(" would fall ", " falls ") for _, what in _falls(conn, book, changed)]
    return lines + [jump.text for jump in plausible.unusual(conn, book, changed)]


def _broken_relations(conn: sa.Connection, book: FigureBook, entries: list[Entry]) -> list[str]:
    by_date: dict[dt.date, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.period_start is None:
            by_date[entry.as_of].append(entry)
    problems: list[str] = []
    if not by_date:
        return problems
    involved = {key for relation in book.relations for key in relation.keys}
    stored = store.timeline(conn, involved)
    for date, dated in sorted(by_date.items()):
        values = {key: rows[date].value for key, rows in stored.items() if date in rows}
        values.update({entry.figure: entry.value for entry in dated})
        new_keys = {entry.figure for entry in dated}
        for relation in book.relations:
            applies = relation.keys <= values.keys() and relation.keys & new_keys
            if applies and not relation.holds(values):
                wheres = ", ".join(e.where for e in dated if e.figure in relation.keys)
                problems.append(
                    f"{wheres}: on {date} the figures break the rule "
                    f"'{relation.text}' ({relation.where}): {relation.explain(values)}"
                )
    return problems


def group(entries: list[Entry]) -> list[store.NewSnapshot]:
    """Entries gathered into snapshots: one per date (or span) and source."""
    grouped: dict[tuple[dt.date, dt.date | None, str], dict[str, int]] = defaultdict(dict)
    for entry in entries:
        grouped[(entry.as_of, entry.period_start, entry.source)][entry.figure] = entry.value
    return [
        store.NewSnapshot(as_of, period_start, source, values)
        for (as_of, period_start, source), values in sorted(
            grouped.items(), key=lambda item: (item[0][0], item[0][1] or item[0][0], item[0][2])
        )
    ]


@dataclass(frozen=True)
class Outcome:
    """What an entry command did."""

    stored: int
    unchanged: int
    snapshots: int
    # Under --correction: the values it replaced and the totals it let fall.
    corrected: tuple[str, ...] = ()
    entered_by: str = ""
    # Not stored: beyond the believable change, waiting for a second person under this code.
    waiting: str | None = None


def enter(
    engine: sa.Engine,
    book: FigureBook,
    entries: list[Entry],
    *,
    entered_by: str,
    now: dt.datetime,
    origin: str,
    correction: str | None = None,
    today: dt.date | None = None,
) -> Outcome:
    """Check and store entries in one transaction: all of them or none.

    The entry points pass `today` (the organisation's date) so that future dates are refused.
    """
    with engine.begin() as conn:
        return enter_in(
            conn,
            book,
            entries,
            entered_by=entered_by,
            now=now,
            origin=origin,
            correction=correction,
            today=today,
        )


def enter_in(
    conn: sa.Connection,
    book: FigureBook,
    entries: list[Entry],
    *,
    entered_by: str,
    now: dt.datetime,
    origin: str,
    correction: str | None = None,
    today: dt.date | None = None,
    confirmed: bool = False,
) -> Outcome:
    """`enter` inside the caller's transaction (a second person's confirmation uses it)."""
    if not entries:
        raise FigureError("no figures given")
    bad_name = unstorable(entered_by)
    if bad_name or not entered_by.strip() or len(entered_by) > MAX_TEXT["who"]:
        reason = bad_name or f"must be 1 to {MAX_TEXT['who']} characters"
        raise FigureError(f"the name of who enters the figures {reason}")
    if conn.dialect.name == "postgresql":
        # Serialise entries so two people cannot both pass the "never falls" check
        # against the same old totals.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))
    changed = check(conn, book, entries, correction, today=today, confirmed=confirmed)
    notes = tuple(corrected(conn, book, changed)) if correction else ()
    snapshots = group(changed)
    for snapshot in snapshots:
        store.append(
            conn,
            snapshot,
            entered_by=entered_by,
            entered_at=now,
            correction=correction,
            origin=origin,
        )
    return Outcome(len(changed), len(entries) - len(changed), len(snapshots), notes, entered_by)

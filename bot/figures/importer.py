"""Reading figures from CSV (`date,figure,value,source`) and JSON files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from bot.errors import FigureError, Problems
from bot.figures.entries import Entry, parse_count, parse_date, parse_period

CSV_COLUMNS = ("date", "figure", "value", "source")
MAX_FILE_BYTES = 20 * 1024 * 1024


def read_file(path: Path) -> list[Entry]:
    """Every entry in a CSV or JSON file; all problems reported together, with their lines."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FigureError(
                f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; is it the right file?"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FigureError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise FigureError(f"{path}: is a folder, not a file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FigureError(
            f"{path}:{line}: not UTF-8 text; save the file as 'CSV UTF-8' and import it again"
        ) from None
    if path.suffix.lower() == ".json":
        entries = parse_json(text, str(path))
    elif path.suffix.lower() in (".csv", ".txt"):
        entries = parse_csv(text, str(path))
    else:
        raise FigureError(f"{path}: unknown file type {path.suffix!r}; use .csv or .json")
    if not entries:
        raise FigureError(f"{path}: no figures in the file")
    return entries


def _entry(
    where: str, date_text: str, figure: str, value_text: str, source: str, problems: list[str]
) -> Entry | None:
    try:
        if ".." in date_text:
            period_start, as_of = parse_period(date_text)
        else:
            period_start, as_of = None, parse_date(date_text)
        value = parse_count(value_text)
    except ValueError as exc:
        problems.append(f"{where}: {figure or 'figure'}: {exc}")
        return None
    return Entry(figure.strip(), value, as_of, period_start, source.strip(), where)


def parse_csv(text: str, name: str) -> list[Entry]:
    """Entries from CSV text with a header `date,figure,value,source`."""
    # strict: a quote that is never closed must be an error, not swallow the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise FigureError(f"{name}: the file is empty") from None
    except csv.Error as exc:
        raise FigureError(f"{name}:1: cannot read the header: {exc}") from None
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise FigureError(
            f"{name}:1: the header must name the columns {','.join(CSV_COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    index = {column: header.index(column) for column in CSV_COLUMNS}
    entries: list[Entry] = []
    problems: list[str] = []
    row_start = 2
    try:
        for row in reader:
            where = f"{name}:{row_start}"
            row_start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                hint = ""
                if len(row) > len(header):
                    hint = "; a number written with a comma (25,931) must be in quotes"
                problems.append(f"{where}: expected {len(header)} columns, found {len(row)}{hint}")
                continue
            if any("\n" in cell or "\r" in cell for cell in row):
                problems.append(
                    f'{where}: a quote (") opened on this line is closed only on line '
                    f"{reader.line_num}; check the quotes"
                )
                continue
            cells = {column: row[position] for column, position in index.items()}
            entry = _entry(
                where, cells["date"], cells["figure"], cells["value"], cells["source"], problems
            )
            if entry:
                entries.append(entry)
    except csv.Error as exc:
        reason = (
            'a quote (") opened on this line is never closed' if "end of data" in str(exc) else exc
        )
        problems.append(f"{name}:{row_start}: cannot read this line: {reason}")
    if problems:
        raise Problems(problems)
    return entries


def parse_json(text: str, name: str) -> list[Entry]:
    """Entries from JSON: a list of rows like the CSV's, or one snapshot object.

    A snapshot object is `{"as_of": "2024-01-31", "source": "...", "values": {"killed": 4474}}`
    (or `"period": "2023-02-01..2024-01-31"` instead of `as_of`).
    """
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FigureError(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise FigureError(
            f"{name}: the JSON is nested too deeply to be a list of figures"
        ) from None
    except ValueError:
        # A number of more than 4,300 digits: Python refuses to read it as an integer.
        raise FigureError(f"{name}: a number in the file is too long to be a count") from None
    problems: list[str] = []
    entries: list[Entry] = []
    if isinstance(data, dict):
        date_text = data.get("period") or data.get("as_of")
        source, values = data.get("source"), data.get("values")
        if not isinstance(date_text, str) or not isinstance(source, str):
            raise FigureError(
                f'{name}: a snapshot needs "as_of" (or "period") and "source" as text'
            )
        if not isinstance(values, dict) or not values:
            raise FigureError(f'{name}: a snapshot needs "values": {{"figure": number, ...}}')
        for figure, value in values.items():
            entry = _entry(
                f"{name}: {figure}", date_text, str(figure), _text(value), source, problems
            )
            if entry:
                entries.append(entry)
    elif isinstance(data, list):
        for number, item in enumerate(data, start=1):
            where = f"{name}: item {number}"
            if not isinstance(item, dict):
                problems.append(f"{where}: expected an object with date, figure, value, source")
                continue
            missing = [key for key in CSV_COLUMNS if key not in item]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            entry = _entry(
                where,
                _text(item["date"]),
                _text(item["figure"]),
                _text(item["value"]),
                _text(item["source"]),
                problems,
            )
            if entry:
                entries.append(entry)
    else:
        raise FigureError(f"{name}: expected a list of rows or a snapshot object")
    if problems:
        raise Problems(problems)
    return entries


def _text(value: object) -> str:
    # JSON numbers arrive as int/float; a float like 12.5 must still be refused as a count.
    if isinstance(value, bool):
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value)

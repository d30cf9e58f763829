"""Importing a subscriber list: every line checked, all stored or none, never all in memory.

The file is read line by line into a temporary table; duplicates are found there, so a list
of any length is checked without holding it in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import sqlalchemy as sa

from bot.privacy import mask_target as mask
from bot.subscribers.choices import LANGS, TOPICS

if TYPE_CHECKING:
    from bot.errors import Problems

ADDRESS_COLUMNS = ("email", "address")
# Enough to fix a file by; a file that is wrong throughout says so in one line more.
MAX_PROBLEMS_SHOWN = 50
BATCH = 1000
MAX_ADDRESS = 254  # RFC 5321, as the sign-up form
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bytes that are not UTF-8, kept by the "surrogateescape" reading so their line can be named.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# A person's own chat with the bot has their (positive) user id; groups and channels do not.
_TELEGRAM_PERSON = re.compile(r"[1-9][0-9]{0,19}")


@dataclass
class Checked:
    """What reading the file found: problems (the first few), and rows staged."""

    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0

    def add(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(problem)

    def refusal(self, file: Path) -> Problems:
        from bot.errors import Problems

        title = f"{file}: not imported, nothing was stored"
        if self.problem_count > len(self.problems):
            title += f"; the first {len(self.problems)} of {self.problem_count} problems"
        return Problems(self.problems, title)


@dataclass
class Stored:
    """What an import did to the list, by kind."""

    new: int = 0
    confirmed: int = 0
    already: int = 0
    waiting: int = 0
    left_out: int = 0


def clean_address(channel: str, value: str) -> tuple[str | None, str]:
    """The address as stored (normalised as the sign-up form does), or None and why not."""
    from email_validator import EmailNotValidError, validate_email

    from bot.channels.email_message import is_address

    if channel == "telegram":
        if _TELEGRAM_PERSON.fullmatch(value):
            return value, ""
        return None, "not a Telegram user id (a positive number)"
    if len(value) > MAX_ADDRESS:
        return None, f"longer than {MAX_ADDRESS} characters"
    try:
        # No DNS look-up: it would tell a resolver who is on the list, and be slow.
        valid = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return None, f"not a valid email address ({exc})"
    # Lower case, as bot/subscribers/signup.py stores it: one person, one subscription.
    address = (valid.ascii_email or valid.normalized).lower()
    if not is_address(address):  # a quoted local part, an IP literal: the channel cannot send
        return None, "not an address the bot can send to (local@domain.tld)"
    return address, ""


def _check_row(
    line: int,
    row: list[str],
    columns: dict[str, int],
    channel: str,
    checked: Checked,
) -> tuple[str, str, str] | None:
    if len(row) != len(columns):
        checked.add(f"line {line}: {len(row)} fields, the header has {len(columns)}")
        return None
    values = {name: row[index].strip() for name, index in columns.items()}
    ok = True
    for name, value in values.items():
        if _CONTROL.search(value):
            checked.add(f"line {line}: a line break or control character in the {name} field")
            ok = False
    if not ok:
        return None
    raw = values["address"]
    address, why = clean_address(channel, raw) if raw else (None, "no address")
    if address is None:
        checked.add(f"line {line}: {mask(channel, raw) + ': ' if raw else ''}{why}")
    lang = values["lang"]
    if lang not in LANGS:
        checked.add(f"line {line}: unknown language {lang!r} (use {' or '.join(LANGS)})")
    chosen = [t.strip() for t in values.get("topics", "").split(";") if t.strip()]
    unknown = [t for t in chosen if t not in TOPICS]
    for topic in unknown:
        checked.add(f"line {line}: unknown topic {topic!r} (topics: {', '.join(TOPICS)})")
    if address is None or lang not in LANGS or unknown:
        return None
    topics = [t for t in TOPICS if t in chosen] if chosen else list(TOPICS)
    return address, lang, ",".join(topics)


def _header(first: list[str], checked: Checked) -> dict[str, int] | None:
    names = [name.strip().lower() for name in first]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        key = "address" if name in ADDRESS_COLUMNS else name
        if key not in ("address", "lang", "topics"):
            checked.add(f"line 1: unknown column {name!r}; the columns are email,lang[,topics]")
        elif key in columns:
            checked.add(f"line 1: the column {name!r} appears twice")
        else:
            columns[key] = index
    for needed in ("address", "lang"):
        if needed not in columns:
            shown = "email" if needed == "address" else needed
            checked.add(f"line 1: no {shown!r} column; the columns are email,lang[,topics]")
    return None if checked.problem_count else columns


def _records(stream: TextIO, checked: Checked) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields); a record may span lines inside quotes."""
    reader = csv.reader(stream, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            checked.add(f"line {start}: cannot read this line as CSV ({exc})")
            if reader.line_num < start:
                return  # nothing more could be read
            continue  # the reader starts afresh on the next line
        if reader.line_num > start:
            # A quoted field ran over a line end: a line break inside an address or choice.
            checked.add(f"line {start}: a line break inside a field")
            continue
        if any(_NOT_UTF8.search(cell) for cell in row):
            checked.add(f"line {start}: not UTF-8 text; save the file as 'CSV UTF-8'")
            continue
        if any(cell.strip() for cell in row):
            yield start, row


def _staging() -> sa.Table:
    import sqlalchemy as sa

    from bot.store.sealing import Sealed

    # Temporary: private to this connection, gone with it, whatever happens to the command.
    # The key (address_hash, line) is also the index that finds duplicates. Even here the
    # address is sealed: PostgreSQL writes a temporary table to disk like any other.
    return sa.Table(
        "subscriber_import",
        sa.MetaData(),
        sa.Column("address_hash", sa.String(32), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("address", Sealed(), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("topics", sa.String(200), nullable=False),
        prefixes=["TEMPORARY"],
    )


def _stage(
    conn: sa.Connection, staging: sa.Table, path: Path, channel: str, checked: Checked
) -> None:
    """Check every line and put the good ones in the staging table, a batch at a time."""
    from bot.store.sealing import sealer_of

    sealer = sealer_of(conn)
    batch: list[dict[str, object]] = []
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        records = _records(stream, checked)
        first = next(records, None)
        if first is None:
            if not checked.problem_count:
                checked.add(f"{path}: the file is empty; the columns are email,lang[,topics]")
            return
        columns = _header(first[1], checked)
        if columns is None:
            return
        for line, row in records:
            found = _check_row(line, row, columns, channel, checked)
            if found is None:
                continue
            address, lang, topics = found
            batch.append(
                {
                    "address_hash": sealer.lookup(address),
                    "address": address,
                    "line": line,
                    "lang": lang,
                    "topics": topics,
                }
            )
            checked.rows += 1
            if len(batch) >= BATCH:
                conn.execute(staging.insert(), batch)
                batch = []
    if batch:
        conn.execute(staging.insert(), batch)


def _duplicates(conn: sa.Connection, staging: sa.Table, checked: Checked) -> None:
    import sqlalchemy as sa

    later, earlier = staging.alias("later"), staging.alias("earlier")
    query = (
        sa.select(later.c.line, sa.func.min(earlier.c.line))
        .join(
            earlier,
            (earlier.c.address_hash == later.c.address_hash) & (earlier.c.line < later.c.line),
        )
        .group_by(later.c.line)
        .order_by(later.c.line)
    )
    # Only the first few rows come back (a driver may hold a whole result in memory); the
    # rest are counted.
    shown = 0
    for line, first in conn.execute(query.limit(MAX_PROBLEMS_SHOWN)):
        checked.add(f"line {line}: the same address as line {first}")
        shown += 1
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    checked.problem_count += int(total) - shown


def _store(
    conn: sa.Connection,
    staging: sa.Table,
    channel: str,
    confirmed: bool,
    now: dt.datetime,
) -> Stored:
    """Add the staged people, a batch at a time, in the import's one transaction."""
    import sqlalchemy as sa

    from bot.store.schema import subscribers as table
    from bot.store.sealing import sealer_of
    from bot.subscribers.store import count_event, new_token

    sealer = sealer_of(conn)
    stored = Stored()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(staging.c.line, staging.c.address, staging.c.lang, staging.c.topics)
            .where(staging.c.line > last)
            .order_by(staging.c.line)
            .limit(BATCH)
        ).all()
        if not rows:
            return stored
        last = rows[-1].line
        # Found by lookup hash, under every key of the ring (during a rotation a row may still
        # carry the old key's hash).
        line_of = {h: r.line for r in rows for h in sealer.lookups(r.address)}
        existing = {
            line_of[row.address_hash]: row
            for row in conn.execute(
                sa.select(table.c.id, table.c.address_hash, table.c.status).where(
                    table.c.channel == channel, table.c.address_hash.in_(list(line_of))
                )
            )
        }
        fresh = []
        for row in rows:
            found = existing.get(row.line)
            if found is None:
                fresh.append(
                    {
                        "channel": channel,
                        "address": row.address,
                        "lang": row.lang,
                        "topics": row.topics,
                        "status": "active" if confirmed else "pending",
                        "token": new_token(),
                        "created_at": now,
                        "confirmed_at": now if confirmed else None,
                        "updated_at": now,
                    }
                )
                count_event(conn, now, channel, row.lang, "subscribed")
            elif found.status == "active":
                # Their own choices (made on the web page) stand over an old list's.
                stored.already += 1
            elif found.status == "pending" and confirmed:
                conn.execute(
                    table.update()
                    .where(table.c.id == found.id)
                    .values(status="active", confirmed_at=now, updated_at=now)
                )
                count_event(conn, now, channel, row.lang, "confirmed")
                stored.confirmed += 1
            elif found.status == "pending":
                stored.waiting += 1
            else:
                # Unsubscribed, or refused by the platform: an old list must never sign
                # someone up again who chose to leave. Only they can come back.
                stored.left_out += 1
        if fresh:
            conn.execute(table.insert(), fresh)
            stored.new += len(fresh)


def import_file(
    engine: sa.Engine, file: Path, channel: str, confirmed: bool, now: dt.datetime
) -> tuple[Stored, int]:
    """Check every line of FILE, then store all of it in one transaction (or nothing)."""
    from bot.errors import BotError

    staging = _staging()
    checked = Checked()
    with engine.connect() as conn:
        try:
            with conn.begin():
                staging.create(conn)
                _stage(conn, staging, file, channel, checked)
                _duplicates(conn, staging, checked)
                if checked.problem_count:
                    # Leaving the block by an exception rolls everything back.
                    raise checked.refusal(file)
                if checked.rows == 0:
                    raise BotError(f"{file}: no one in the file")
                stored = _store(conn, staging, channel, confirmed, now)
        finally:
            # SQLite does not roll back a CREATE TABLE made outside a transaction; drop it
            # (named in the temporary schema: never a real table of that name).
            temporary = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
            with conn.begin():
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {temporary}.{staging.name}"))
    return stored, checked.rows

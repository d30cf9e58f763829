"""`bot subscribers …`: import a list, list and count, export, erase a person.

Subscribers are often at risk, so addresses are masked everywhere here except in `export`,
which writes them to a file only its owner can read, never to the terminal. Every command
streams: a list of any length is never held in memory, not even to check an import.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bot.cli import get_app
from bot.subscribers.choices import CHANNELS, LANGS, TOPICS

if TYPE_CHECKING:
    import sqlalchemy as sa

    from bot.app import App
    from bot.errors import Problems
    from bot.subscribers.store import Subscriber

STATUSES = ("pending", "active", "unsubscribed", "blocked")
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


def mask(channel: str, address: str) -> str:
    """An address as staff see it: enough to tell people apart, not to reach them."""
    from bot.privacy import mask_target

    return mask_target(channel, address)


@click.group()
def subscribers() -> None:
    """Subscribers by email and Telegram: import, list, count, export, delete."""


# import -------------------------------------------------------------------------------------


@dataclass
class _Checked:
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
class _Stored:
    """What an import did to the list, by kind."""

    new: int = 0
    confirmed: int = 0
    already: int = 0
    waiting: int = 0
    left_out: int = 0


def _address(channel: str, value: str) -> tuple[str | None, str]:
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
    checked: _Checked,
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
    address, why = _address(channel, raw) if raw else (None, "no address")
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


def _header(first: list[str], checked: _Checked) -> dict[str, int] | None:
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


def _records(stream: TextIO, checked: _Checked) -> Iterator[tuple[int, list[str]]]:
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

    # Temporary: private to this connection, gone with it, whatever happens to the command.
    # The key (address, line) is also the index that finds duplicates.
    return sa.Table(
        "subscriber_import",
        sa.MetaData(),
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("topics", sa.String(200), nullable=False),
        prefixes=["TEMPORARY"],
    )


def _stage(
    conn: sa.Connection, staging: sa.Table, path: Path, channel: str, checked: _Checked
) -> None:
    """Check every line and put the good ones in the staging table, a batch at a time."""
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
            batch.append({"address": address, "line": line, "lang": lang, "topics": topics})
            checked.rows += 1
            if len(batch) >= BATCH:
                conn.execute(staging.insert(), batch)
                batch = []
    if batch:
        conn.execute(staging.insert(), batch)


def _duplicates(conn: sa.Connection, staging: sa.Table, checked: _Checked) -> None:
    import sqlalchemy as sa

    later, earlier = staging.alias("later"), staging.alias("earlier")
    query = (
        sa.select(later.c.line, sa.func.min(earlier.c.line))
        .join(
            earlier,
            (earlier.c.address == later.c.address) & (earlier.c.line < later.c.line),
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
) -> _Stored:
    """Add the staged people, a batch at a time, in the import's one transaction."""
    import sqlalchemy as sa

    from bot.store.schema import subscribers as table
    from bot.subscribers.store import count_event, new_token

    stored = _Stored()
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
        existing = {
            row.address: row
            for row in conn.execute(
                sa.select(table.c.id, table.c.address, table.c.status).where(
                    table.c.channel == channel, table.c.address.in_([r.address for r in rows])
                )
            )
        }
        fresh = []
        for row in rows:
            found = existing.get(row.address)
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


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--confirmed",
    is_flag=True,
    help="They already confirmed elsewhere (moving an existing list): active at once.",
)
@click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    default="email",
    show_default=True,
    help="Their channel.",
)
@click.pass_context
def import_list(ctx: click.Context, file: Path, confirmed: bool, channel: str) -> None:
    """Add the people in FILE (CSV: email,lang[,topics]); nothing is stored if a line is wrong.

    Topics are separated by ";" (e.g. statements;weekly-digest); empty means all of them.
    """
    import sqlalchemy as sa

    from bot.errors import BotError

    if channel == "telegram" and not confirmed:
        raise BotError(
            "Telegram subscribers confirm by starting the bot, not by email: import them with "
            "--confirmed only if each of them already did"
        )
    app = get_app(ctx)
    staging = _staging()
    checked = _Checked()
    with app.engine.connect() as conn:
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
                now = app.clock()
                stored = _store(conn, staging, channel, confirmed, now)
        finally:
            # SQLite does not roll back a CREATE TABLE made outside a transaction; drop it
            # (named in the temporary schema: never a real table of that name).
            temporary = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
            with conn.begin():
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {temporary}.{staging.name}"))
    _report(stored, checked.rows, confirmed)
    if not confirmed and stored.new:
        sent = _send_confirmations(app, channel, now)
        click.echo(f"Sent {sent} confirmation email(s); the others are listed in the log.")


def _send_confirmations(app: App, channel: str, now: dt.datetime) -> int:
    """Email each person this import added as pending their confirmation link."""
    import asyncio

    from bot.subscribers import store
    from bot.subscribers.signup import send_email
    from bot.web.site import Site
    from bot.web.subscribe import confirmation_mail

    site = Site(app, app.clock)

    async def go() -> int:
        sent = 0
        for person in store.stream(app.engine, channel, "pending"):
            if person.created_at == now:
                sent += await send_email(app, confirmation_mail(site, person))
        return sent

    return asyncio.run(go())


def _report(stored: _Stored, rows: int, confirmed: bool) -> None:
    state = "active" if confirmed else "waiting for confirmation"
    click.echo(f"Imported {rows} people: {stored.new} new ({state}).")
    if stored.confirmed:
        click.echo(f"{stored.confirmed} who had signed up but not confirmed are now active.")
    if stored.already:
        click.echo(f"{stored.already} were already subscribed: their own choices were kept.")
    if stored.waiting:
        click.echo(f"{stored.waiting} had already signed up and still wait for confirmation.")
    if stored.left_out:
        click.echo(
            f"{stored.left_out} left out: they unsubscribed or could no longer be reached. "
            "Only they can subscribe again."
        )
    if not confirmed and stored.new:
        click.echo("Nobody is sent anything until they confirm the email sent to them.")


# list, count --------------------------------------------------------------------------------


@subscribers.command("list")
@click.option("--channel", type=click.Choice(CHANNELS), help="Only this channel.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.pass_context
def list_subscribers(ctx: click.Context, channel: str | None, status: str | None) -> None:
    """Every subscriber, addresses masked."""
    from bot.subscribers.store import stream

    app = get_app(ctx)
    number = 0
    for person in stream(app.engine, channel, status):
        number += 1
        click.echo(_line(person))
    click.echo(f"{number} subscriber{'' if number == 1 else 's'}.")


def _line(person: Subscriber) -> str:
    topics = ";".join(person.topics) if set(person.topics) != set(TOPICS) else "all topics"
    return (
        f"{person.id:>7}  {person.channel:<8}  {mask(person.channel, person.address):<32}  "
        f"{person.lang}  {person.status:<12}  {topics}  since {person.created_at:%Y-%m-%d}"
    )


@subscribers.command("count")
@click.pass_context
def count(ctx: click.Context) -> None:
    """How many people per channel, status and language, and the anonymous event counts."""
    import sqlalchemy as sa

    from bot.store.schema import subscriber_stats
    from bot.subscribers.store import counts

    app = get_app(ctx)
    people = counts(app.engine)
    click.echo("People on the list:")
    if not people:
        click.echo("  none")
    _table(people)
    with app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                subscriber_stats.c.channel,
                subscriber_stats.c.event,
                subscriber_stats.c.lang,
                sa.func.sum(subscriber_stats.c.count),
            ).group_by(
                subscriber_stats.c.channel, subscriber_stats.c.event, subscriber_stats.c.lang
            )
        )
        events = {(c, e, lang): int(n) for c, e, lang, n in rows}
    click.echo("Events so far (anonymous counts, kept when a person is erased):")
    if not events:
        click.echo("  none")
    _table(events)


def _table(numbers: dict[tuple[str, str, str], int]) -> None:
    groups = sorted({(channel, kind) for channel, kind, _ in numbers})
    for channel, kind in groups:
        by_lang = Counter(
            {lang: n for (c, k, lang), n in numbers.items() if (c, k) == (channel, kind)}
        )
        each = "  ".join(f"{lang} {by_lang[lang]:>6}" for lang in LANGS)
        click.echo(f"  {channel:<8}  {kind:<12}  {each}  total {sum(by_lang.values()):>7}")


# export -------------------------------------------------------------------------------------


@subscribers.command("export")
@click.option("--channel", type=click.Choice(CHANNELS), help="Only this channel.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(ctx: click.Context, channel: str | None, status: str | None, file: Path) -> None:
    """Write the full addresses to FILE (CSV), readable only by you; never to the screen."""
    from bot.errors import BotError
    from bot.subscribers.store import stream

    if str(file) == "-":
        raise BotError("export writes to a file, never to the terminal: give a file name")
    app = get_app(ctx)
    try:
        # O_EXCL: never into an existing file (it may be readable by others, or a link).
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BotError(f"{file} already exists; an export never writes over a file") from None
    except OSError as exc:
        raise BotError(f"cannot create {file}: {exc.strerror}") from None
    number = 0
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask: the owner reads it, no one else
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["address", "channel", "lang", "topics", "status", "since"])
            for person in stream(app.engine, channel, status):
                writer.writerow(
                    [
                        person.address,
                        person.channel,
                        person.lang,
                        ";".join(person.topics),
                        person.status,
                        person.created_at.date().isoformat(),
                    ]
                )
                number += 1
    except BaseException:
        file.unlink(missing_ok=True)  # half a list is no use, and still holds addresses
        raise
    click.echo(
        f"Wrote {number} subscriber{'' if number == 1 else 's'} to {file} (readable only by "
        "you). It holds their full addresses: keep it safe and delete it when done."
    )


# delete -------------------------------------------------------------------------------------


@subscribers.command("delete")
@click.argument("address")
@click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    default="email",
    show_default=True,
    help="Their channel.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete(ctx: click.Context, address: str, channel: str, yes: bool) -> None:
    """Erase a person: their address and choices; their deliveries keep only "(erased)".

    ADDRESS "-" reads it from the standard input, which keeps it out of the shell's history.
    """
    import sqlalchemy as sa

    from bot.errors import BotError
    from bot.store.schema import deliveries
    from bot.subscribers.store import erase, find

    if address == "-":
        address = sys.stdin.readline()
    address = address.strip()
    app = get_app(ctx)
    person = find(app.engine, channel, address)
    if person is None and channel == "email":
        stored, _ = _address(channel, address)
        person = find(app.engine, channel, stored) if stored else None
    if person is None:
        raise BotError(f"no {channel} subscriber with the address {mask(channel, address)}")
    shown = mask(channel, person.address)
    if not yes and not click.confirm(
        f"Erase {shown} ({channel}, {person.status}) for good? Only anonymous counts will remain."
    ):
        click.echo("Nothing was erased.")
        ctx.exit(1)
    with app.engine.connect() as conn:
        sent_to = int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(deliveries.c.subscriber_id == person.id)
            ).scalar_one()
        )
    if not erase(app.engine, channel, person.address, app.clock()):
        raise BotError(f"{shown} was erased meanwhile")
    click.echo(
        f"Erased {shown}: the address and choices are gone; their deliveries ({sent_to}) keep "
        'only "(erased)". Only anonymous counts remain.'
    )

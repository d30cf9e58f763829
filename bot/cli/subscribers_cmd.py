"""`bot subscribers …`: import a list, list and count, export, erase a person.

Subscribers are often at risk, so addresses are masked everywhere here except in `export`,
which writes them to a file only its owner can read, never to the terminal. Every command
streams: a list of any length is never held in memory, not even to check an import.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli import get_app
from bot.subscribers.choices import LANGS, TOPICS, channels

if TYPE_CHECKING:
    from bot.subscribers.importer import Stored
    from bot.subscribers.store import Subscriber


class _Channel(click.ParamType[str]):
    """A channel people subscribe to; the registry is read only when the option is used."""

    name = "channel"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(channels())}]"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value not in channels():
            self.fail(f"{value!r} is not one of {', '.join(channels())}", param, ctx)
        return value


_CHANNEL = _Channel()

STATUSES = ("pending", "active", "unsubscribed", "blocked")


def mask(channel: str, address: str) -> str:
    """An address as staff see it: enough to tell people apart, not to reach them."""
    from bot.privacy import mask_target

    return mask_target(channel, address)


@click.group()
def subscribers() -> None:
    """Subscribers by email and Telegram: import, list, count, export, delete."""


# import -------------------------------------------------------------------------------------


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--confirmed",
    is_flag=True,
    help="They already confirmed elsewhere (moving an existing list): active at once.",
)
@click.option(
    "--channel",
    type=_CHANNEL,
    default="email",
    show_default=True,
    help="Their channel.",
)
@click.pass_context
def import_list(ctx: click.Context, file: Path, confirmed: bool, channel: str) -> None:
    """Add the people in FILE (CSV: email,lang[,topics]); nothing is stored if a line is wrong.

    Topics are separated by ";" (e.g. statements;weekly-digest); empty means all of them.
    """

    from bot.errors import BotError

    if channel == "telegram" and not confirmed:
        raise BotError(
            "Telegram subscribers confirm by starting the bot, not by email: import them with "
            "--confirmed only if each of them already did"
        )
    app = get_app(ctx)
    now = app.clock()
    from bot.subscribers.importer import import_file

    stored, rows = import_file(app.engine, file, channel, confirmed, now)
    _report(stored, rows, confirmed)
    if not confirmed and stored.new:
        sent = _send_confirmations(ctx, channel, now)
        unsent = stored.new - sent
        others = f"; {unsent} could not be sent (see the log)" if unsent > 0 else ""
        click.echo(f"Sent {sent} confirmation email(s){others}.")


def _send_confirmations(ctx: click.Context, channel: str, now: dt.datetime) -> int:
    """Email each person this import added as pending their confirmation link."""
    import asyncio

    from bot.cli import get_runtime

    return asyncio.run(get_runtime(ctx).send_confirmations(channel, now))


def _report(stored: Stored, rows: int, confirmed: bool) -> None:
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
@click.option("--channel", type=_CHANNEL, help="Only this channel.")
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

# A spreadsheet runs a cell that starts with one of these as a formula (`=cmd|…`, `@SUM(…)`).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading apostrophe before a formula's first sign.

    Anyone can sign up with an address such as `=HYPERLINK(…)@example.org`; the export is
    opened by staff, in a spreadsheet, on their own machine (OWASP: CSV injection).
    """
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


@subscribers.command("export")
@click.option("--channel", type=_CHANNEL, help="Only this channel.")
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
                        spreadsheet_safe(cell)
                        for cell in (
                            person.address,
                            person.channel,
                            person.lang,
                            ";".join(person.topics),
                            person.status,
                            person.created_at.date().isoformat(),
                        )
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
    type=_CHANNEL,
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
    from bot.subscribers import outbox_copies
    from bot.subscribers.store import erase, find

    if address == "-":
        address = sys.stdin.readline()
    address = address.strip()
    app = get_app(ctx)
    person = find(app.engine, channel, address)
    if person is None and channel == "email":
        from bot.subscribers.importer import clean_address

        stored, _ = clean_address(channel, address)
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
    copies = outbox_copies.recorded(app.engine, person.id)
    if not erase(app.engine, channel, person.address, app.clock()):
        raise BotError(f"{shown} was erased meanwhile")
    removed = outbox_copies.remove(app.settings.outbox_dir, channel, person.address, copies)
    click.echo(
        f"Erased {shown}: the address and choices are gone; their deliveries ({sent_to}) keep "
        'only "(erased)". Only anonymous counts remain.'
    )
    if removed:
        click.echo(
            f"Removed {removed} cop{'y' if removed == 1 else 'ies'} of what was sent to them "
            "from the outbox folder."
        )


# purge --------------------------------------------------------------------------------------


@subscribers.command("purge")
@click.pass_context
def purge(ctx: click.Context) -> None:
    """Apply [retention] now (`bot run` does it once a day): who left, old delivery targets.

    Unsubscribed people past `unsubscribed_days` are deleted, finished deliveries past
    `delivery_targets_days` lose their address or chat id, unconfirmed sign-ups past 7 days go.
    Anonymous counts stay.
    """
    from bot.subscribers.retention import purge as run

    app = get_app(ctx)
    done = run(app.engine, app.settings.file.retention, app.clock())
    click.echo(
        f"Deleted {done.people} person(s) who left and {done.unconfirmed} unconfirmed sign-up(s); "
        f"blanked {done.targets} delivery target(s). Anonymous counts remain."
    )

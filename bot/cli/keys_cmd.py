"""`bot keys …`: the data key that seals subscribers' addresses and chat ids.

`new` prints a fresh key (for BOT_DATA_KEY), `status` says under which keys the stored values
are, and `rotate` seals everything again under a new key, in batches, while `bot run` runs.
"""

from __future__ import annotations

import click

from bot.cli import get_app


@click.group()
def keys() -> None:
    """The data key that seals addresses and chat ids: new, status, rotate."""


@keys.command("new")
def new() -> None:
    """Print a fresh data key (for BOT_DATA_KEY or a key file); nothing is changed."""
    from bot.store.sealing import new_key

    click.echo(new_key())


@keys.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Say which key seals, and how many stored values are under each key."""
    from bot.store.reseal import status as counts

    app = get_app(ctx)
    sealer = app.sealer
    where = sealer.file or "BOT_DATA_KEY"
    click.echo(
        f"sealing key {sealer.current} (from {where}); keys that open: {', '.join(sealer.keys)}"
    )
    with app.engine.connect() as conn:
        for column, found in counts(conn).items():
            parts = [
                f"{n} {'in clear' if kid == 'plain' else 'under ' + kid}"
                for kid, n in sorted(found.items())
            ]
            click.echo(f"{column}: {', '.join(parts) or 'nothing stored'}")


@keys.command("rotate")
@click.pass_context
def rotate(ctx: click.Context) -> None:
    """Seal every stored address and chat id again under a new key.

    With the key file (var/data-key): a new key is written above the old one, everything is
    sealed again in batches (safe to interrupt and run again, and while `bot run` runs), then
    the old key is dropped. With BOT_DATA_KEY: set the new key there and the old one in
    BOT_DATA_KEY_PREVIOUS first; remove BOT_DATA_KEY_PREVIOUS afterwards.
    """
    from bot.store.rotation import rotate as run

    app = get_app(ctx)
    for line in run(app.engine, app.sealer):
        click.echo(line)

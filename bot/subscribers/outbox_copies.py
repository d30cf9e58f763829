"""A person's copies in the outbox folder, found and removed when they are erased.

Without credentials (and in every rehearsal) the bot writes each email into a Maildir and each
Telegram message into a file named after the chat, under the outbox folder. Erasing a person
from the database must take those too: the files hold their address or chat id in clear.
Found two ways: the files their deliveries recorded, and, for email, every message in the
Maildir addressed to them (confirmation emails are not deliveries).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import getaddresses
from pathlib import Path

import sqlalchemy as sa

from bot.store.schema import deliveries

# Enough to hold any message's headers; the body is never read.
_HEAD_BYTES = 64 * 1024


def recorded(engine: sa.Engine, subscriber_id: int) -> list[Path]:
    """The outbox files this person's deliveries were written to (read before erasing them)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries.c.ids).where(
                deliveries.c.subscriber_id == subscriber_id, deliveries.c.via == "folder"
            )
        )
        return [Path(path) for row in rows for path in json.loads(row.ids or "[]")]


def _inside(path: Path, folder: Path) -> bool:
    return path.is_absolute() and path.resolve().is_relative_to(folder.resolve())


def _mails(folder: Path) -> Iterator[Path]:
    for part in ("new", "cur", "tmp"):
        if (folder / part).is_dir():
            yield from (p for p in (folder / part).iterdir() if p.is_file())


def _addressed_to(path: Path, address: str) -> bool:
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError:
        return False
    headers = BytesHeaderParser(policy=default).parsebytes(head)
    found = getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in headers.get_all(k, [])])
    return any(each.casefold() == address.casefold() for _, each in found)


def remove(outbox: Path, channel: str, address: str, files: list[Path]) -> int:
    """Delete the person's copies under `outbox`; how many. Files elsewhere are left alone."""
    found = {path for path in files if _inside(path, outbox)}
    if channel == "email":
        found.update(path for path in _mails(outbox / "email") if _addressed_to(path, address))
    elif channel == "telegram" and (outbox / "telegram").is_dir():
        # Named `<time>-<chat id>-<lang>-part<n>.txt` by the outbox folder.
        marker = f"-{address}-"
        found.update(p for p in (outbox / "telegram").iterdir() if marker in p.name)
    removed = 0
    for path in found:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed

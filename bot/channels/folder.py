"""The outbox folder: stands in for any channel without credentials.

Social posts are written as one file per part, emails into a Maildir, so staff can read
exactly what would have gone out, and the bot runs end to end on a machine with no accounts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from bot.channels.base import Payload, Progress, Rejected, TemporaryFailure

Clock = Callable[[], dt.datetime]
EmailRenderer = Callable[[Payload], bytes]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "post"


class FolderChannel:
    """Writes what a channel would send into `folder/<channel>/`."""

    name: ClassVar[str] = "folder"
    via: ClassVar[str] = "folder"

    def __init__(
        self,
        channel: str,
        folder: Path,
        clock: Clock,
        render_email: EmailRenderer | None = None,
        kind: str | None = None,
    ) -> None:
        self.channel = channel
        self.folder = folder / channel
        self.clock = clock
        self.render_email = render_email
        # The channel's folder format: "maildir" (one message per delivery), else a file
        # per part with this extension.
        if render_email is not None:
            kind = "maildir"
        elif kind is None:
            from bot.channels.registry import NAMES, spec

            kind = spec(channel).folder_format if channel in NAMES else "txt"
        self.kind = kind

    def __repr__(self) -> str:
        return f"FolderChannel({self.channel!r}, {str(self.folder)!r})"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Write each part not yet written; the ids are the files' paths."""
        ids = list(done)
        try:
            if self.kind == "maildir":
                if not done:
                    await progress.before(0)
                    ids.append(self._write_mail(payload))
                    await progress.after(0, ids[-1])
                return ids
            stamp = self.clock().strftime("%Y%m%d-%H%M%S")
            for index in range(len(done), len(payload.parts)):
                await progress.before(index)
                where = _safe(payload.target or self.channel)
                name = f"{stamp}-{where}-{payload.lang}-part{index + 1}"
                ids.append(self._write_file(f"{name}.{self.kind}", payload.parts[index]))
                await progress.after(index, ids[-1])
        except OSError as exc:
            # Disk full or no permission: nothing was written (files appear only when whole),
            # so the delivery is retried rather than left uncertain.
            raise TemporaryFailure(
                f"cannot write to {self.folder}: {exc.strerror} (nothing was written)"
            ) from None
        return ids

    def _write_file(self, name: str, text: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        number = 1
        while target.exists():
            number += 1
            target = self.folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
        _write_whole(self.folder, target, text.encode("utf-8"))
        return str(target)

    def _write_mail(self, payload: Payload) -> str:
        if self.render_email is None:
            raise Rejected("no email renderer configured for the outbox folder")
        data = self.render_email(payload)
        for part in ("tmp", "new", "cur"):
            (self.folder / part).mkdir(parents=True, exist_ok=True)
        # Maildir's own protocol, written here: mailbox.Maildir.add leaves the half-written
        # message in tmp/ when the disk fills up as it closes the file.
        stamp = int(self.clock().timestamp())
        target = self.folder / "new" / f"{stamp}.{uuid.uuid4().hex}.outbox"
        _write_whole(self.folder / "tmp", target, data)
        return str(target)

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Remove the written posts; an email, as with the real channel, cannot be recalled."""
        if self.kind == "maildir":
            raise Rejected(
                f"{self.channel} cannot be recalled once sent; send a correction instead"
            )
        # Only files this folder wrote. A post that went to the platform (its id is the
        # platform's, e.g. an X post id) is not here: "removing" a file of that name would do
        # nothing, yet the retraction would report the post deleted while it is still up.
        folder = self.folder.resolve()
        for path in ids:
            if not Path(path).is_absolute() or not Path(path).resolve().is_relative_to(folder):
                raise Rejected(
                    f"post {path} is on {self.channel}, not in the outbox folder {self.folder}; "
                    f"set the {self.channel} credentials and retract again"
                )
        for path in ids:
            Path(path).unlink(missing_ok=True)

    async def close(self) -> None:
        """Nothing to release."""


def _write_whole(aside: Path, target: Path, data: bytes) -> None:
    """Write `data` to a new file in `aside`, then rename it to `target`.

    A reader never sees half a post, and a failed write (a full disk) leaves no file at all.
    """
    handle, temporary = tempfile.mkstemp(dir=aside, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

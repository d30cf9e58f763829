"""A card as the outbox keeps it: a PNG in a file named by its sha256, and its alt text.

An edition's stored payload holds the card's hash, alt text, size and file, never the PNG
itself: a fan-out reads the payload once per delivery, and 100,000 emails must not drag an
image each through the database. The file is written once, before the publication that uses
it is committed, and never drawn again: a retry sends these bytes, checked against the hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import BotError

# Under the bot's home folder, beside the database and the outbox folder.
CARDS_DIR = Path("var") / "cards"


class CardError(BotError):
    """A card cannot be drawn, or its stored file is missing or altered."""


def card_path(home: Path, sha256: str) -> Path:
    """Where the card with this hash is kept."""
    return home / CARDS_DIR / f"{sha256}.png"


@dataclass(frozen=True)
class Card:
    """One card: what a channel attaches (`png()`, `alt`) and what the outbox stores."""

    sha256: str
    # Always present: a card is never published without it (see alt.py for the limits).
    alt: str
    width: int
    height: int
    size: int  # bytes of the PNG
    # The content-addressed file the PNG is kept in.
    path: str
    # Its public address on the web archive (for email, which links it); "" when unknown.
    url: str = ""
    # The PNG itself, when just drawn; a card read back from the outbox loads it from `path`.
    data: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, png: bytes, alt: str, width: int, height: int, home: Path, base_url: str) -> Card:
        """A freshly drawn card, to be kept under `home` and published under `base_url`."""
        sha = hashlib.sha256(png).hexdigest()
        url = f"{base_url}cards/{sha}.png" if base_url else ""
        return cls(sha, alt, width, height, len(png), str(card_path(home, sha)), url, png)

    def png(self) -> bytes:
        """The PNG bytes, checked against the hash; CardError when the file is gone or altered."""
        if self.data is not None:
            return self.data
        try:
            data = Path(self.path).read_bytes()
        except OSError as exc:
            raise CardError(
                f"the card {self.path} cannot be read ({exc.strerror or exc}); a card is never "
                "drawn again for a post decided with it: restore the file from a backup"
            ) from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise CardError(
                f"the card {self.path} was altered (its sha256 is not {self.sha256}); restore "
                "the original from a backup"
            )
        return data

    def save(self) -> None:
        """Write the PNG into its file once (atomically); a file already there is kept."""
        path = Path(self.path)
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == self.sha256:
            return  # content-addressed: the same name holds the same bytes
        if self.data is None:
            raise CardError(f"the card {self.path} is missing and its picture is not at hand")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".card-", suffix=".tmp")
        except OSError as exc:
            raise CardError(f"cannot keep the card in {path.parent}: {exc.strerror}") from None
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(self.data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise CardError(f"cannot keep the card {path}: {exc.strerror}") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def to_json(self) -> dict[str, Any]:
        """The stored form (without the PNG)."""
        return {
            "sha256": self.sha256,
            "alt": self.alt,
            "width": self.width,
            "height": self.height,
            "bytes": self.size,
            "file": self.path,
            "url": self.url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        """The card stored by `to_json`; its PNG is read from the file when asked for."""
        return cls(
            sha256=str(data["sha256"]),
            alt=str(data["alt"]),
            width=int(data["width"]),
            height=int(data["height"]),
            size=int(data["bytes"]),
            path=str(data["file"]),
            url=str(data.get("url") or ""),
        )

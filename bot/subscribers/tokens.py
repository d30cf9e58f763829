"""The secrets in subscribers' links, and the keyed hashes the web page counts with.

- A confirmation link carries 256 random bits; only their SHA-256 is stored, with an expiry
  (CONFIRM_DAYS), so the link says nothing (no number, no date) and a copy of the database
  confirms nobody.
- An unsubscribe link carries the subscriber's own random secret, signed with the web secret
  (itsdangerous). It must work for as long as the email it came in is read (RFC 8058), and
  every later email needs it again, so it cannot be a stored-once random value: the secret
  is kept, and without the web secret (kept out of the database) no link can be made from it.
  Links in every email already sent keep working.
- `Tokens.key(kind, value)` is a keyed hash (HMAC) for rate-limit keys and form tokens: the
  database holds no client address or subscriber address in clear for the limits.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.config.model import secret
from bot.config.settings import Settings
from bot.errors import BotError, ConfigError

CONFIRM_DAYS = 7
SECRET_ENV = "BOT_WEB_SECRET"
# token_urlsafe(48) is 64 characters; anything much shorter was cut off on its way to disk.
MIN_SECRET = 32
Clock = Callable[[], dt.datetime]
# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, nothing else.
_CONFIRM_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class BadToken(BotError):
    """A link whose token was altered, made up, or is for something else."""


def web_secret(settings: Settings) -> str:
    """BOT_WEB_SECRET, else a secret made once and kept in var/web-secret (readable by owner)."""
    found = secret(SECRET_ENV)
    if found:
        return found
    path = settings.home / "var" / "web-secret"
    if not path.exists():
        _create_secret(path)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET:
        raise ConfigError(
            f"{path} holds {len(value)} characters, too few for a secret (a disk that filled "
            f"up?); delete it to make a new one (links already sent stop working), or set "
            f"{SECRET_ENV}"
        )
    return value


def _create_secret(path: Path) -> None:
    """Write a new secret aside, then link it into place: whole or not at all, and only once.

    `os.link` fails if another process made the file first; that one's secret is kept.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(secrets.token_urlsafe(48))
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the web secret {path}: {exc.strerror} (nothing was written); "
            f"free some space or set {SECRET_ENV}"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()


def _signer(clock: Clock) -> type[TimestampSigner]:
    """itsdangerous reads the wall clock in its signer; ours comes from the bot's clock."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return ClockedSigner


class Tokens:
    """Signs and reads unsubscribe tokens; makes the keyed hashes of limits and forms."""

    def __init__(self, key: str, clock: Clock) -> None:
        signer = _signer(clock)
        self._key = key.encode("utf-8")
        self._unsubscribe = URLSafeTimedSerializer(key, salt="unsubscribe", signer=signer)

    def __repr__(self) -> str:
        return "Tokens(key=****)"

    def unsubscribe(self, subscriber_token: str) -> str:
        """The token of an unsubscribe link for the subscriber with this stored token."""
        return str(self._unsubscribe.dumps(subscriber_token))

    def read_unsubscribe(self, token: str) -> str:
        """The stored subscriber token an unsubscribe token carries; BadToken otherwise."""
        try:
            value = self._unsubscribe.loads(token)
        except BadSignature:
            raise BadToken("this link is not valid") from None
        if not isinstance(value, str):
            raise BadToken("this link is not valid")
        return value

    def key(self, kind: str, value: str) -> str:
        """A keyed hash of `value` for purpose `kind` (32 hex digits): the same in every
        process that shares the web secret, meaningless without it."""
        mac = hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def form_token(self, cookie: str) -> str:
        """The anti-forgery token that goes with this browser's cookie."""
        mac = hmac.new(self._key, f"csrf\0{cookie}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def new_confirm_token() -> str:
    """A confirmation link's secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a confirmation token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_confirm_token(token: str) -> bool:
    """Whether `token` has the shape of a confirmation token (checked before any look-up)."""
    return _CONFIRM_SHAPE.fullmatch(token) is not None


def tokens_for(settings: Settings, clock: Clock) -> Tokens:
    """Tokens signed with the web secret of these settings."""
    return Tokens(web_secret(settings), clock)

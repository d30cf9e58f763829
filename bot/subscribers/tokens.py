"""Signed tokens for subscribers' links: confirm (expiring) and unsubscribe (lasting).

The unsubscribe link must keep working for as long as the email it came in is read (RFC 8058),
so it does not expire; it is signed, so a token cannot be made up or altered. The confirmation
link expires after CONFIRM_DAYS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.config.model import secret
from bot.config.settings import Settings
from bot.errors import BotError, ConfigError

CONFIRM_DAYS = 7
SECRET_ENV = "BOT_WEB_SECRET"
# token_urlsafe(48) is 64 characters; anything much shorter was cut off on its way to disk.
MIN_SECRET = 32
Clock = Callable[[], dt.datetime]


class BadToken(BotError):
    """A link whose token was altered, made up, or is for something else."""


class ExpiredToken(BotError):
    """A confirmation link older than CONFIRM_DAYS."""


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
    """Makes and reads the tokens in subscribers' links."""

    def __init__(self, key: str, clock: Clock) -> None:
        signer = _signer(clock)
        self._confirm = URLSafeTimedSerializer(key, salt="confirm-subscription", signer=signer)
        self._unsubscribe = URLSafeTimedSerializer(key, salt="unsubscribe", signer=signer)

    def __repr__(self) -> str:
        return "Tokens(key=****)"

    def confirm(self, subscriber_id: int) -> str:
        """The token of a confirmation link."""
        return str(self._confirm.dumps(subscriber_id))

    def read_confirm(self, token: str) -> int:
        """The subscriber a confirmation token names; BadToken or ExpiredToken otherwise."""
        try:
            value = self._confirm.loads(token, max_age=CONFIRM_DAYS * 86400)
        except SignatureExpired:
            raise ExpiredToken("this confirmation link has expired") from None
        except BadSignature:
            raise BadToken("this link is not valid") from None
        if not isinstance(value, int):
            raise BadToken("this link is not valid")
        return value

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


def tokens_for(settings: Settings, clock: Clock) -> Tokens:
    """Tokens signed with the web secret of these settings."""
    return Tokens(web_secret(settings), clock)

"""Subscriber addresses and chat ids sealed at rest, found again by a keyed hash.

A copy of the database (a backup, a stolen disk) must not be a list of people. Every address or
chat id is stored sealed with AES-GCM under the data key, and looked up through an HMAC of it
under a key derived from the same data key, so equality can be tested without the text and the
database alone reveals neither. A sealed value names its key (`s1.KEYID.DATA`), so a rotation
can re-seal row by row while both keys read (`bot keys rotate`).

The key comes from BOT_DATA_KEY (or the file BOT_DATA_KEY_FILE names): 32 random bytes in
URL-safe base64. The embedded default keeps one in `var/data-key` (0600), made on first run. A
database that holds sealed values and no key to open them is an error that says so; nothing
ever falls back to plain text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import ConfigError

KEY_ENV = "BOT_DATA_KEY"
PREVIOUS_ENV = "BOT_DATA_KEY_PREVIOUS"
KEY_FILE_NAME = "data-key"
PREFIX = "s1"
KEY_BYTES = 32
NONCE_BYTES = 12
# Lookup hashes are 32 hex digits: 128 bits, enough for uniqueness among any list of people.
LOOKUP_HEX = 32


def new_key() -> str:
    """A fresh data key, as it is written to a file or an environment variable."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, where: str) -> bytes:
    """The 32 bytes of a key written as URL-safe base64; `where` names its source in errors."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"{where} is not a data key: it must be {KEY_BYTES} random bytes in URL-safe base64 "
            "(make one with `bot keys new`)"
        )
    return raw


class Sealer:
    """Seals and opens values under a key ring: the first key seals, every key opens."""

    def __init__(
        self, keys: Iterable[bytes], *, file: Path | None = None, extra: Iterable[bytes] = ()
    ) -> None:
        self._extra = list(extra)
        self._load(list(keys) + self._extra)
        # The key file this ring was read from: re-read when it changes, so a running `bot run`
        # seals under the new key as soon as `bot keys rotate` writes it.
        self._file = file
        self._stamp = _stamp(file)

    def _load(self, keys: Iterable[bytes]) -> None:
        ring = list(dict.fromkeys(keys))
        if not ring:
            raise ConfigError("no data key: set BOT_DATA_KEY or BOT_DATA_KEY_FILE")
        self._keys = {_key_id(key): AESGCM(key) for key in ring}
        self._current = _key_id(ring[0])
        self._lookup_keys = [_derive(key, b"lookup") for key in ring]

    def refresh(self) -> None:
        """Read the key file again now (a rotation changed it)."""
        self._stamp = None
        self._refresh()

    def _refresh(self) -> None:
        stamp = _stamp(self._file)
        if self._file is None or stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        self._load(_read_key_file(self._file) + self._extra)

    def __repr__(self) -> str:
        return f"Sealer(current={self._current}, keys={len(self._keys)}, secret=***)"

    @property
    def file(self) -> Path | None:
        """The key file this ring is read from (None: the keys came from the environment)."""
        return self._file

    @property
    def keys(self) -> list[str]:
        """The ids of the ring's keys, the sealing one first."""
        return list(self._keys)

    @property
    def current(self) -> str:
        """The id of the key that seals (a hash of it: safe to show)."""
        return self._current

    def seal(self, text: str) -> str:
        """`text` sealed under the current key, with a fresh nonce."""
        self._refresh()
        nonce = secrets.token_bytes(NONCE_BYTES)
        data = self._keys[self._current].encrypt(nonce, text.encode(), _aad(self._current))
        return f"{PREFIX}.{self._current}.{base64.urlsafe_b64encode(nonce + data).decode()}"

    def open(self, sealed: str) -> str:
        """The text of a sealed value; a ConfigError when no key of the ring opens it."""
        kid = key_of(sealed)
        if kid is None:
            raise ConfigError("a stored value is not sealed: run `bot keys rotate` to seal it")
        if kid not in self._keys:
            self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise ConfigError(
                f"a stored value is sealed under key {kid}, which is not among the data keys "
                f"({', '.join(self._keys)}): set {PREVIOUS_ENV} to the key it was sealed with"
            )
        try:
            raw = base64.urlsafe_b64decode(sealed.split(".", 2)[2].encode())
            plain = key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid))
        except Exception as exc:  # InvalidTag: altered data, never a wrong guess of ours
            raise ConfigError(f"a stored value sealed under key {kid} was altered") from exc
        return plain.decode()

    def lookup(self, text: str) -> str:
        """The keyed hash under which `text` is stored (current key)."""
        return _lookup(self._lookup_keys[0], text)

    def lookups(self, text: str) -> list[str]:
        """Its keyed hash under every key of the ring: what a row may hold during a rotation."""
        self._refresh()
        return [_lookup(key, text) for key in self._lookup_keys]

    def is_current(self, sealed: str | None) -> bool:
        """Whether a stored value is sealed under the current key (nothing to rotate)."""
        return sealed is None or key_of(sealed) == self._current


def key_of(value: str) -> str | None:
    """The key id a sealed value names, or None for a value that is not sealed."""
    parts = value.split(".", 2)
    if len(parts) == 3 and parts[0] == PREFIX and len(parts[1]) == 8:
        return parts[1]
    return None


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"spring-bot key id\0" + key).hexdigest()[:8]


def _derive(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, b"spring-bot\0" + purpose, hashlib.sha256).digest()


def _aad(kid: str) -> bytes:
    return f"{PREFIX}.{kid}".encode()


def _lookup(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:LOOKUP_HEX]


def _from_env(env: Mapping[str, str], name: str) -> bytes | None:
    """A key from NAME or the file NAME_FILE names; None when neither is set."""
    if env.get(name):
        return parse_key(env[name], name)
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}_FILE={path}: cannot read it ({exc})") from exc
    return parse_key(text, f"{name}_FILE={path}")


def key_file(var: Path) -> Path:
    """Where the embedded default keeps its data key."""
    return var / KEY_FILE_NAME


def load_sealer(env: Mapping[str, str], var: Path, *, create: bool = True) -> Sealer:
    """The data keys from the environment, else `var/data-key` (made, 0600, when `create`).

    `var/data-key` holds one key per line, the sealing one first; a rotation writes the new key
    above the old one and drops the old one when every row is sealed again.
    """
    current = _from_env(env, KEY_ENV)
    previous = _from_env(env, PREVIOUS_ENV)
    if current is not None:
        return Sealer([current] + ([previous] if previous else []))
    path = key_file(var)
    if not path.exists():
        if not create:
            raise ConfigError(
                f"no data key: set {KEY_ENV} or {KEY_ENV}_FILE, or restore {path} "
                "(kept apart from the database's backups)"
            )
        write_key_file(path, [new_key()])
    return Sealer(_read_key_file(path), file=path, extra=[previous] if previous else [])


def _read_key_file(path: Path) -> list[bytes]:
    try:
        lines = [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the data key ({exc})") from exc
    return [parse_key(line, f"{path} line {n}") for n, line in enumerate(lines, 1)]


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        return None if path is None else (path.stat().st_mtime_ns, path.stat().st_ino)
    except OSError:
        return None


def write_key_file(path: Path, keys: list[str]) -> None:
    """Write the key file whole (0600, through a temporary file), or leave the old one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# The sealer of each open database, found from the dialect every statement runs with, so that
# the column types below seal and open without each query carrying the key. A database opened
# without a sealer refuses to write or read a sealed value (no plain-text fallback).
_SEALERS: weakref.WeakKeyDictionary[Any, Sealer] = weakref.WeakKeyDictionary()


def bind(engine: sa.Engine, sealer: Sealer) -> None:
    """Seal and open this database's sealed columns with `sealer`."""
    _SEALERS[engine.dialect] = sealer


def sealer_of(where: sa.Engine | sa.Connection | Any) -> Sealer:
    """The sealer bound to an engine, a connection or a dialect; a ConfigError when none is."""
    dialect = getattr(where, "dialect", where)
    sealer = _SEALERS.get(dialect)
    if sealer is None:
        raise ConfigError(
            "the database was opened without a data key: subscriber addresses cannot be read "
            "or written"
        )
    return sealer


class Sealed(sa.types.TypeDecorator[str]):
    """A column whose text is stored sealed: written sealed, read opened.

    Compare such a column with a plain value and nothing matches (every seal has a fresh
    nonce): find rows by their lookup hash instead (`Sealer.lookups`).
    """

    impl = sa.String(600)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else sealer_of(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else sealer_of(dialect).open(value)


class OpenedWhenSealed(sa.types.TypeDecorator[str]):
    """A column holding sealed and public values side by side (a delivery's target).

    A subscriber's delivery copies the sealed address inside the database; a broadcast target
    (an account, a channel) is public and stays plain. Reading opens what is sealed; writing
    stores the value as given.
    """

    impl = sa.String(600)
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or key_of(value) is None:
            return value
        return sealer_of(dialect).open(value)


def lookup_of(column: str) -> Any:
    """A column default: the lookup hash of the plain value written to `column` in the row."""

    def default(context: Any) -> str:
        plain = context.get_current_parameters()[column]
        return sealer_of(context.dialect).lookup(plain)

    return default

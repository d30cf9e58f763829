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
from collections.abc import Iterable, Mapping
from pathlib import Path

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

    def __init__(self, keys: Iterable[bytes]) -> None:
        ring = list(dict.fromkeys(keys))
        if not ring:
            raise ConfigError("no data key: set BOT_DATA_KEY or BOT_DATA_KEY_FILE")
        self._keys = {_key_id(key): key for key in ring}
        self._current = _key_id(ring[0])
        self._lookup_keys = [_derive(key, b"lookup") for key in ring]

    def __repr__(self) -> str:
        return f"Sealer(current={self._current}, keys={len(self._keys)}, secret=***)"

    @property
    def current(self) -> str:
        """The id of the key that seals (a hash of it: safe to show)."""
        return self._current

    def seal(self, text: str) -> str:
        """`text` sealed under the current key, with a fresh nonce."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        data = AESGCM(self._keys[self._current]).encrypt(nonce, text.encode(), _aad(self._current))
        return f"{PREFIX}.{self._current}.{base64.urlsafe_b64encode(nonce + data).decode()}"

    def open(self, sealed: str) -> str:
        """The text of a sealed value; a ConfigError when no key of the ring opens it."""
        kid = key_of(sealed)
        if kid is None:
            raise ConfigError("a stored value is not sealed: run `bot keys rotate` to seal it")
        key = self._keys.get(kid)
        if key is None:
            raise ConfigError(
                f"a stored value is sealed under key {kid}, which is not among the data keys "
                f"({', '.join(self._keys)}): set {PREVIOUS_ENV} to the key it was sealed with"
            )
        raw = base64.urlsafe_b64decode(sealed.split(".", 2)[2].encode())
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid))
        except Exception as exc:  # InvalidTag: altered data, never a wrong guess of ours
            raise ConfigError(f"a stored value sealed under key {kid} was altered") from exc
        return plain.decode()

    def lookup(self, text: str) -> str:
        """The keyed hash under which `text` is stored (current key)."""
        return _lookup(self._lookup_keys[0], text)

    def lookups(self, text: str) -> list[str]:
        """Its keyed hash under every key of the ring: what a row may hold during a rotation."""
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
    try:
        lines = [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the data key ({exc})") from exc
    keys = [parse_key(line, f"{path} line {n}") for n, line in enumerate(lines, 1)]
    return Sealer(keys + ([previous] if previous else []))


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

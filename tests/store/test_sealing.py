"""Addresses sealed at rest: what a copy of the database, or a wrong key, can and cannot do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.store.sealing import Sealer, key_file, key_of, load_sealer, new_key, parse_key


def _sealer(*keys: str) -> Sealer:
    return Sealer([parse_key(key, "test") for key in keys])


def test_a_sealed_address_reads_back_and_does_not_contain_it() -> None:
    sealer = _sealer(new_key())
    sealed = sealer.seal("ma.thida@example.org")
    assert "thida" not in sealed and "example" not in sealed
    assert sealer.open(sealed) == "ma.thida@example.org"
    # A fresh nonce each time: two subscribers with one address would not look alike.
    assert sealer.seal("ma.thida@example.org") != sealed


def test_the_lookup_hash_finds_the_same_address_only_with_the_key() -> None:
    key = new_key()
    one, same, other = _sealer(key), _sealer(key), _sealer(new_key())
    assert one.lookup("123456789") == same.lookup("123456789")
    assert one.lookup("123456789") != one.lookup("123456780")
    # Without the key, nobody can hash a guessed address and match it.
    assert one.lookup("123456789") != other.lookup("123456789")


def test_an_altered_or_foreign_value_is_refused_never_returned() -> None:
    key = new_key()
    sealer = _sealer(key)
    sealed = sealer.seal("someone@example.org")
    body = sealed.rsplit(".", 1)
    tampered = body[0] + "." + ("A" if body[1][0] != "A" else "B") + body[1][1:]
    with pytest.raises(ConfigError, match="altered"):
        sealer.open(tampered)
    with pytest.raises(ConfigError, match="not among the data keys"):
        _sealer(new_key()).open(sealed)
    with pytest.raises(ConfigError, match="not sealed"):
        sealer.open("someone@example.org")


def test_a_ring_opens_old_values_and_seals_under_the_new_key() -> None:
    old, new = new_key(), new_key()
    sealed_old = _sealer(old).seal("a@example.org")
    ring = _sealer(new, old)
    assert ring.open(sealed_old) == "a@example.org"
    assert not ring.is_current(sealed_old)
    resealed = ring.seal("a@example.org")
    assert ring.is_current(resealed) and key_of(resealed) == ring.current
    assert _sealer(old).lookup("a@example.org") in ring.lookups("a@example.org")


def test_the_default_key_file_is_made_private_once_and_reused(tmp_path: Path) -> None:
    os.umask(0o022)
    try:
        first = load_sealer({}, tmp_path / "var")
    finally:
        os.umask(0o022)
    path = key_file(tmp_path / "var")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_sealer({}, tmp_path / "var")
    assert again.open(first.seal("x@example.org")) == "x@example.org"


def test_a_missing_key_is_an_error_never_plain_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no data key: set BOT_DATA_KEY"):
        load_sealer({}, tmp_path / "var", create=False)


def test_keys_from_the_environment_and_bad_ones_named(tmp_path: Path) -> None:
    key = new_key()
    file = tmp_path / "key"
    file.write_text(key + "\n")
    from_env = load_sealer({"BOT_DATA_KEY": key}, tmp_path / "var")
    from_file = load_sealer({"BOT_DATA_KEY_FILE": str(file)}, tmp_path / "var")
    assert from_file.open(from_env.seal("b@example.org")) == "b@example.org"
    assert not key_file(tmp_path / "var").exists()  # the environment's key is not copied
    with pytest.raises(ConfigError, match="BOT_DATA_KEY is not a data key"):
        load_sealer({"BOT_DATA_KEY": "short"}, tmp_path / "var")
    assert key not in repr(from_env)

"""What the bot writes is its account's alone, whatever the umask (issue 15, data at rest).

`var/bot.sqlite3`, its -wal and -shm, the outbox folder, exports and the web secret used to
be 0644 in a 0755 `var/` under the usual umask 022: readable by every account on the machine.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.db import open_database
from bot.store.sealing import Sealer, bind, new_key, parse_key
from bot.subscribers import store
from tests.conftest import FIXED_NOW, Cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask, 022, for the test; restored after (`bot` itself sets 077)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_sqlite_database_and_its_companions_are_0600(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "var" / "bot.sqlite3"
    engine = open_database(f"sqlite:///{path}")
    bind(engine, Sealer([parse_key(new_key(), "test")]))
    try:
        with engine.begin():
            store.add(
                engine, "email", "a@example.org", "en", store.TOPICS, FIXED_NOW, confirmed=True
            )
            # An open connection keeps the -wal and -shm files in place to look at.
            with engine.connect() as reader:
                reader.execute(sa.text("SELECT 1"))
                sides = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
                assert all(side.exists() for side in sides)
                assert {mode(side) for side in sides} == {0o600}
    finally:
        engine.dispose()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_a_database_left_readable_is_tightened_on_open(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    path = folder / "bot.sqlite3"
    open_database(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o644)
    open_database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
    # An existing folder given by the operator keeps its mode: it may be shared on purpose.
    assert mode(folder) == 0o755


def test_everything_bot_writes_under_var_is_private(
    cli: Cli, home: Path, tmp_path: Path, loose_umask: None
) -> None:
    var = home / "var"
    var.mkdir(mode=0o755, exist_ok=True)
    os.chmod(var, 0o755)
    cli.env["BOT_DATABASE_URL"] = f"sqlite:///{var / 'bot.sqlite3'}"
    for name in ("BOT_TELEGRAM_TOKEN", "BOT_SMTP_HOST", "BOT_X_CONSUMER_KEY"):
        cli.env[name] = ""
    people = tmp_path / "people.csv"
    people.write_text("email,lang\nperson@example.org,en\n", encoding="utf-8")
    assert cli("subscribers", "import", str(people), "--confirmed").exit_code == 0
    stored = cli("figures", "import", str(Path("config/sample-figures.csv").resolve()))
    assert stored.exit_code == 0, stored.output
    posted = cli("post-now", "daily-briefing", "--on", "2024-02-01", "--yes")
    assert "outbox" in posted.output, posted.output
    exported = cli("subscribers", "export", str(var / "export.csv"))
    assert exported.exit_code == 0, exported.output

    folders = [var, *(p for p in var.rglob("*") if p.is_dir())]
    files = [p for p in var.rglob("*") if p.is_file()]
    assert len(files) >= 4 and any("outbox" in str(p) for p in files)
    assert {str(p): mode(p) for p in folders} == {str(p): 0o700 for p in folders}
    assert {str(p): mode(p) for p in files} == {str(p): 0o600 for p in files}

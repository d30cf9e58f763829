"""Two `bot run` processes on one database: one is active, the other waits and takes over.

On SQLite both share one home (and so one outbox folder and one web port); on PostgreSQL each
has its own home folder sharing the database, so the outbox folder shows which one published.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import control
from tests.conftest import postgres_schema
from tests.peers.ports import free_port
from tests.schedule.test_daemon_support import (
    AFTER_ANNIVERSARY,
    ANNIVERSARY_KEY,
    Daemon,
    bot_env,
    history,
    import_sample_figures,
    make_home,
    outbox_files,
)

pytestmark = pytest.mark.timeout(60)

# A standby tries the lease every 15 s (STANDBY_SECONDS): it takes over within that, plus start-up.
TAKEOVER_TIMEOUT = 30.0


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, URL): a SQLite file, or a schema of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    with postgres_schema() as url:
        yield "postgres", url


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts; whatever is still running at the end is killed."""
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for daemon in started:
            daemon.kill()


def _last_tick(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        tick = control.last_tick(engine)
    finally:
        engine.dispose()
    return tick.isoformat() if tick else None


def _one_set(files: set[str]) -> None:
    """The files of one publication: each channel, language and part once, no repeats."""
    assert files, "nothing in the outbox"
    parts = [re.sub(r"^(\w+)/\d{8}-\d{6}-", r"\1/", name) for name in files]
    assert not any(re.search(r"-part\d+-\d+\.", p) for p in parts), sorted(files)
    assert len(set(parts)) == len(parts), sorted(files)
    assert sorted(p for p in parts if p.startswith("telegram/")) == [
        "telegram/aapp_burma-en-part1.html",
        "telegram/aapp_burma-my-part1.html",
    ], sorted(files)
    assert {p.split("-")[1] for p in parts if p.startswith("x/")} == {"en", "my"}, sorted(files)


def test_two_daemons_publish_once_and_the_standby_takes_over(
    database: tuple[str, str], tmp_path: Path, daemons: list[Daemon]
) -> None:
    kind, url = database
    port_a = free_port()
    home_a = make_home(tmp_path / "home-a", port_a)
    if kind == "postgres":
        port_b = free_port()
        while port_b == port_a:
            port_b = free_port()
        home_b = make_home(tmp_path / "home-b", port_b)
    else:
        home_b, port_b = home_a, port_a
    env_a = bot_env(home_a, url, AFTER_ANNIVERSARY)
    env_b = bot_env(home_b, url, AFTER_ANNIVERSARY)
    import_sample_figures(env_a)

    a = Daemon("A", env_a)
    daemons.append(a)
    a.expect("Active")
    b = Daemon("B", env_b)
    daemons.append(b)
    b.expect("Standby")
    a.expect(f"{ANNIVERSARY_KEY}: publication #1")
    assert not any("Active" in line for line in b.output), b.transcript()

    lines = history(env_a)
    assert len(lines) == 1 and ANNIVERSARY_KEY in lines[0], lines
    published = outbox_files(home_a)
    _one_set(published)
    if kind == "postgres":
        assert outbox_files(home_b) == set(), "B wrote into its outbox while on standby"
    health = a.get(port_a, "/health").json()
    assert health["running"] is True and health["ok"] is True, health

    assert a.stop(signal.SIGTERM) == 0, a.transcript()
    assert "Stopped." in a.output, a.transcript()
    before = _last_tick(url)
    assert before is not None

    b.expect("Active", timeout=TAKEOVER_TIMEOUT)
    b.expect("Web page: http://127.0.0.1:")
    # B's first tick is over when /health shows a last tick other than A's.
    for _ in range(50):
        health = b.get(port_b, "/health").json()
        if health["last_tick"] != before:
            break
        b.pump(0.2)
    else:
        raise AssertionError(f"B never ticked after taking over\n{b.transcript()}")
    assert health["running"] is True and health["ok"] is True, health

    assert b.stop(signal.SIGTERM) == 0, b.transcript()
    assert "Stopped." in b.output, b.transcript()
    assert not any("publication #" in line for line in b.output), b.transcript()
    lines = history(env_b)
    assert len(lines) == 1 and ANNIVERSARY_KEY in lines[0], lines
    assert outbox_files(home_a) == published
    if kind == "postgres":
        assert outbox_files(home_b) == set(), "B published again after taking over"
    for daemon in (a, b):
        assert not any("Traceback" in line for line in daemon.output), daemon.transcript()


def _active_and_standby(
    tmp_path: Path, daemons: list[Daemon]
) -> tuple[Daemon, Daemon, dict[str, str], Path, int]:
    """A publishes the anniversary on a SQLite file; B, on the same home, waits."""
    port = free_port()
    home = make_home(tmp_path / "home", port)
    env = bot_env(home, f"sqlite:///{tmp_path / 'shared.sqlite3'}", AFTER_ANNIVERSARY)
    import_sample_figures(env)
    a = Daemon("A", env)
    daemons.append(a)
    a.expect(f"{ANNIVERSARY_KEY}: publication #1")
    b = Daemon("B", env)
    daemons.append(b)
    b.expect("Standby")
    return a, b, env, home, port


def test_a_standby_stops_at_once_on_sigterm(tmp_path: Path, daemons: list[Daemon]) -> None:
    a, b, _, _, port = _active_and_standby(tmp_path, daemons)
    assert b.stop(signal.SIGTERM, timeout=5) == 0, b.transcript()
    assert not any("Traceback" in line for line in b.output), b.transcript()
    health = a.get(port, "/health").json()
    assert health["running"] is True and health["ok"] is True, health
    assert a.stop(signal.SIGTERM) == 0, a.transcript()


def test_the_standby_takes_over_from_a_killed_daemon_without_publishing_again(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    a, b, env, home, port = _active_and_standby(tmp_path, daemons)
    published = outbox_files(home)
    _one_set(published)
    a.proc.kill()  # no chance to release the lease: B sees that its owner's process is gone
    a.wait_end(why="after SIGKILL")
    before = _last_tick(f"sqlite:///{tmp_path / 'shared.sqlite3'}")

    b.expect("Active", timeout=TAKEOVER_TIMEOUT)
    for _ in range(50):
        health = b.get(port, "/health").json()
        if health["last_tick"] != before:
            break
        b.pump(0.2)
    else:
        raise AssertionError(f"B never ticked after taking over\n{b.transcript()}")
    assert health["ok"] is True, health

    assert b.stop(signal.SIGTERM) == 0, b.transcript()
    assert not any("publication #" in line for line in b.output), b.transcript()
    assert outbox_files(home) == published
    lines = history(env)
    assert len(lines) == 1 and ANNIVERSARY_KEY in lines[0], lines

"""`bot run` as a real process on the embedded defaults: SQLite in the home, no credentials.

The clock starts five seconds after the third anniversary was due (BOT_CLOCK_START), so the
daemon's first tick publishes it, into the outbox folder (a rehearsal never reaches a platform).
"""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.ports import free_port
from tests.schedule.test_daemon_support import (
    AFTER_ANNIVERSARY,
    ANNIVERSARY_KEY,
    Daemon,
    bot,
    bot_env,
    history,
    import_sample_figures,
    outbox_files,
    set_web_port,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts; whatever is still running at the end is killed."""
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for daemon in started:
            daemon.kill()


@pytest.fixture
def port(home: Path) -> int:
    """A free port, written into the home's config/bot.toml [web]."""
    chosen = free_port()
    set_web_port(home, chosen)
    return chosen


@pytest.fixture
def env(home: Path, port: int) -> dict[str, str]:
    """The embedded defaults (no BOT_DATABASE_URL) with the sample figures imported."""
    env = bot_env(home, database_url=None, clock_start=AFTER_ANNIVERSARY)
    import_sample_figures(env)
    assert (home / "var" / "bot.sqlite3").is_file()
    return env


def _lang(name: str) -> str:
    found = re.search(r"-(en|my)-part\d+(-\d+)?\.(txt|html)$", name)
    assert found, name
    return found.group(1)


def _start_and_publish(daemons: list[Daemon], env: dict[str, str], name: str) -> Daemon:
    daemon = Daemon(name, env)
    daemons.append(daemon)
    daemon.expect("Rehearsal (BOT_CLOCK_START)")
    daemon.expect("Active")
    daemon.expect("daily-briefing")  # the schedule of the next days
    daemon.expect("Web page: http://127.0.0.1:")
    daemon.expect(f"{ANNIVERSARY_KEY}: publication #1")
    return daemon


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_publishes_the_due_anniversary_serves_the_page_and_stops_on_a_signal(
    home: Path, port: int, env: dict[str, str], daemons: list[Daemon], sig: signal.Signals
) -> None:
    daemon = _start_and_publish(daemons, env, "bot run")

    files = outbox_files(home)
    x_parts = sorted(f for f in files if f.startswith("x/") and f.endswith(".txt"))
    telegram = sorted(f for f in files if f.startswith("telegram/") and f.endswith(".html"))
    assert {_lang(p) for p in x_parts} == {"en", "my"}, files  # a thread per language
    assert sorted(_lang(p) for p in telegram) == ["en", "my"], files  # a post per language
    texts = {f: (home / "var" / "outbox" / f).read_text(encoding="utf-8") for f in files}
    assert any("(25931)" in text for name, text in texts.items() if name.startswith("x/"))
    assert any("(25931)" in text for name, text in texts.items() if name.startswith("telegram/"))
    assert any("(၂၅၉၃၁)" in text for text in texts.values())

    page = daemon.get(port, "/")
    assert page.status == 200 and page.content_type == "text/html"
    assert "Assistance Association for Political Prisoners" in page.body
    assert "arrested" in page.body and "25,931" in page.body

    health = daemon.get(port, "/health")
    assert health.status == 200 and health.content_type == "application/json"
    found = health.json()
    assert found["ok"] is True and found["running"] is True, found
    assert found["last_tick"] is not None and found["problems"] == [], found

    status = daemon.stop(sig, timeout=10)
    assert "Stopped." in daemon.output, daemon.transcript()
    assert status == 0, daemon.transcript()
    assert not any("Traceback" in line for line in daemon.output), daemon.transcript()
    assert next(line for line in history(env) if ANNIVERSARY_KEY in line).startswith("#1 ")
    # The lease went with it: staff see that no scheduler runs.
    assert "scheduler: not running" in bot(env, "status").stdout


def test_a_second_start_does_not_publish_the_anniversary_again(
    home: Path, port: int, env: dict[str, str], daemons: list[Daemon]
) -> None:
    first = _start_and_publish(daemons, env, "first bot run")
    first_tick = first.get(port, "/health").json()["last_tick"]
    assert first.stop(signal.SIGTERM) == 0, first.transcript()
    published = outbox_files(home)
    assert published

    second = Daemon("second bot run", env)
    daemons.append(second)
    second.expect("Active")
    second.expect("Web page: http://127.0.0.1:")
    # Its first tick is over when /health shows a last tick other than the first run's.
    for _ in range(50):
        health = second.get(port, "/health").json()
        if health["last_tick"] != first_tick:
            break
        second.pump(0.2)
    else:
        raise AssertionError(f"the second run never ticked\n{second.transcript()}")
    assert health["ok"] is True, health

    assert second.stop(signal.SIGTERM) == 0, second.transcript()
    assert "Stopped." in second.output
    assert not any("publication #" in line for line in second.output), second.transcript()
    assert outbox_files(home) == published
    lines = history(env)
    assert len(lines) == 1 and ANNIVERSARY_KEY in lines[0], lines


def test_a_taken_web_port_is_an_error_message_not_a_traceback(
    home: Path, port: int, env: dict[str, str], daemons: list[Daemon]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        daemon = Daemon("bot run", env)
        daemons.append(daemon)
        status = daemon.wait_end(timeout=20, why="with its web port taken")
    assert any(str(port) in line for line in daemon.output), daemon.transcript()
    assert not any("Traceback" in line for line in daemon.output), daemon.transcript()
    assert status == 1, daemon.transcript()  # a BotError's status: a message, never a traceback
    assert "scheduler: not running" in bot(env, "status").stdout

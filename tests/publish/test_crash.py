"""A sender killed (SIGKILL) in the middle of a fan-out: nobody gets two copies, nothing is lost.

The SMTP peer kills the `bot` process from its DATA handler when message number k arrives,
before answering it: that message reached the server, but the bot could not know. The next run
must mark exactly the deliveries that were in flight `unknown`, never re-send them, and send
everything else exactly once.

k is drawn from a seed printed with each run; BOT_TEST_CRASH_SEED=… repeats a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.peers.smtp_server import Received, SmtpPeer
from tests.publish.helpers import (
    add_subscribers,
    bot_command,
    bot_env,
    crash_seed,
    delivery_rows,
    point_at_peers,
    set_toml,
)

SUBSCRIBERS = 500
TIMEOUT = 50  # seconds for each run of the bot (they take a few), within pytest's 120
POST = ("post-now", "daily-briefing", "--channels", "email", "--on", "2024-02-01", "--yes")


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def seed() -> int:
    return crash_seed()


def _crash_then_recover(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, seed: int, connections: int
) -> tuple[str, str, str]:
    """Run post-now until the peer kills it at message k, then `bot deliveries send`.

    Returns the in-flight recipient (whose data the server got), a description of the run for
    failure messages, and the second run's output.
    """
    enter_seed(app)
    people = add_subscribers(app.engine, ["en"] * 400 + ["my"] * 100)
    assert len(people) == SUBSCRIBERS
    secrets = point_at_peers(home, smtp=smtp)
    set_toml(home, "channels.email", connections=connections)
    env = bot_env(home, db_url, secrets)

    k = random.Random(seed).randint(50, 450)
    started = threading.Event()
    pid: list[int] = []
    in_flight: list[Received] = []

    def kill(got: Received) -> None:
        assert started.wait(10)
        in_flight.append(got)
        os.kill(pid[0], signal.SIGKILL)

    smtp.on_message(k, kill)
    first = subprocess.Popen(
        bot_command(*POST),
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pid.append(first.pid)
    started.set()
    try:
        output, _ = first.communicate(timeout=TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    context = f"seed {seed}, k={k}, connections={connections}\n{output[-3000:]}"
    assert first.returncode == -signal.SIGKILL, context
    [got] = in_flight
    [killed_for] = got.rcpt_tos
    assert len(smtp.messages) >= k, context

    # Before the next run: the in-flight delivery is still `sending`, nothing else is lost.
    states = Counter(row.state for row in delivery_rows(app.engine))
    assert states["sending"] >= 1 and states["sending"] <= connections, (states, context)
    assert states["sent"] + states["sending"] + states["pending"] == SUBSCRIBERS, context

    second = subprocess.run(
        bot_command("deliveries", "send"),
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
    )
    # Status 1: the delivery that was in flight awaits a person's check (it is `unknown`).
    assert second.returncode == 1, f"{context}\n{second.stdout[-3000:]}"
    for person in people:
        assert person.email not in second.stdout  # masked in every line
    return killed_for, f"{context}\n{second.stdout[-3000:]}", second.stdout


def test_sigkill_mid_fan_out_one_connection(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, seed: int
) -> None:
    killed_for, context, output = _crash_then_recover(app, home, db_url, smtp, seed, 1)

    copies = Counter(rcpt for got in smtp.messages for rcpt in got.rcpt_tos)
    rows = delivery_rows(app.engine)
    assert len(rows) == SUBSCRIBERS
    # Every subscriber has exactly one copy, the one in flight included (it was not re-sent).
    assert set(copies) == {row.target for row in rows}, context
    assert set(copies.values()) == {1}, context
    [unknown] = [row for row in rows if row.state != "sent"]
    assert unknown.state == "unknown" and unknown.target == killed_for, context
    assert "interrupted while sending part 1" in (unknown.error or "")
    # The second run tells staff which delivery awaits their check, address masked.
    [told] = [line for line in output.splitlines() if line.startswith("? ")]
    assert told.startswith("? email · r***@example.org · unknown · interrupted while sending")


def test_sigkill_mid_fan_out_four_connections(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, seed: int
) -> None:
    killed_for, context, output = _crash_then_recover(app, home, db_url, smtp, seed, 4)

    copies = Counter(rcpt for got in smtp.messages for rcpt in got.rcpt_tos)
    rows = delivery_rows(app.engine)
    assert len(rows) == SUBSCRIBERS
    assert max(copies.values()) == 1, context  # nobody got two copies
    unknown = [row for row in rows if row.state == "unknown"]
    assert 1 <= len(unknown) <= 4, context
    assert killed_for in {row.target for row in unknown}, context
    assert {row.state for row in rows if row not in unknown} == {"sent"}, context
    # What was sent arrived; what is unknown arrived at most once (maybe not at all).
    for row in rows:
        assert copies[row.target] == (1 if row.state == "sent" else copies[row.target]), context
    assert copies[killed_for] == 1
    assert sum(line.startswith("? email · ") for line in output.splitlines()) == len(unknown)

"""Fault drills: a real `bot` process against real peers, and what a person finds afterwards.

fan = email_fan_out(app, home, db_url, smtp, people=600)  # subscribers, config, env
bot = start(fan.env, home, *POST)                           # the process under test
output = finish(bot)                                        # its terminal, within a deadline
outcome = tally(app, smtp)                                  # every delivery and every copy
"""

from __future__ import annotations

import codecs
import os
import select
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.peers.smtp_server import SmtpPeer
from tests.publish.helpers import (
    add_subscribers,
    bot_command,
    bot_env,
    delivery_rows,
    point_at_peers,
    set_toml,
)

POST = ("post-now", "daily-briefing", "--channels", "email", "--on", "2024-02-01", "--yes")
RESEND = ("deliveries", "send")
SOURCE = "https://aappb.org/"
FIGURES_SET = ("figures", "set", "killed=4500", "--as-of", "2024-02-10", "--source", SOURCE)
CONNECTIONS = 4  # SMTP connections, and so the deliveries in flight at once (one chunk)
DEADLINE = 60  # seconds for any one run of the bot; each takes a few
STARTED: list[subprocess.Popen[str]] = []  # every `bot` a test started, reaped after it


@dataclass(frozen=True)
class FanOut:
    """A home set up to mail `people` subscribers through the SMTP peer."""

    people: int
    env: dict[str, str]


def email_fan_out(
    app: App,
    home: Path,
    db_url: str,
    smtp: SmtpPeer,
    people: int,
    env: Mapping[str, str] | None = None,
) -> FanOut:
    """Figures, `people` subscribers (a fifth in Burmese), the email channel on the peer."""
    enter_seed(app)
    burmese = people // 5
    add_subscribers(app.engine, ["en"] * (people - burmese) + ["my"] * burmese)
    secrets = point_at_peers(home, smtp=smtp)
    set_toml(home, "channels.email", connections=CONNECTIONS)
    return FanOut(people, {**bot_env(home, db_url, secrets), **(env or {})})


def start(
    env: Mapping[str, str], home: Path, *args: str, file_size_limit: int | None = None
) -> subprocess.Popen[str]:
    """`bot ARGS…` in its own process (stdout and stderr together, as a terminal shows them).

    With `file_size_limit`, no file the bot writes can grow past that many bytes (see
    tests/drills/limited.py): the disk is full as far as the bot can tell.
    """
    command = bot_command(*args)
    if file_size_limit is not None:
        command = [sys.executable, "-m", "tests.drills.limited", str(file_size_limit), *args]
    process = subprocess.Popen(
        command,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    STARTED.append(process)
    return process


def reap() -> None:
    """Kill what a failed test left running (see tests/drills/conftest.py)."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


def finish(process: subprocess.Popen[str], deadline: float = DEADLINE) -> str:
    """Everything the process printed once it ended; past the deadline it is killed, and the
    test fails."""
    try:
        output, _ = process.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"`bot` still ran after {deadline} s:\n{output[-3000:]}") from None
    return output


class Watch:
    """A running `bot` whose terminal is read as it prints, to act at a given moment."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen = ""
        self._decode = codecs.getincrementaldecoder("utf-8")()

    def wait_for(self, text: str, count: int = 1, deadline: float = DEADLINE) -> bool:
        """Read until `text` has been printed `count` times; False if the process ended first
        or the deadline passed."""
        assert self.process.stdout is not None
        stream = self.process.stdout.fileno()  # unbuffered: `finish` reads the rest
        end = time.monotonic() + deadline
        while self.seen.count(text) < count:
            left = end - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([stream], [], [], left)
            if ready:
                chunk = os.read(stream, 65536)
                if not chunk:
                    return False
                self.seen += self._decode.decode(chunk)
        return True

    def finish(self) -> str:
        """All it printed, once it ended (see `finish`)."""
        return self.seen + finish(self.process)


def still_running(process: subprocess.Popen[str], seconds: float) -> bool:
    """Whether the process still runs after `seconds`: it neither finished nor failed meanwhile."""
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        return True
    return False


def run(
    env: Mapping[str, str], home: Path, *args: str, file_size_limit: int | None = None
) -> tuple[int, str]:
    """`bot ARGS…` to its end: the exit status and what it printed."""
    process = start(env, home, *args, file_size_limit=file_size_limit)
    output = finish(process)
    return process.returncode, output


def assert_stopped_cleanly(status: int, output: str, *expected: str) -> str:
    """Status 1, no traceback, and one `Error: …` line saying each expected thing; that line."""
    assert status == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output[-3000:]
    for words in expected:
        assert words in errors[0], errors[0]
    return errors[0]


@dataclass(frozen=True)
class Tally:
    """Every delivery's state and how many copies each address received."""

    states: dict[str, str]  # address -> state
    copies: Counter[str]  # address -> copies at the SMTP peer

    def count(self, state: str) -> int:
        """How many deliveries are in `state`."""
        return sum(1 for found in self.states.values() if found == state)

    def in_state(self, state: str) -> set[str]:
        """The addresses whose delivery is in `state`."""
        return {address for address, found in self.states.items() if found == state}


def tally(app: App, smtp: SmtpPeer) -> Tally:
    """The outbox and the peer's mailbox, side by side."""
    states = {row.target: row.state for row in delivery_rows(app.engine)}
    copies = Counter(rcpt for got in list(smtp.messages) for rcpt in got.rcpt_tos)
    return Tally(states, copies)


def assert_consistent(found: Tally, people: int, context: str) -> None:
    """Mid-way: each delivery once; what is recorded sent arrived once; nobody got two copies."""
    assert len(found.states) == people, context
    assert set(found.copies) <= set(found.states), context
    assert max(found.copies.values(), default=0) <= 1, f"a copy was sent twice\n{context}"
    for address in found.in_state("sent"):
        assert found.copies[address] == 1, f"{address} is recorded sent but got nothing\n{context}"
    assert not found.in_state("failed"), context


def assert_complete(found: Tally, people: int, in_flight: int, context: str) -> None:
    """At the end: one copy each, except at most `in_flight` deliveries left `unknown`."""
    assert_consistent(found, people, context)
    left = Counter(found.states.values())
    assert set(left) <= {"sent", "unknown"}, (left, context)
    assert found.count("unknown") <= in_flight, context
    assert found.count("sent") + found.count("unknown") == people, context

"""Crash drill: the sender is SIGKILLed five times during a 2,000-recipient fan-out.

Each time it is restarted (`bot deliveries send`, as staff would after a crash); a last run
finishes. Every recipient then has exactly one copy, except the deliveries in flight at each
kill (at most one chunk, one per SMTP connection), which are `unknown`: not lost, not re-sent.

Kill points are drawn from a seed printed with each run (BOT_TEST_CRASH_SEED=… repeats one).
The seed also picks who kills, each time: the SMTP peer, while a message's data has arrived
unanswered (the bot cannot know it landed), or the test, as soon as a count of messages has
arrived, wherever the bot then is (claiming, sending, recording).
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from tests.drills.helpers import (
    CONNECTIONS,
    DEADLINE,
    POST,
    RESEND,
    assert_complete,
    assert_consistent,
    email_fan_out,
    finish,
    run,
    start,
    tally,
)
from tests.peers.smtp_server import Received, SmtpPeer
from tests.publish.helpers import crash_seed

PEOPLE = 2000
KILLS = 5


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def seed() -> int:
    return crash_seed()


def _kill_points(rng: random.Random) -> list[int]:
    """One message count in each fifth of the fan-out (they are cumulative over the runs)."""
    # The last kill is well before the end: in-flight messages that never reached the peer
    # are `unknown` and never sent, so the total can fall short of PEOPLE by a few chunks.
    first, last = 50, PEOPLE - 100
    width = (last - first) // KILLS
    return [rng.randrange(first + n * width, first + (n + 1) * width - 40) for n in range(KILLS)]


def test_five_kills_mid_fan_out_then_a_run_to_completion(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, seed: int
) -> None:
    fan = email_fan_out(app, home, db_url, smtp, PEOPLE)
    rng = random.Random(seed)
    in_flight: set[str] = set()  # every delivery left `sending` by a kill
    reported = 0  # `?` lines the previous restart was due to print
    for number, point in enumerate(_kill_points(rng), 1):
        from_peer = rng.random() < 0.5
        # A previous kill may have landed a little after its point.
        point = max(point, len(smtp.messages) + 10)
        context = f"seed {seed}, kill {number} at message {point}, from the peer: {from_peer}"
        pid: list[int] = []
        ready = threading.Event()
        caught: list[Received] = []

        def kill(
            got: Received,
            pid: list[int] = pid,
            ready: threading.Event = ready,
            caught: list[Received] = caught,
        ) -> None:
            assert ready.wait(10)
            caught.append(got)
            os.kill(pid[0], signal.SIGKILL)

        if from_peer:
            smtp.on_message(point, kill)
        bot = start(fan.env, home, *(POST if number == 1 else RESEND))
        pid.append(bot.pid)
        ready.set()
        if not from_peer:
            arrived = smtp.wait_for(lambda point=point: len(smtp.messages) >= point, DEADLINE)
            if arrived:
                os.kill(bot.pid, signal.SIGKILL)
        output = finish(bot)
        context += f"\n{output[-2000:]}"
        assert bot.returncode == -signal.SIGKILL, context

        # Staff restarting after the crash are told which deliveries were in flight.
        told = [line for line in output.splitlines() if line.startswith("? email · ")]
        assert len(told) == reported, context

        found = tally(app, smtp)
        assert_consistent(found, PEOPLE, context)
        sending = found.in_state("sending")
        assert len(sending) <= CONNECTIONS, context
        if caught:  # the message the peer kept, unanswered, was one of those in flight
            [got] = caught
            assert set(got.rcpt_tos) <= sending, context
        assert found.in_state("unknown") == in_flight, context
        in_flight |= sending
        reported = len(sending)

    status, output = run(fan.env, home, *RESEND)
    context = f"seed {seed}, the last run\n{output[-2000:]}"
    found = tally(app, smtp)
    assert_complete(found, PEOPLE, KILLS * CONNECTIONS, context)
    # The unknown are exactly the deliveries in flight at the kills: none lost, none re-sent.
    assert found.in_state("unknown") == in_flight, context
    told = [line for line in output.splitlines() if line.startswith("? email · ")]
    assert len(told) == reported, context
    # Status 1 while anything awaits a person's check.
    assert status == (1 if in_flight else 0), context

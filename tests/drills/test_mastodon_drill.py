"""Fault drills on Mastodon: 429 storms, 5xx bursts, answers lost after the write, a kill.

Whatever the instance does, each part of each thread is on the account at most once, and every
delivery ends `sent`, or `unknown` for a person to check when the bot cannot know: none lost,
none posted twice. The storms run the sender in this process on a virtual clock (the waits
are the instance's, minutes long); the kill runs a real `bot` process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.spec import Wiring
from bot.publish.sender import Report
from bot.runtime import build_runtime
from tests.compose.helpers import enter_seed
from tests.drills.helpers import DEADLINE, finish, run, start
from tests.peers.mastodon_server import MastodonServer, Reply
from tests.publish.helpers import (
    Clock,
    bot_env,
    delivery_rows,
    publish_occasion,
    reload_settings,
    set_toml,
)

TOKEN = "mstdn-drill-Hq3v-access-token"
ENV = "BOT_MASTODON_TOKEN"
DAY = "2024-02-01"
POST = ("post-now", "anniversary", "--on", DAY, "--channels", "mastodon", "--yes")


@pytest.fixture
def clock(app: App) -> Clock:
    found = Clock()
    app.clock = found
    enter_seed(app)
    return found


def _point(
    app: App, server: MastodonServer, monkeypatch: pytest.MonkeyPatch, **more: object
) -> None:
    set_toml(app.settings.home, "channels.mastodon", instance_url=server.base_url, **more)
    monkeypatch.setenv(ENV, TOKEN)
    reload_settings(app)


def _send(app: App, clock: Clock, publication: int) -> Report:
    """One sender run; the channel's clocks are the sender's, moved by its (virtual) sleeps."""
    wiring = Wiring(clock=clock, monotonic=lambda: clock().timestamp(), sleep=clock.sleep)
    runtime = build_runtime(app, wiring, sleep=clock.sleep)
    wired = runtime.connect(["mastodon"])

    async def go() -> Report:
        try:
            return await runtime.sender(wired, max_wait_seconds=3600).run(publication)
        finally:
            await wired.close()

    return asyncio.run(go())


def _assert_each_part_once(app: App, server: MastodonServer, publication: int) -> dict[str, str]:
    """No text twice on the account; every id recorded is there; delivery → state."""
    texts = Counter(s.text for s in server.posted)
    assert max(texts.values()) == 1, [t for t, n in texts.items() if n > 1]
    held = {s.id for s in server.posted}
    states = {}
    for row in delivery_rows(app.engine, publication):
        assert set(json.loads(row.ids)) <= held
        states[str(row.id)] = row.state
    return states


def test_a_429_storm_and_the_window_of_requests_post_every_part_once(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window of 6 requests in 5 minutes, and three more 429s on top of it.
    with MastodonServer(token=TOKEN, per_window=6, clock=clock) as server:
        _point(app, server, monkeypatch)
        publication = publish_occasion(app, "anniversary", DAY, ["mastodon"])
        storm = Reply.rate_limited(clock() + dt.timedelta(seconds=40), now=clock())
        server.queue("post", Reply(), storm, storm, Reply(), storm)

        report = _send(app, clock, publication)

        states = _assert_each_part_once(app, server, publication)
        assert set(states.values()) == {"sent"}, report.outcomes
        parts = sum(len(json.loads(r.ids)) for r in delivery_rows(app.engine, publication))
        assert len(server.posted) == parts > 4
        assert clock.slept and all(0 < s <= 300 for s in clock.slept)
        assert server.too_many == 0  # the channel kept the window; only the queued 429s came


def test_a_5xx_burst_and_lost_answers_leave_nothing_twice_and_nothing_lost(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MastodonServer(token=TOKEN) as server:
        _point(app, server, monkeypatch, timeout_seconds=0.3)
        publication = publish_occasion(app, "anniversary", DAY, ["mastodon"])
        server.queue(
            "post",
            Reply(),  # English part 1
            Reply(503, "Service Unavailable"),  # refused before any write: tried again
            Reply(503, "Service Unavailable"),
            Reply(500, "stored, then failed", accept=True),  # found on the account
            Reply.accept_then_wait(5),  # a timeout after the write: found on the account
            Reply.accept_then_drop(),  # a dropped connection after the write: found too
        )

        report = _send(app, clock, publication)

        states = _assert_each_part_once(app, server, publication)
        assert set(states.values()) == {"sent"}, report.outcomes
        assert clock.slept and max(clock.slept) <= 10  # the backoff after the 503s

        # A 502 with nothing written, and the account unreadable: unknown, never re-sent.
        again = publish_occasion(app, "anniversary", DAY, ["mastodon"], ["en"], again=True)
        posts = ("POST", "/api/v1/statuses")
        before = server.requests.count(posts)
        server.queue("post", Reply(502, "Bad Gateway"))
        server.queue("statuses", Reply(503, "Service Unavailable"))

        _send(app, clock, again)
        _send(app, clock, again)  # a second run leaves it alone

        [row] = delivery_rows(app.engine, again)
        assert row.state == "unknown" and "failed too" in row.error
        assert server.requests.count(posts) == before + 1
        _assert_each_part_once(app, server, again)


def test_a_bot_killed_while_a_part_is_in_flight_posts_nothing_twice(
    app: App, home: Path, db_url: str
) -> None:
    enter_seed(app)
    with MastodonServer(token=TOKEN) as server:
        set_toml(home, "channels.mastodon", instance_url=server.base_url, timeout_seconds=30)
        env = bot_env(home, db_url, {ENV: TOKEN})
        # Part 2 of the first thread is stored, and its answer held back until the kill.
        server.queue("post", Reply(), Reply.accept_then_wait(DEADLINE))
        bot = start(env, home, *POST)
        end = time.monotonic() + DEADLINE
        while len(server.statuses) < 2 and time.monotonic() < end and bot.poll() is None:
            time.sleep(0.02)  # a real process: wait for the instance to hold part 2
        assert len(server.statuses) == 2, finish(bot)
        os.kill(bot.pid, signal.SIGKILL)
        finish(bot)

        status, output = run(env, home, "deliveries", "send")

        rows = delivery_rows(app.engine)
        states = sorted(r.state for r in rows)
        # The one in flight may have landed: unknown, for a person; the other edition went out.
        assert states == ["sent", "unknown"], output
        assert status == 1 and "? mastodon · " in output, output
        texts = Counter(s.text for s in server.posted)
        assert max(texts.values()) == 1
        sent = next(r for r in rows if r.state == "sent")
        assert set(json.loads(sent.ids)) <= {s.id for s in server.posted}

        # Publishing the occasion again adds nothing.
        status, output = run(env, home, *POST)
        assert "Already published as #1" in output, output
        assert max(Counter(s.text for s in server.posted).values()) == 1

"""Fault drills for Bluesky: 429 storms, 5xx bursts, timeouts, dropped connections, a kill.

Both anniversary threads (English and Burmese, three posts each) go out through the sender
while the local PDS misbehaves. Whatever it does, no part lands twice (every create carries
the record key derived from its delivery, and a lost answer is checked by that key) and no
delivery is lost: each one ends `sent` with its posts in order, or `unknown` for a person, and
a person's "it did not go out" cannot make a second copy either.

The storms run the sender in-process with a virtual clock (a 429's wait costs nothing); the
kill runs a real `bot` process and SIGKILLs it while a post has landed but not been answered.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, Cli
from tests.drills.helpers import DEADLINE, finish, run, start
from tests.peers.bluesky_server import BlueskyServer, Record, Reply
from tests.publish.helpers import (
    Clock,
    bot_env,
    delivery_rows,
    publish_occasion,
    reload_settings,
    send,
    set_toml,
)

CREATE = "com.atproto.repo.createRecord"
GET = "com.atproto.repo.getRecord"
DAY = "2024-02-01"
RESET = int(FIXED_NOW.timestamp())


@pytest.fixture
def pds() -> Iterator[BlueskyServer]:
    with BlueskyServer() as server:
        yield server


@pytest.fixture
def seeded(app: App, home: Path, pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch) -> App:
    """Figures, the channel on the peer, and a clock that moves only when the sender waits."""
    enter_seed(app)
    set_toml(home, "channels.bluesky", base_url=pds.base_url, timeout_seconds=1)
    monkeypatch.setenv("BOT_BLUESKY_HANDLE", pds.handle)
    monkeypatch.setenv("BOT_BLUESKY_APP_PASSWORD", pds.password)
    reload_settings(app)
    app.clock = Clock()
    return app


def send_until_settled(app: App, runs: int = 10) -> list[str]:
    """Run the sender as `bot run` would, again and again, until nothing is pending."""
    clock = app.clock
    assert isinstance(clock, Clock)
    for _ in range(runs):
        send(app, ["bluesky"], clock=clock)
        states = [row.state for row in delivery_rows(app.engine)]
        if "pending" not in states:
            return states
        clock.advance(3600)
    raise AssertionError(f"still pending after {runs} runs: {states}")


def assert_each_part_once(pds: BlueskyServer, app: App) -> None:
    """No text landed twice; every sent delivery's ids are its thread, in order, replies right."""
    texts = [post.text for post in pds.posts]
    assert len(texts) == len(set(texts)), texts
    by_uri = {post.uri: post for post in pds.posts}
    for row in delivery_rows(app.engine):
        ids = json.loads(row.ids)
        posts = [by_uri[uri] for uri in ids]
        if row.state == "sent":
            assert len(posts) == 3
            assert [p.text[-3:] for p in posts] in (["1/3", "2/3", "3/3"], ["၁/၃", "၂/၃", "၃/၃"])
        for index, post in enumerate(posts[1:], 1):
            reply = post.value["reply"]
            assert reply["root"]["uri"] == posts[0].uri
            assert reply["parent"]["uri"] == posts[index - 1].uri


def test_a_storm_of_429s_5xx_bursts_and_timeouts_posts_each_part_once(
    seeded: App, pds: BlueskyServer
) -> None:
    publish_occasion(seeded, "anniversary", DAY, ["bluesky"])
    pds.queue(
        CREATE,
        Reply.accept_then_fail(500),  # written, then an error (and its check must wait)
        Reply.rate_limited(reset=RESET + 30),
        Reply.server_error(503),  # refused before any write
        Reply.rate_limited(reset=RESET + 600, policy="35000;w=86400"),
        Reply.accept_then_wait(30),  # written, and the answer never comes
        Reply(status=502, drop=True),  # the connection dropped before anything was written
        Reply.accept_then_drop(),  # written, then the connection dropped
        Reply.server_error(502),
        Reply.server_error(500),
    )
    # The check after the first unclear answer is told to wait: the next run, under the same
    # key, finds the post it had written.
    pds.queue(GET, Reply.rate_limited(reset=RESET + 5))

    states = send_until_settled(seeded)

    assert states == ["sent", "sent"]
    assert len(pds.calls_to(CREATE)) >= 9 + 6 - 3  # every fault was met (three wrote the post)
    assert len(pds.posts) == 6 and pds.live() == pds.posts
    assert_each_part_once(pds, seeded)
    assert isinstance(seeded.clock, Clock)
    assert any(wait >= 29 for wait in seeded.clock.slept)  # the 429s were waited out


@pytest.mark.parametrize("seed", [11, 23, 42])
def test_random_storms_never_post_twice_nor_lose_a_delivery(
    seeded: App, pds: BlueskyServer, seed: int
) -> None:
    rng = random.Random(seed)
    faults = [
        lambda: Reply.rate_limited(reset=RESET + rng.randrange(1, 900)),
        lambda: Reply.server_error(rng.choice([500, 502, 503])),
        lambda: Reply.accept_then_fail(rng.choice([500, 502])),
        lambda: Reply.accept_then_wait(30),
        lambda: Reply.accept_then_drop(),
        lambda: Reply(status=500, drop=True),
        lambda: Reply(),  # a normal answer between the faults
    ]
    publish_occasion(seeded, "anniversary", DAY, ["bluesky"])
    storm = [rng.choice(faults)() for _ in range(6)]
    pds.queue(CREATE, *storm)

    states = send_until_settled(seeded)

    # Every fault here is one the key makes safe: all six posts land, once each.
    assert states == ["sent", "sent"], [row.error for row in delivery_rows(seeded.engine)]
    assert len(pds.posts) == 6 and len(pds.calls_to(CREATE)) >= len(storm)
    assert_each_part_once(pds, seeded)


def test_an_unknown_resolved_as_not_sent_finds_the_post_instead_of_repeating_it(
    seeded: App, pds: BlueskyServer, cli: Cli, home: Path
) -> None:
    publish_occasion(seeded, "anniversary", DAY, ["bluesky"], ["en"])
    # Part 2 is written but its answer is lost, and so is the answer to the check.
    pds.queue(CREATE, Reply(), Reply.accept_then_wait(30))
    pds.queue(GET, Reply(status=500, drop=True))

    assert send_until_settled(seeded) == ["unknown"]
    [row] = delivery_rows(seeded.engine)
    assert "may have gone out" in row.error and len(pds.posts) == 2

    # A person who wrongly believes it did not go out.
    cli.env.update(
        BOT_BLUESKY_HANDLE=pds.handle,
        BOT_BLUESKY_APP_PASSWORD=pds.password,
    )
    resolved = cli("deliveries", "resolve", str(row.id), "--not-sent")
    assert resolved.exit_code == 0, resolved.output
    resent = cli("deliveries", "send")

    assert resent.exit_code == 0, resent.output
    assert len(pds.posts) == 3
    assert_each_part_once(pds, seeded)
    [row] = delivery_rows(seeded.engine)
    assert row.state == "sent" and json.loads(row.ids) == [post.uri for post in pds.posts]


def _landed(pds: BlueskyServer, count: int) -> list[Record]:
    """Wait (polling, bounded) until `count` posts have landed on the peer."""
    end = time.monotonic() + DEADLINE
    while len(pds.posts) < count and time.monotonic() < end:
        time.sleep(0.02)
    return pds.posts


def test_a_bot_killed_after_a_part_landed_leaves_it_unknown_and_never_posts_it_twice(
    app: App, home: Path, db_url: str, pds: BlueskyServer
) -> None:
    enter_seed(app)
    set_toml(home, "channels.bluesky", base_url=pds.base_url, timeout_seconds=30)
    env = bot_env(
        home,
        db_url,
        {"BOT_BLUESKY_HANDLE": pds.handle, "BOT_BLUESKY_APP_PASSWORD": pds.password},
    )
    # Part 1 lands; part 2 lands and is held unanswered while the process is killed.
    pds.queue(CREATE, Reply(), Reply.accept_then_wait(DEADLINE))
    bot = start(env, home, "post-now", "anniversary", "--on", DAY, "--channels", "bluesky",
                "--lang", "en", "--yes")  # fmt: skip

    assert len(_landed(pds, 2)) == 2
    bot.kill()
    finish(bot)

    status, output = run(env, home, "deliveries", "send")
    assert status == 1, output  # the delivery in flight is now unknown: a person checks
    [row] = delivery_rows(app.engine)
    assert row.state == "unknown" and len(json.loads(row.ids)) == 1
    assert "interrupted while sending part 2" in row.error

    status, output = run(env, home, "deliveries", "resolve", str(row.id), "--not-sent")
    assert status == 0, output
    status, output = run(env, home, "deliveries", "send")

    assert status == 0, output
    assert len(pds.posts) == 3  # part 2 was found under its key, not posted again
    [row] = delivery_rows(app.engine)
    assert row.state == "sent" and json.loads(row.ids) == [post.uri for post in pds.posts]
    assert_each_part_once(pds, app)

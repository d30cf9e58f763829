"""`bot post-now … --channels mastodon` against the local Mastodon peer: threads, once, retract.

The peer is tests/peers/mastodon_server.py over real HTTP on loopback; the commands run as
staff type them (`bot …` in-process, the token in the environment).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.spec import Wiring
from bot.fit.mastodon import status_length
from bot.publish.sender import Report
from bot.runtime import build_runtime
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.mastodon_server import MastodonServer, Reply
from tests.publish.helpers import (
    Clock,
    delivery_rows,
    publish_occasion,
    reload_settings,
    set_toml,
)

TOKEN = "mstdn-e2e-Zq81-access-token"
ENV = "BOT_MASTODON_TOKEN"
DAY = "2024-02-01"
POST = ("post-now", "anniversary", "--on", DAY, "--channels", "mastodon", "--yes")


@pytest.fixture
def mastodon() -> Iterator[MastodonServer]:
    with MastodonServer(token=TOKEN) as server:
        yield server


def point_at(home: Path, server: MastodonServer, **settings: object) -> dict[str, str]:
    """[channels.mastodon] at the peer; the environment holding the token."""
    set_toml(home, "channels.mastodon", instance_url=server.base_url, **settings)
    return {ENV: TOKEN}


@pytest.fixture
def seeded(app: App) -> App:
    enter_seed(app)
    return app


def test_the_anniversary_goes_out_as_two_threads_once_and_is_retracted(
    cli: Cli, home: Path, seeded: App, mastodon: MastodonServer
) -> None:
    cli.env.update(point_at(home, mastodon, visibility="unlisted"))

    first = cli(*POST)

    assert first.exit_code == 0, first.output
    rows = delivery_rows(seeded.engine)
    assert [(r.channel, r.state) for r in rows] == [("mastodon", "sent"), ("mastodon", "sent")]
    by_id = {s.id: s for s in mastodon.statuses}
    threads = {by_id[json.loads(r.ids)[0]].language: json.loads(r.ids) for r in rows}
    assert set(threads) == {"en", "my"}
    for lang, ids in threads.items():
        assert len(ids) > 1  # the statement is longer than one post
        parts = [by_id[i] for i in ids]
        # A thread: each part replies to the one before, in the edition's language.
        assert [p.in_reply_to_id for p in parts] == [None, *ids[:-1]]
        assert {(p.language, p.visibility) for p in parts} == {(lang, "unlisted")}
        assert all(status_length(p.text) <= 500 for p in parts)
        for platform_id in ids:
            assert platform_id in first.output
    english = [by_id[i].text for i in threads["en"]]
    assert english[0].startswith("Statement on Third Year Anniversary of Spring Revolution")
    assert "(25931) political prisoners have been arrested" in " ".join(english)
    assert "(၂၅၉၃၁)ဦး" in " ".join(by_id[i].text for i in threads["my"])
    # Every post carried a key naming its delivery.
    assert all(key and key.startswith("spring-bot-delivery-") for key in mastodon.keys)
    assert TOKEN not in first.output

    posted = len(mastodon.statuses)
    again = cli(*POST)

    assert again.exit_code == 0, again.output
    assert "Already published as #1" in again.output
    assert len(mastodon.statuses) == posted
    assert mastodon.requests.count(("POST", "/api/v1/statuses")) == posted

    retracted = cli("retract", "1", "--yes", "--reason", "wrong figure")

    assert retracted.exit_code == 0, retracted.output
    assert retracted.output.count("✓ mastodon · ") == 2
    assert mastodon.posted == []
    assert all(r.retracted_at is not None for r in delivery_rows(seeded.engine))
    assert "RETRACTED" in cli("show", "1").output


def test_without_a_token_the_threads_go_to_the_outbox_folder(
    cli: Cli, home: Path, seeded: App, mastodon: MastodonServer
) -> None:
    set_toml(home, "channels.mastodon", instance_url=mastodon.base_url)
    cli.env.update({ENV: None, f"{ENV}_FILE": None})  # type: ignore[dict-item]  # None unsets

    result = cli(*POST)

    assert result.exit_code == 0, result.output
    folder = home / "var" / "outbox" / "mastodon"
    assert f"mastodon: no credentials set: writing to {folder}" in result.output
    files = sorted(folder.glob("*.txt"))
    assert len(files) > 2  # two threads of several posts each
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert any(t.startswith("Statement on Third Year Anniversary") for t in texts)
    assert mastodon.requests == []

    retracted = cli("retract", "1", "--yes")
    assert retracted.exit_code == 0, retracted.output
    assert not any(f.exists() for f in files)


def test_a_revoked_token_fails_both_editions_with_the_fix_and_tells_the_admins_once(
    cli: Cli, home: Path, seeded: App, mastodon: MastodonServer
) -> None:
    cli.env.update(point_at(home, mastodon))
    schedule = home / "config" / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    # The admin chat, reached through Telegram's outbox folder (no Telegram token here).
    schedule.write_text(text.replace('telegram_chat = ""', 'telegram_chat = "@aapp_admins"'))
    mastodon.revoked = True

    result = cli(*POST)

    assert result.exit_code == 1, result.output
    fix = f"Mastodon refused the access token for {mastodon.base_url}: make a new one and set {ENV}"
    rows = delivery_rows(seeded.engine)
    assert [r.state for r in rows] == ["failed", "failed"]
    assert all(fix in r.error for r in rows)
    assert all(r.attempts == 1 for r in rows)
    # One refusal is enough: the second edition is failed without asking the instance again.
    # (The first write is the card's upload, which the statement carries.)
    assert [r for r in mastodon.requests if r[0] == "POST"] == [("POST", "/api/v2/media")]
    assert mastodon.statuses == []
    # One alert to the admins, naming the fix.
    alerts = [
        f.read_text(encoding="utf-8")
        for f in sorted((home / "var" / "outbox" / "telegram").glob("*"))
        if "mastodon: nothing can be posted there" in f.read_text(encoding="utf-8")
    ]
    assert len(alerts) == 1 and fix in alerts[0]
    assert TOKEN not in result.output


def sent_with(app: App, clock: Clock, publication: int) -> Report:
    """The sender over Mastodon, every clock the channel reads moved by the sender's sleeps."""
    wiring = Wiring(clock=clock, monotonic=lambda: clock().timestamp(), sleep=clock.sleep)
    runtime = build_runtime(app, wiring, sleep=clock.sleep)
    wired = runtime.connect(["mastodon"])

    async def go() -> Report:
        try:
            return await runtime.sender(wired, max_wait_seconds=600).run(publication)
        finally:
            await wired.close()

    return asyncio.run(go())


def test_a_rate_limited_thread_waits_for_the_reset_and_posts_each_part_once(
    seeded: App, home: Path, mastodon: MastodonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    seeded.clock = clock
    for name, value in point_at(home, mastodon).items():
        monkeypatch.setenv(name, value)
    reload_settings(seeded)
    publication = publish_occasion(seeded, "anniversary", DAY, ["mastodon"], ["en"])
    # Part 1 lands; part 2 meets the 300-per-5-minutes limit, with 90 s left by the
    # instance's own clock.
    now = clock()
    reset = now + dt.timedelta(seconds=90)
    mastodon.queue("post", Reply(), Reply.rate_limited(reset, now=now))

    sent_with(seeded, clock, publication)

    assert clock.slept == [pytest.approx(90, abs=1)]
    [row] = delivery_rows(seeded.engine, publication)
    ids = json.loads(row.ids)
    assert row.state == "sent" and ids == [s.id for s in mastodon.statuses]
    assert [s.in_reply_to_id for s in mastodon.statuses] == [None, *ids[:-1]]
    assert len(set(mastodon.keys)) == len(ids)  # the refused part was asked again, once

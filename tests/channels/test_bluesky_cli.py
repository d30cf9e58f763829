"""Bluesky through `bot` itself, against the local PDS: post-now, a repeat, retract, refusals.

cli.env.update(point_at_pds(home, pds))   # [channels.bluesky] base_url, and the secrets
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.channels.bluesky_records import record_key
from bot.store.schema import deliveries, editions
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, Cli
from tests.peers.bluesky_server import BlueskyServer, Record, Reply
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import (
    Clock,
    delivery_rows,
    point_at_peers,
    publish_occasion,
    reload_settings,
    send,
    set_toml,
)

CREATE = "com.atproto.repo.createRecord"
LOGIN = "com.atproto.server.createSession"
POST_NOW = ("post-now", "anniversary", "--on", "2024-02-01", "--channels", "bluesky", "--yes")
ADMIN_CHAT = "-1001234567890"
FIX = (
    "Bluesky refused the app password for @aapp.bsky.social: make a new one and set "
    "BOT_BLUESKY_APP_PASSWORD"
)


@pytest.fixture
def pds() -> Iterator[BlueskyServer]:
    with BlueskyServer() as server:
        yield server


@pytest.fixture
def seeded(app: App) -> App:
    enter_seed(app)
    return app


def point_at_pds(
    home: Path, pds: BlueskyServer, password: str | None = None, timeout: float = 5
) -> dict[str, str]:
    """[channels.bluesky] on the peer; returns the secrets to put in the environment."""
    set_toml(home, "channels.bluesky", base_url=pds.base_url, timeout_seconds=timeout)
    return {
        "BOT_BLUESKY_HANDLE": pds.handle,
        "BOT_BLUESKY_APP_PASSWORD": password or pds.password,
    }


def thread_of(pds: BlueskyServer, lang: str) -> list[Record]:
    return [post for post in pds.posts if post.value["langs"] == [lang]]


def edition_parts(app: App, delivery_id: int) -> list[str]:
    """The parts of the edition a delivery sends, as stored when the publication was decided."""
    with app.engine.connect() as conn:
        payload = conn.execute(
            sa.select(editions.c.payload)
            .join(deliveries, deliveries.c.edition_id == editions.c.id)
            .where(deliveries.c.id == delivery_id)
        ).scalar_one()
    return list(json.loads(payload)["parts"])


def test_post_now_posts_each_edition_as_one_thread_once_and_retract_deletes_it(
    cli: Cli, home: Path, seeded: App, pds: BlueskyServer
) -> None:
    cli.env.update(point_at_pds(home, pds))

    first = cli(*POST_NOW)

    assert first.exit_code == 0, first.output
    assert "#1: 2 sent" in first.output
    assert len(pds.posts) == 6
    for lang, start in (("en", "Third Year of the Spring Revolution"), ("my", "နွေဦးတော်လှန်ရေး")):
        root, second, third = thread_of(pds, lang)
        assert root.text.startswith(start) and "reply" not in root.value
        # Every part points at the first as its root and at the one before as its parent.
        for post, parent in ((second, root), (third, second)):
            reply = post.value["reply"]
            assert (reply["root"]["uri"], reply["root"]["cid"]) == (root.uri, root.cid)
            assert (reply["parent"]["uri"], reply["parent"]["cid"]) == (parent.uri, parent.cid)
        # The figure card goes under the first part only, with its alt text.
        assert root.value["embed"]["images"][0]["alt"]
        assert "embed" not in second.value and "embed" not in third.value
    en, my = thread_of(pds, "en"), thread_of(pds, "my")
    assert en[0].text.endswith("1/3") and my[0].text.endswith("၁/၃")
    rows = delivery_rows(seeded.engine)
    assert [row.state for row in rows] == ["sent", "sent"]
    for row, posts in zip(rows, (en, my), strict=True):
        assert json.loads(row.ids) == [post.uri for post in posts]
        parts = edition_parts(seeded, row.id)
        # Each record key is derived from the delivery: a retry can only find it, not repeat it.
        assert [post.rkey for post in posts] == [
            record_key(f"delivery-{row.id}", parts, index) for index in range(3)
        ]
        for post in posts:
            assert post.uri in first.output
    assert len(pds.calls_to(LOGIN)) == 1
    session = home / "var" / "bluesky-session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert pds.password not in session.read_text()

    again = cli(*POST_NOW)

    assert again.exit_code == 0, again.output
    assert "Already published as #1" in again.output
    assert len(pds.calls_to(CREATE)) == 6 and len(pds.posts) == 6
    assert len(pds.calls_to(LOGIN)) == 1

    retracted = cli("retract", "1", "--reason", "wrong figure", "--yes")

    assert retracted.exit_code == 0, retracted.output
    assert retracted.output.count("· deleted 3 post(s)") == 2
    assert pds.live() == []
    assert sorted(pds.deleted) == sorted(post.uri for post in pds.posts)
    assert all(row.retracted_at is not None for row in delivery_rows(seeded.engine))
    # The session kept by the first run served the retraction: no second login.
    assert len(pds.calls_to(LOGIN)) == 1


def test_without_credentials_the_threads_go_to_the_outbox_folder(
    cli: Cli, home: Path, seeded: App, pds: BlueskyServer
) -> None:
    point_at_pds(home, pds)  # the server is named, but no handle or app password is set
    cli.env.update({"BOT_BLUESKY_HANDLE": None, "BOT_BLUESKY_APP_PASSWORD": None})  # type: ignore[dict-item]

    result = cli(*POST_NOW)

    assert result.exit_code == 0, result.output
    files = sorted((home / "var" / "outbox" / "bluesky").iterdir())
    assert len(files) == 6
    assert [f.name.split("-bluesky-")[1] for f in files[:3]] == [
        "en-part1.txt",
        "en-part2.txt",
        "en-part3.txt",
    ]
    assert pds.calls == []


def test_a_refused_app_password_is_one_alert_and_every_delivery_failed_without_retrying(
    cli: Cli, home: Path, seeded: App, pds: BlueskyServer
) -> None:
    schedule = home / "config" / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    schedule.write_text(text.replace('telegram_chat = ""', f'telegram_chat = "{ADMIN_CHAT}"'))
    with FakeTelegram() as telegram:
        cli.env.update(point_at_peers(home, telegram=telegram))
        cli.env.update(point_at_pds(home, pds, password="wxyz-wxyz-wxyz-wxyz"))

        result = cli(*POST_NOW)

        assert result.exit_code == 1, result.output
        rows = delivery_rows(seeded.engine)
        assert [row.state for row in rows] == ["failed", "failed"]
        assert all(row.error.startswith(FIX) for row in rows)
        assert result.output.count(FIX) >= 2  # each delivery's line says why
        # One login tried, for the whole run: the second delivery did not try again.
        assert len(pds.calls_to(LOGIN)) == 1
        alerts = [t for t in telegram.texts() if "Bluesky refused" in t]
        assert len(alerts) == 1 and FIX in alerts[0]
        assert [c.params["chat_id"] for c in telegram.calls_to("sendMessage")] == [ADMIN_CHAT]

        resent = cli("deliveries", "send")

        assert resent.exit_code == 0, resent.output
        assert len(pds.calls_to(LOGIN)) == 1 and pds.posts == []
        assert [row.state for row in delivery_rows(seeded.engine)] == ["failed", "failed"]
        assert len(telegram.calls_to("sendMessage")) == 1


def test_a_429_waits_until_its_reset_then_posts_once(
    seeded: App, home: Path, pds: BlueskyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    seeded.clock = clock
    for name, value in point_at_pds(home, pds).items():
        monkeypatch.setenv(name, value)
    reload_settings(seeded)
    publication = publish_occasion(seeded, "daily-briefing", "2024-02-01", ["bluesky"], ["en"])
    pds.queue(CREATE, Reply.rate_limited(reset=int(FIXED_NOW.timestamp()) + 40))

    report = send(seeded, ["bluesky"], publication, clock=clock)

    assert clock.slept == [pytest.approx(40.0, abs=1)]
    assert len(pds.calls_to(CREATE)) == 2 and len(pds.posts) == 1
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "sent" and row.attempts == 2
    assert json.loads(row.ids) == [pds.posts[0].uri]
    assert [o.state for o in report.outcomes] == ["pending", "sent"]


def test_preview_shows_each_posts_graphemes_and_the_write_budget(cli: Cli, seeded: App) -> None:
    from bot.fit.bluesky import graphemes

    result = cli("preview", "anniversary", "--on", "2024-02-01", "--channel", "bluesky")

    assert result.exit_code == 0, result.output
    found = re.findall(r"\[part \d+/\d+ · (\d+)/(\d+)\]", result.output)
    assert found and all(int(of) == 300 and int(n) <= 300 for n, of in found)
    # The count shown is the post's graphemes, not its code points (they differ in Burmese).
    burmese = result.output.split("── anniversary · bluesky · my")[1]
    first = burmese.split("[part 1/")[1].split("]\n", 1)[1].split("\n\n[part 2/")[0]
    assert graphemes(first) < len(first)
    assert f"· {graphemes(first)}/300]" in burmese
    # Each create costs 3 of the account's write points, and the note says what the limits are.
    costs = re.findall(r"bluesky: (\d+) post\(s\) cost (\d+) write points", result.output)
    assert costs and all(int(points) == 3 * int(posts) for posts, points in costs)
    assert "5,000 an hour and 35,000 a day" in result.output
    with seeded.engine.connect() as conn:  # a preview stores nothing
        assert conn.execute(sa.select(sa.func.count()).select_from(editions)).scalar() == 0

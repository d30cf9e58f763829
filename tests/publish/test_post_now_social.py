"""Posting to Telegram and X through their local fakes: rate limits, failures, threads, budget."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, Cli
from tests.peers.telegram_server import FakeTelegram, error
from tests.peers.x_server import Reply, XServer
from tests.publish.helpers import (
    CHAT,
    Clock,
    delivery_rows,
    point_at_peers,
    publish_occasion,
    send,
    set_toml,
    use_peers,
)

DAY = "2024-02-01"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def x() -> Iterator[XServer]:
    with XServer() as server:
        yield server


@pytest.fixture
def seeded(app: App) -> App:
    enter_seed(app)
    return app


@pytest.fixture
def clock(seeded: App) -> Clock:
    """The app's clock, moved only by the sender's (injected) sleep."""
    found = Clock()
    seeded.clock = found
    return found


def _post(*extra: str) -> tuple[str, ...]:
    return ("post-now", *extra, "--on", DAY, "--yes")


# Telegram -----------------------------------------------------------------------------------


def test_the_daily_briefing_lands_in_the_chat_as_html(
    cli: Cli, home: Path, seeded: App, telegram: FakeTelegram
) -> None:
    cli.env.update(point_at_peers(home, telegram=telegram))

    result = cli(*_post("daily-briefing", "--channels", "telegram"))

    # Each edition is one photo, its figure card, with the text as its caption (≤ 1,024).
    assert result.exit_code == 0, result.output
    calls = telegram.calls_to("sendPhoto")
    assert [c.params["chat_id"] for c in calls] == [CHAT, CHAT]  # en and my
    assert all(c.params["parse_mode"] == "HTML" for c in calls)
    en, my = (c.params["caption"] for c in calls)
    assert en.startswith("<b>Daily Briefing, February 1, 2024</b>")
    assert "(4474) people have been killed" in en
    assert my.startswith("<b>နေ့စဉ်သတင်းအကျဉ်း") and "(၄၄၇၄)" in my
    assert len(telegram.texts()) == 2
    ids = sorted(str(message_id) for _, message_id in telegram.messages)
    for platform_id in ids:
        assert platform_id in result.output
    assert "#1: 2 sent" in result.output


def test_a_rate_limit_waits_as_telegram_asks_then_posts_once(
    seeded: App, clock: Clock, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(seeded, monkeypatch, telegram=telegram)
    publication = publish_occasion(seeded, "daily-briefing", DAY, ["telegram"], ["en"])
    telegram.script("sendPhoto", error(429, "Too Many Requests: retry after 3", retry_after=3))

    report = send(seeded, ["telegram"], publication, clock=clock)

    # The Telegram queue sat the wait out and sent the same message again: one attempt as
    # the sender counts them, one message in the chat.
    assert clock.slept == [pytest.approx(3.0, abs=0.01)]
    assert len(telegram.calls_to("sendPhoto")) == 2
    assert len(telegram.texts()) == 1
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "sent" and row.attempts == 1
    assert json.loads(row.ids) == [str(next(iter(telegram.messages))[1])]
    assert [o.state for o in report.outcomes] == ["sent"]


def test_a_rate_limit_holds_back_the_other_editions_too(
    seeded: App, clock: Clock, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(seeded, monkeypatch, telegram=telegram)
    publication = publish_occasion(seeded, "daily-briefing", DAY, ["telegram"])  # en and my
    telegram.script("sendPhoto", error(429, "Too Many Requests: retry after 3", retry_after=3))

    send(seeded, ["telegram"], publication, clock=clock)

    # Telegram's limit is the bot's, not the message's: nothing is sent before it ends, and
    # the editions keep their order.
    sent = [call.params["caption"] for call in telegram.calls_to("sendPhoto")]
    starts = ["<b>Daily Briefing", "<b>Daily Briefing", "<b>နေ့စဉ်သတင်းအကျဉ်း"]
    assert [text.startswith(start) for text, start in zip(sent, starts, strict=True)] == [True] * 3
    # The flood wait first, then the chat's own pace (one message a second).
    assert clock.slept[0] == pytest.approx(3.0, abs=0.01)
    assert sum(clock.slept) == pytest.approx(4.0, abs=0.1)
    assert [row.state for row in delivery_rows(seeded.engine, publication)] == ["sent", "sent"]


def test_a_bad_request_fails_the_delivery_with_telegrams_reason(
    cli: Cli, home: Path, seeded: App, telegram: FakeTelegram
) -> None:
    cli.env.update(point_at_peers(home, telegram=telegram))
    telegram.script("sendPhoto", error(400, "Bad Request: chat not found"))

    result = cli(*_post("daily-briefing", "--channels", "telegram", "--lang", "en"))

    assert result.exit_code == 1, result.output
    reason = "Telegram refused part 1 of 1 to @aapp_burma: Chat not found"
    assert f"✗ telegram · en · @aapp_burma · failed · {reason}" in result.output
    [row] = delivery_rows(seeded.engine)
    assert row.state == "failed" and row.error == reason
    assert row.attempts == 1  # not retried
    assert telegram.texts() == []
    assert "1 failed" in result.output


# X ------------------------------------------------------------------------------------------


def test_a_thread_lands_in_order_each_part_replying_to_the_one_before(
    cli: Cli, home: Path, seeded: App, x: XServer
) -> None:
    cli.env.update(point_at_peers(home, x=x))

    result = cli(*_post("anniversary", "--channels", "x", "--lang", "en"))

    assert result.exit_code == 0, result.output
    assert len(x.posts) == 3
    first, second, third = x.posts
    assert first.text.startswith("Third Year of the Spring Revolution") and first.reply_to is None
    assert first.text.endswith("1/3") and second.text.endswith("2/3")
    assert third.text.endswith("3/3")
    assert second.reply_to == first.id and third.reply_to == second.id
    [row] = delivery_rows(seeded.engine)
    assert row.state == "sent" and json.loads(row.ids) == [p.id for p in x.posts]


def test_a_rate_limit_waits_until_the_reset_then_posts(
    seeded: App, clock: Clock, x: XServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(seeded, monkeypatch, x=x)
    publication = publish_occasion(seeded, "daily-briefing", DAY, ["x"], ["en"])
    x.queue("POST", Reply.rate_limited(reset=int(FIXED_NOW.timestamp()) + 40))

    send(seeded, ["x"], publication, clock=clock)

    assert clock.slept == [pytest.approx(40.0, abs=1)]
    assert len(x.posts) == 1
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "sent" and json.loads(row.ids) == [x.posts[0].id]


def test_a_timeout_after_x_took_the_post_is_unknown_and_never_posted_again(
    cli: Cli, home: Path, seeded: App, x: XServer
) -> None:
    cli.env.update(point_at_peers(home, x=x, timeout=0.3))
    x.queue("POST", Reply.accept_then_wait(30))  # cut short when the server stops
    post = _post("daily-briefing", "--channels", "x", "--lang", "en")

    first = cli(*post)

    assert first.exit_code == 1, first.output
    assert len(x.posts) == 1  # X has it, the bot could not know
    [row] = delivery_rows(seeded.engine)
    assert row.state == "unknown"
    assert "may have gone out" in first.output

    again = cli(*post)
    assert again.exit_code == 1, again.output
    assert "Already published as #1" in again.output
    resent = cli("deliveries", "send")
    assert resent.exit_code == 0, resent.output
    assert len(x.posts) == 1
    assert [m for m, path in x.requests if path == "/2/tweets"] == ["POST"]

    listed = cli("deliveries", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(
        rf"\[{row.id}\] #1 daily-briefing/2024-02-01 · x · .* · unknown", listed.output
    )

    resolved = cli("deliveries", "resolve", str(row.id), "--sent", "--id", x.posts[0].id)
    assert resolved.exit_code == 0, resolved.output
    assert f"[{row.id}] is now sent" in resolved.output
    [row] = delivery_rows(seeded.engine)
    assert row.state == "sent" and json.loads(row.ids) == [x.posts[0].id]
    assert "No deliveries in state unknown" in cli("deliveries", "list").output
    assert len(x.posts) == 1


def test_a_thread_that_fails_midway_resumes_after_the_last_posted_part(
    seeded: App, clock: Clock, x: XServer, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    # Exactly the three posts the thread needs: resuming must not count part 1 twice.
    set_toml(home, "channels.x", posts_per_day=3)
    use_peers(seeded, monkeypatch, x=x)
    publication = publish_occasion(seeded, "anniversary", DAY, ["x"], ["en"])
    x.queue("POST", Reply(), Reply.unavailable())  # part 1 lands, part 2 gets a 503

    first = send(seeded, ["x"], publication, clock=clock, max_wait_seconds=0)

    assert len(x.posts) == 1
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "pending" and json.loads(row.ids) == [x.posts[0].id]
    assert "503" in row.error
    assert first.waiting_until is not None
    assert clock.slept == []  # the next run does the rest

    clock.advance(60)
    second = send(seeded, ["x"], publication, clock=clock)

    assert [o.state for o in second.outcomes] == ["sent"], second.outcomes
    assert len(x.posts) == 3
    part1, part2, part3 = x.posts
    assert part1.text.endswith("1/3") and part2.text.endswith("2/3")
    assert part3.text.endswith("3/3")
    assert part2.reply_to == part1.id and part3.reply_to == part2.id
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "sent" and json.loads(row.ids) == [p.id for p in x.posts]


def test_the_budget_refuses_a_thread_longer_than_the_posts_left_today(
    cli: Cli, home: Path, seeded: App, x: XServer
) -> None:
    cli.env.update(point_at_peers(home, x=x))
    set_toml(home, "channels.x", posts_per_day=2)

    result = cli(*_post("anniversary", "--channels", "x", "--lang", "en"))

    assert result.exit_code == 1, result.output
    assert "refused by the X budget: 2 posts a day, 0 made today, this needs 3" in result.output
    assert "posts_per_day" in result.output
    assert x.posts == [] and x.requests == []
    # Refused when deciding: no publication, no delivery that would only fail.
    assert delivery_rows(seeded.engine) == []


def test_resolving_a_thread_stopped_midway_as_sent_posts_the_rest_after_it(
    cli: Cli, home: Path, seeded: App, x: XServer
) -> None:
    cli.env.update(point_at_peers(home, x=x, timeout=0.3))
    x.queue("POST", Reply(), Reply.accept_then_wait(30))  # part 2 lands, its answer is lost
    assert cli(*_post("anniversary", "--channels", "x", "--lang", "en")).exit_code == 1
    [row] = delivery_rows(seeded.engine)
    assert row.state == "unknown" and json.loads(row.ids) == [x.posts[0].id]
    part1, part2 = x.posts

    # "It went out" without the id of part 2 would leave part 3 unposted for good.
    refused = cli("deliveries", "resolve", str(row.id), "--sent")
    assert refused.exit_code == 1
    assert "thread of 3 posts that stopped at part 2" in refused.output
    assert delivery_rows(seeded.engine)[0].state == "unknown"

    resolved = cli("deliveries", "resolve", str(row.id), "--sent", "--id", part2.id)
    assert resolved.exit_code == 0, resolved.output
    assert f"[{row.id}] is now pending" in resolved.output
    sent = cli("deliveries", "send")
    assert sent.exit_code == 0, sent.output

    assert len(x.posts) == 3  # part 2 was not posted again
    part3 = x.posts[2]
    assert part3.text.endswith("3/3") and part3.reply_to == part2.id
    [row] = delivery_rows(seeded.engine)
    assert row.state == "sent" and json.loads(row.ids) == [part1.id, part2.id, part3.id]

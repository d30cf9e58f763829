"""A fan-out to thousands of subscribers by email and Telegram, through the real sending path.

The fake Telegram answers 429 to a client that goes faster than Telegram allows (30 messages a
second, 1 a second per chat) or sends during a flood wait, and refuses the chats of people who
blocked the bot. Time is virtual (tests/peers/virtual_clock.py): the channel and
the sender sleep without waiting, and the fake reads the same clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.channels.spec import Wiring
from bot.privacy import mask_address
from bot.publish.lines import outcome_line
from bot.publish.progress import FanOutPrinter, fan_out_progress
from bot.publish.sender import Outcome, Report
from bot.runtime import build_runtime
from bot.store.schema import subscribers
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, Cli
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import ApiError, Call, FakeTelegram
from tests.peers.virtual_clock import MICROSECONDS, VirtualClock
from tests.publish.helpers import (
    CHAT,
    add_subscribers,
    delivery_rows,
    point_at_peers,
    publish_occasion,
    use_peers,
)

DAY = "2024-02-01"
FLOOD_AT = 50  # the fake's own flood wait, once, at this sendMessage
FLOOD_SECONDS = 2
SENDS = ("sendMessage", "sendPhoto")
STARTS = {"en": "<b>Daily Briefing", "my": "<b>နေ့စဉ်သတင်းအကျဉ်း"}


class StrictTelegram:
    """The fake's sendMessage and sendPhoto (a post's card) as strict as Telegram's documented
    limits, on the virtual clock."""

    def __init__(self, telegram: FakeTelegram, clock: VirtualClock, blocked: set[str]) -> None:
        self.clock = clock
        self.blocked = blocked
        self.too_fast: list[str] = []
        self.floods = 0
        self.calls = 0
        self._last = -math.inf
        self._last_in: dict[str, float] = {}
        self._flood_until = -math.inf
        self._handlers = {method: telegram.handlers[method] for method in SENDS}
        for method in SENDS:
            telegram.handlers[method] = self  # called under the fake's lock

    def __call__(self, call: Call) -> Any:
        now, chat = self.clock.us, str(call.params["chat_id"])
        self.calls += 1
        if now < self._flood_until:
            self.too_fast.append(f"{chat} during a flood wait")
            raise self._flood(math.ceil((self._flood_until - now) / MICROSECONDS))
        if now - self._last < MICROSECONDS // 30:
            self.too_fast.append(f"{chat} {now - self._last} µs after the one before")
            raise self._flood(1)
        if now - self._last_in.get(chat, -math.inf) < MICROSECONDS:
            self.too_fast.append(f"{chat} twice within a second")
            raise self._flood(1)
        self._last = self._last_in[chat] = now
        if self.calls == FLOOD_AT:
            # Telegram may ask for a pause at any time; every send must then wait it out.
            self._flood_until = now + FLOOD_SECONDS * MICROSECONDS
            raise self._flood(FLOOD_SECONDS)
        if chat in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self._handlers[call.method](call)

    def _flood(self, seconds: int) -> ApiError:
        self.floods += 1
        return ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


@pytest.fixture
def peers() -> Iterator[tuple[SmtpPeer, FakeTelegram]]:
    with SmtpPeer() as smtp, FakeTelegram() as telegram:
        yield smtp, telegram


def add_telegram_people(app: App, count: int) -> dict[str, str]:
    """`count` Telegram subscribers, half en and half my: chat id → language."""
    people = {str(5_000_000_000 + n): ("en", "my")[n % 2] for n in range(count)}
    with app.engine.begin() as conn:
        conn.execute(
            subscribers.insert(),
            [
                {
                    "channel": "telegram",
                    "address": chat,
                    "lang": lang,
                    "status": "active",
                    "token": secrets.token_urlsafe(18),
                    "created_at": FIXED_NOW,
                }
                for chat, lang in people.items()
            ],
        )
    return people


def statuses(app: App) -> dict[str, str]:
    with app.engine.connect() as conn:
        return dict(conn.execute(sa.select(subscribers.c.address, subscribers.c.status)).all())


SIZES = [
    pytest.param("sqlite", 2000, 300, id="2000 emails, 300 telegram, sqlite"),
    pytest.param("postgres", 200, 60, id="200 emails, 60 telegram, postgres"),
]


@pytest.mark.timeout(100)
@pytest.mark.parametrize(("db_url", "emails", "chats"), SIZES, indirect=["db_url"])
def test_everyone_gets_one_message_in_their_language_within_telegrams_limits(
    app: App,
    peers: tuple[SmtpPeer, FakeTelegram],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    emails: int,
    chats: int,
) -> None:
    smtp, telegram = peers
    enter_seed(app)
    use_peers(app, monkeypatch, smtp=smtp, telegram=telegram)
    clock = VirtualClock()
    app.clock = lambda: FIXED_NOW + dt.timedelta(microseconds=clock.us - clock.start)
    readers = {p.email: p.lang for p in add_subscribers(app.engine, ["en", "my"] * (emails // 2))}
    people = add_telegram_people(app, chats)
    chat_ids = list(people)
    blocked = {chat_ids[n * (chats // 10) + n % 2] for n in range(10)}  # 5 en, 5 my
    strict = StrictTelegram(telegram, clock, blocked)
    publication = publish_occasion(app, "daily-briefing", DAY, ["email", "telegram"])
    printed: list[str] = []

    async def run() -> Report:
        # Telegram paced on the virtual clock: the runtime hands it to the channel.
        wiring = Wiring(clock=app.clock, monotonic=clock, sleep=clock.sleep)
        runtime = build_runtime(app, wiring, sleep=clock.sleep)
        # Time stands still while a message is on its way (the fake stamps it on arrival).
        clock.busy = lambda: runtime.telegram_queue().in_flight
        wired = runtime.connect(["email", "telegram"])
        printer = FanOutPrinter(
            app.engine, lambda o: print(outcome_line(o)), printed.append, terminal=False
        )
        sender = runtime.sender(wired, printer)
        try:
            return await sender.run(publication)
        finally:
            printer.finish()
            await wired.close()

    report = asyncio.run(run())

    # Email: one message each, in their language, to them alone.
    received = Counter(rcpt for got in smtp.messages for rcpt in got.rcpt_tos)
    assert set(received) == set(readers) and set(received.values()) == {1}
    for got in smtp.messages:
        [rcpt] = got.rcpt_tos
        assert f"Content-Language: {readers[rcpt]}".encode() in got.headers
    # Telegram: one message in each open chat, in its person's language; none where blocked.
    landed = Counter(chat for chat, _ in telegram.messages)
    assert set(landed) == (set(people) - blocked) | {CHAT}
    assert landed[CHAT] == 2 and set(landed.values()) == {1, 2}
    for (chat, _), message in telegram.messages.items():
        if chat != CHAT:
            assert (message.get("text") or message["caption"]).startswith(STARTS[people[chat]])
    # The limiter kept to Telegram's pace; the one flood wait it was given, it waited out.
    assert strict.too_fast == []
    assert strict.floods == 1
    assert clock.elapsed >= (chats + 2) / 30 + FLOOD_SECONDS - 1
    assert clock.elapsed < (chats + 2) / 30 + FLOOD_SECONDS + 3
    # Every delivery ended: sent, or failed for the people who blocked the bot (not retried).
    rows = delivery_rows(app.engine, publication)
    assert len(rows) == emails + chats + 2
    gone = {row.target: row for row in rows if row.state != "sent"}
    assert set(gone) == blocked
    assert {(row.state, row.attempts) for row in gone.values()} == {("failed", 1)}
    assert all("bot was blocked by the user" in row.error for row in gone.values())
    assert {chat for chat, status in statuses(app).items() if status != "active"} == blocked
    # The flood wait was sat out in the Telegram queue and the same message sent again: one
    # attempt as the sender counts them.
    assert {row.attempts for row in rows if row.state == "sent"} == {1}
    assert fan_out_progress(app.engine, app.clock()) == []
    assert report.count("sent") == emails + chats + 2 - 10
    # The terminal: a progress line now and then instead of a line per person, a line for
    # each public post and each failure, and no one's address or chat id in clear.
    shown = capsys.readouterr().out + "".join(printed)
    progress = [line for line in shown.splitlines() if line.startswith("fan-out #")]
    assert 2 <= len(progress) <= 12
    assert progress[-1].startswith(f"fan-out #{publication}: {emails + chats - 10} sent")
    assert " · 10 failed · 0 to go" in progress[-1]
    assert (
        sum(
            line.startswith(f"✓ telegram · {lang} · {CHAT}")
            for line in shown.splitlines()
            for lang in ("en", "my")
        )
        == 2
    )
    assert sum(line.startswith("✗ telegram") for line in shown.splitlines()) == 10
    assert len(shown.splitlines()) < 40
    for address in [*readers, *people]:
        assert address not in shown


def test_progress_reads_an_unfinished_fan_out_from_the_table(app: App) -> None:
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"] * 5)
    publication = publish_occasion(app, "daily-briefing", DAY, ["email"])
    rows = delivery_rows(app.engine, publication)
    from bot.store.schema import deliveries

    with app.engine.begin() as conn:
        for row in rows[:4]:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == row.id)
                .values(state="sent", sent_at=FIXED_NOW - dt.timedelta(minutes=1))
            )
        conn.execute(
            deliveries.update().where(deliveries.c.id == rows[4].id).values(state="failed")
        )

    [state] = fan_out_progress(app.engine, FIXED_NOW)

    assert dataclasses.astuple(state)[:8] == (publication, state.key, "email", 4, 1, 0, 0, 5)
    assert state.rate == pytest.approx(4 / 300)
    assert state.eta == dt.timedelta(seconds=375)
    assert state.describe() == (
        f"fan-out #{publication} {state.key} (email): 4 sent · 1 failed · 5 to go · 0.8/min · "
        "about 6 min 15 s left"
    )


def test_post_now_shows_a_fan_out_as_a_progress_line(
    cli: Cli, home: Path, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    enter_seed(app)
    people = add_subscribers(app.engine, ["en", "my"] * 15)
    with SmtpPeer() as smtp:
        smtp.refuse(people[3].email)
        cli.env.update(point_at_peers(home, smtp=smtp))

        result = cli("post-now", "daily-briefing", "--channels", "email", "--on", DAY, "--yes")

    assert result.exit_code == 1, result.output  # one refused address
    lines = result.output.splitlines()
    progress = [line for line in lines if line.startswith("fan-out #1: ")]
    assert 1 <= len(progress) <= 11
    assert progress[-1].startswith("fan-out #1: 29 sent · 1 failed · 0 to go")
    [failed] = [line for line in lines if line.startswith("✗ email")]
    assert mask_address(people[3].email) in failed and "550" in failed
    assert not any(line.startswith("✓ email") for line in lines)  # no line per person
    assert "#1: 1 failed, 29 sent" in result.output
    for person in people:
        assert person.email not in result.output


def test_on_a_terminal_the_line_is_redrawn_in_place(app: App) -> None:
    enter_seed(app)
    add_subscribers(app.engine, ["en"] * 30)
    publication = publish_occasion(app, "daily-briefing", DAY, ["email"])
    rows = delivery_rows(app.engine, publication)
    written: list[str] = []
    printed: list[Outcome] = []
    seconds = iter(range(1000))
    printer = FanOutPrinter(
        app.engine, printed.append, written.append, terminal=True, clock=lambda: next(seconds)
    )
    printer.tracker.follow(publication)  # counted from here (the outcomes below are made up)

    for row in rows:
        state = "failed" if row.id == rows[5].id else "sent"
        printer(Outcome(row.id, "email", row.target, "en", state, "", publication, 1))
    printer.finish()

    assert [outcome.state for outcome in printed] == ["failed"]  # only the failure, by itself
    assert all(text.startswith("\r") for text in written[:-1])
    assert written[-1] == "\n"
    assert written[-2] == f"\rfan-out #{publication}: 29 sent · 1 failed · 0 to go · 1.0/s\x1b[K"
    assert "\r\x1b[K" in written  # cleared before the failure's own line

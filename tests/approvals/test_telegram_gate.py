"""The two-approval anniversary, decided on Telegram through a local Bot API server.

The scheduler's ticks run at chosen moments; staff press the buttons of the request the bot sent
to the admin chat, and the bot reads those presses with getUpdates, as it does in `bot run`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.channels.spec import Wiring
from bot.runtime import build_runtime
from bot.schedule.daemon import make_runner
from bot.schedule.runner import Runner, TickReport
from bot.store.schema import (
    approval_requests,
    approval_votes,
    deliveries,
    occasion_log,
    publications,
)
from bot.telegram_bot import build_application
from tests.approvals.helpers import (
    ADMIN_CHAT,
    ANNIVERSARY,
    KEY,
    STAFF,
    enter_figures,
    require_approval,
)
from tests.compose.helpers import SEED_TOTALS
from tests.conftest import dump_database
from tests.peers.telegram_server import FakeTelegram
from tests.peers.x_server import XServer
from tests.publish.helpers import CHAT, reload_settings, set_toml, use_peers
from tests.telegram_bot.conftest import TOKEN, RunningBot

STRANGER = 7719990001
TABLES = ("approval_requests", "approval_votes", "publications", "deliveries", "occasion_log")


class Office:
    """The bot, the scheduler's runner and the peers, on one moment the test moves."""

    def __init__(self, app: App, telegram: FakeTelegram, x: XServer) -> None:
        self.app, self.telegram, self.x = app, telegram, x
        self.moment = [ANNIVERSARY - dt.timedelta(hours=47)]
        app.clock = lambda: self.moment[0].astimezone(dt.UTC)
        self.lines: list[str] = []
        self.runtime = build_runtime(app, _virtual_pacing(app))
        self.runner: Runner = make_runner(self.runtime, self.lines.append)
        self.loop = asyncio.Runner()
        # Each time the bot says "approved: tick now" (in `bot run`, it wakes the scheduler).
        self.woken: list[str] = []

    def tick(self, at: dt.datetime) -> TickReport:
        self.moment[0] = at
        return self.loop.run(self.runner.tick(at.astimezone(dt.UTC)))

    def admin_messages(self) -> list[dict[str, Any]]:
        found = [m for (chat, _), m in self.telegram.messages.items() if chat == str(ADMIN_CHAT)]
        return sorted(found, key=lambda m: m["message_id"])

    def buttons(self) -> list[tuple[int, str, str]]:
        """(message id, label, data) of every button in the admin chat, oldest first."""
        out = []
        for message in self.admin_messages():
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                out += [(message["message_id"], b["text"], b["callback_data"]) for b in row]
        return out

    def press(self, name_or_id: str | int, data: str, message_id: int) -> str:
        user = STAFF[name_or_id] if isinstance(name_or_id, str) else name_or_id
        query = self.telegram.push_callback(
            ADMIN_CHAT, data, message_id=message_id, chat_type="supergroup", user_id=user
        )
        assert self.telegram.wait_for(lambda: query in self.telegram.callback_answers)
        return self.telegram.callback_answers[query]

    def public_posts(self) -> int:
        """Posts that reached a channel: X, or the organisation's Telegram channel."""
        to_channel = [
            c for c in self.telegram.calls_to("sendMessage") if c.params["chat_id"] == CHAT
        ]
        return len(self.x.posts) + len(to_channel)

    def published(self) -> list[tuple[str, str]]:
        with self.app.engine.connect() as conn:
            return [
                (r.key, r.created_by)
                for r in conn.execute(sa.select(publications.c.key, publications.c.created_by))
            ]

    def state(self) -> str | None:
        with self.app.engine.connect() as conn:
            found: str | None = conn.execute(
                sa.select(occasion_log.c.state).where(occasion_log.c.key == KEY)
            ).scalar()
        return found

    def votes(self) -> int:
        with self.app.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(approval_votes)).scalar() or 0
            )

    def requests(self) -> list[tuple[int, str]]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                sa.select(approval_requests.c.id, approval_requests.c.state).order_by(
                    approval_requests.c.id
                )
            )
            return [(r.id, r.state) for r in rows]


@pytest.fixture
def office(home: Path, app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    require_approval(home)
    with FakeTelegram() as telegram, XServer() as x:
        use_peers(
            app,
            monkeypatch,
            telegram=telegram,
            x=x,
            secrets={"BOT_TELEGRAM_TOKEN": TOKEN},
            timeout=5,
        )
        enter_figures(app, by="Kyaw")
        built = Office(app, telegram, x)
        application = build_application(built.runtime, approved=lambda: built.woken.append(KEY))
        assert application is not None
        with RunningBot(application):
            yield built
        if built.runner.alerter is not None:
            built.loop.run(built.runner.alerter.close())
        built.loop.close()


def _virtual_pacing(app: App) -> Wiring:
    """Telegram's one message per second per chat, kept on a virtual clock: no real waiting."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)  # only lets other tasks run; no real time passes

    return Wiring(clock=app.clock, monotonic=lambda: now[0], sleep=sleep)


def _approve_buttons(office: Office) -> list[tuple[int, str]]:
    return [(mid, data) for mid, label, data in office.buttons() if label.startswith("✓")]


def test_two_approvals_release_the_anniversary_and_one_is_not_enough(
    office: Office, db_url: str
) -> None:
    office.tick(ANNIVERSARY - dt.timedelta(hours=47))
    # The request, every edition, then the question with its buttons, in the admin chat.
    texts = [m["text"] for m in office.admin_messages()]
    assert (
        "Approval needed: anniversary" in texts[0]
        and "not counted: Kyaw (entered or corrected" in texts[0]
    )
    assert any("x · my" in t for t in texts) and any("email · en" in t for t in texts)
    [(message_id, approve)] = _approve_buttons(office)
    assert office.public_posts() == 0 and office.published() == []

    # Strangers and forged buttons change nothing.
    before = dump_database(db_url, TABLES)
    assert "only the organisation's staff" in office.press(STRANGER, approve, message_id)
    forged = approve.split(":")
    forged[2] = "0" * len(forged[2])
    assert "does not belong" in office.press("Aye", ":".join(forged), message_id)
    assert "not one of ours" in office.press("Aye", "apv:1:x:y", message_id)
    assert dump_database(db_url, TABLES) == before

    # Kyaw entered the figures: under the two-approval rule he does not count.
    assert "Kyaw entered or corrected" in office.press("Kyaw", approve, message_id)
    assert "1 of 2 approvals (Aye)" in office.press("Aye", approve, message_id)
    assert office.woken == []
    assert "already approved" in office.press("Aye", approve, message_id)
    assert office.votes() == 1

    # Due with one approval: held, the admins are reminded, nothing reaches any channel.
    report = office.tick(ANNIVERSARY + dt.timedelta(seconds=30))
    assert report.held == [KEY] and office.state() == "awaiting"
    reminder = office.admin_messages()[-1]["text"]
    assert "is not approved: 1 of 2 (approved by Aye). Nothing was sent" in reminder
    office.tick(ANNIVERSARY + dt.timedelta(minutes=1))
    assert office.public_posts() == 0 and office.published() == []
    assert sum("is not approved" in m["text"] for m in office.admin_messages()) == 1

    # Min approves late, within the six-hour grace: it goes out at the next tick, once.
    assert "approved (Aye, Min)" in office.press("Min", approve, message_id)
    assert office.woken == [KEY]  # the scheduler is woken, not left to its next tick
    report = office.tick(ANNIVERSARY + dt.timedelta(hours=2))
    assert report.published == [KEY]
    assert office.published() == [(KEY, "scheduler, approved by Aye, Min")]
    # x en and my as threads, the Telegram channel in both languages.
    assert len(office.x.posts) >= 2 and office.public_posts() > len(office.x.posts)
    posts = office.public_posts()
    office.tick(ANNIVERSARY + dt.timedelta(hours=2, minutes=1))
    assert office.public_posts() == posts


def test_a_figure_change_after_approval_voids_it_and_asks_again_with_the_change(
    office: Office,
) -> None:
    office.tick(ANNIVERSARY - dt.timedelta(hours=47))
    [(message_id, approve)] = _approve_buttons(office)
    office.press("Aye", approve, message_id)
    office.press("Min", approve, message_id)
    assert office.requests() == [(1, "approved")]

    killed = SEED_TOTALS["killed"]
    enter_figures(office.app, by="Kyaw", totals={"killed": killed + 12})
    office.tick(ANNIVERSARY - dt.timedelta(hours=20))
    assert office.requests() == [(1, "void"), (2, "pending")]
    asked = [m["text"] for m in office.admin_messages() if "This replaces #1" in m["text"]]
    assert len(asked) == 1 and f"[({killed}) → ({killed + 12})]" in asked[0]
    # The old buttons no longer approve anything.
    assert "no longer applies" in office.press("Kyaw", approve, message_id)

    report = office.tick(ANNIVERSARY + dt.timedelta(seconds=30))
    assert report.held == [KEY] and office.public_posts() == 0
    [_, (new_id, new_approve)] = _approve_buttons(office)[:2]
    assert "Kyaw entered or corrected" in office.press("Kyaw", new_approve, new_id)
    office.press("Aye", new_approve, new_id)
    office.press("Min", new_approve, new_id)
    assert office.tick(ANNIVERSARY + dt.timedelta(minutes=5)).published == [KEY]
    assert any(f"({killed + 12})" in p.text for p in office.x.posts)


def test_rejected_on_telegram_is_recorded_with_the_reason_and_never_posted(
    office: Office,
) -> None:
    office.tick(ANNIVERSARY - dt.timedelta(hours=47))
    [(message_id, reject)] = [
        (mid, data) for mid, label, data in office.buttons() if label.startswith("✗")
    ]
    assert "/reject 1 your reason" in office.press("Aye", reject, message_id)
    office.telegram.push_message(
        ADMIN_CHAT,
        "/reject 1 the killed figure is not verified",
        chat_type="supergroup",
        user_id=STAFF["Aye"],
    )
    assert office.telegram.wait_for(lambda: office.requests() == [(1, "rejected")])
    office.telegram.push_message(ADMIN_CHAT, "/approve 1", chat_type="supergroup", user_id=STRANGER)
    office.telegram.wait_for(
        lambda: any("only the organisation" in m["text"] for m in office.admin_messages())
    )
    report = office.tick(ANNIVERSARY + dt.timedelta(seconds=30))
    assert office.state() == "rejected" and report.published == []
    assert any("not verified" in line for line in report.lines)
    assert office.public_posts() == 0 and office.published() == []


def test_a_late_approval_releases_nothing_to_a_channel_switched_off(
    office: Office, home: Path
) -> None:
    office.tick(ANNIVERSARY - dt.timedelta(hours=47))
    [(message_id, approve)] = _approve_buttons(office)
    office.press("Aye", approve, message_id)
    office.tick(ANNIVERSARY + dt.timedelta(seconds=30))  # due, one approval: held
    # X is switched off while the post waits: what would go out changed, so the approval
    # given so far is void and the editions without X are asked for again.
    set_toml(home, "channels.x", enabled=False)
    reload_settings(office.app)
    office.press("Min", approve, message_id)
    report = office.tick(ANNIVERSARY + dt.timedelta(hours=1))
    assert report.published == [] and [state for _, state in office.requests()] == [
        "void",
        "pending",
    ]
    new_id, new_approve = _approve_buttons(office)[-1]
    office.press("Aye", new_approve, new_id)
    office.press("Min", new_approve, new_id)
    report = office.tick(ANNIVERSARY + dt.timedelta(hours=2))

    assert report.published == [KEY]
    assert office.x.posts == [] and office.x.requests == []
    assert office.public_posts() > 0  # Telegram, still on, got it
    with office.app.engine.connect() as conn:
        channels = set(conn.execute(sa.select(deliveries.c.channel)).scalars())
    assert "x" not in channels

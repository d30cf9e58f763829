"""One tick at a time, with the moments the test chooses: catch-up, missed, held, paused."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import control
from bot.alerts import Alerter
from bot.app import App
from bot.calendar.config import load_schedule
from bot.channels.base import Payload, Progress
from bot.channels.folder import FolderChannel
from bot.publish.sender import Report, Sender
from bot.runtime import build_runtime
from bot.schedule.runner import Runner
from bot.store.schema import deliveries, occasion_log, publications, subscribers
from tests.compose.helpers import SEED_TOTALS, enter_seed, put
from tests.conftest import Cli

YANGON = ZoneInfo("Asia/Yangon")
ANNIVERSARY = dt.datetime(2024, 2, 1, 9, 0, tzinfo=YANGON)
BRIEFING = dt.datetime(2024, 2, 1, 20, 0, tzinfo=YANGON)


def _runner(app: App, channels: dict[str, object] | None = None) -> tuple[Runner, Alerter]:
    """A runner sending through the outbox folder, alerting into the folder's Telegram chat."""
    folder = app.settings.outbox_dir
    wired = channels or {name: FolderChannel(name, folder, app.clock) for name in ("x", "telegram")}
    moment: list[dt.datetime] = [ANNIVERSARY]

    async def send() -> Report:
        sender = Sender(app.engine, wired, clock=lambda: moment[0])  # type: ignore[arg-type]
        return await sender.run()

    alerter = Alerter(
        {"telegram": FolderChannel("telegram", folder / "admin", app.clock)}, "@staff", "", "AAPP"
    )
    schedule = load_schedule(app.settings.config_dir / "schedule.toml")
    runner = Runner(app, schedule, build_runtime(app).publisher(alerter), send, alerter)
    runner.moment = moment  # type: ignore[attr-defined]
    return runner, alerter


def _tick(runner: Runner, at: dt.datetime):  # type: ignore[no-untyped-def]
    runner.moment[0] = at  # type: ignore[attr-defined]
    return asyncio.run(runner.tick(at.astimezone(dt.UTC)))


def _keys(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(sa.select(publications.c.key).order_by(publications.c.id)).scalars()
        )


def _log(app: App, key: str) -> tuple[str, str] | None:
    with app.engine.connect() as conn:
        row = conn.execute(
            sa.select(occasion_log.c.state, occasion_log.c.detail).where(occasion_log.c.key == key)
        ).first()
    return (row.state, row.detail) if row else None


def _admin_messages(app: App) -> list[str]:
    folder = app.settings.outbox_dir / "admin" / "telegram"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))]


def test_downtime_within_grace_posts_once_on_start(app: App) -> None:
    enter_seed(app)
    runner, _ = _runner(app)
    _tick(runner, ANNIVERSARY - dt.timedelta(hours=1))  # running before it was due
    # The bot was down at 09:00 and comes back at 12:00: within the 6-hour grace.
    report = _tick(runner, ANNIVERSARY + dt.timedelta(hours=3))
    assert report.published == ["anniversary/coup/2024-02-01"]
    assert _keys(app) == ["anniversary/coup/2024-02-01"]
    again = _tick(runner, ANNIVERSARY + dt.timedelta(hours=3, minutes=1))
    assert again.published == [] and _keys(app) == ["anniversary/coup/2024-02-01"]
    files = list((app.settings.outbox_dir / "x").glob("*.txt"))
    assert len(files) == 6  # 3 parts in English, 3 in Burmese, once


def test_downtime_beyond_grace_is_recorded_missed_and_reported(app: App) -> None:
    enter_seed(app)
    runner, alerter = _runner(app)
    _tick(runner, ANNIVERSARY - dt.timedelta(hours=1))
    report = _tick(runner, ANNIVERSARY + dt.timedelta(hours=7))  # back after the grace
    assert report.missed == ["anniversary/coup/2024-02-01"]
    assert _keys(app) == []
    state, detail = _log(app, "anniversary/coup/2024-02-01") or ("", "")
    assert state == "missed" and "7 h ago" in detail
    assert any("anniversary/coup/2024-02-01" in text for text in _admin_messages(app))
    # Reported once, not at every tick.
    _tick(runner, ANNIVERSARY + dt.timedelta(hours=8))
    assert len(alerter.sent) == 1


def test_stale_figures_hold_the_briefing_until_fresh_ones_arrive(app: App) -> None:
    # Figures as of 2024-01-28: four days old on February 1; the briefing allows two.
    put(app, SEED_TOTALS, "2024-01-28")
    runner, _ = _runner(app)
    _tick(runner, BRIEFING - dt.timedelta(minutes=1))
    report = _tick(runner, BRIEFING + dt.timedelta(minutes=1))
    assert report.held == ["daily-briefing/2024-02-01"]
    assert "daily-briefing/2024-02-01" not in _keys(app)
    assert not list((app.settings.outbox_dir / "telegram").glob("*.html"))
    alerts = _admin_messages(app)
    assert len(alerts) == 1 and "too old" in alerts[0] and "2024-01-28" in alerts[0]
    # Staff enter today's figures; the next tick, still within the hour of grace, posts it.
    put(app, {**SEED_TOTALS, "killed": SEED_TOTALS["killed"] + 3}, "2024-02-01")
    report = _tick(runner, BRIEFING + dt.timedelta(minutes=20))
    assert report.published == ["daily-briefing/2024-02-01"]
    posted = list((app.settings.outbox_dir / "telegram").glob("*.html"))
    assert posted and "(4477)" in " ".join(p.read_text(encoding="utf-8") for p in posted)
    assert _log(app, "daily-briefing/2024-02-01") == ("published", "publication #1")


def test_an_occasion_that_cannot_be_composed_is_recorded_and_told_once(app: App) -> None:
    # No figures at all: the daily briefing cannot be composed.
    runner, _ = _runner(app)
    _tick(runner, BRIEFING - dt.timedelta(minutes=1))
    first = _tick(runner, BRIEFING + dt.timedelta(minutes=1))
    later = [_tick(runner, BRIEFING + dt.timedelta(minutes=m)) for m in (2, 3, 4)]

    key = "daily-briefing/2024-02-01"
    assert [line for line in first.lines if line.startswith(key)] == [
        f"{key}: {(_log(app, key) or ('', ''))[1]}"
    ]
    assert all(not any(line.startswith(key) for line in r.lines) for r in later)
    state, detail = _log(app, key) or ("", "")
    assert state == "failed" and detail.startswith("cannot be composed:")
    alerts = [text for text in _admin_messages(app) if key in text]
    assert len(alerts) == 1 and "cannot be composed" in alerts[0]
    assert key not in _keys(app)


class _PausingChannel:
    """Email that pauses the bot after the fifth message, as staff would in an emergency."""

    name: ClassVar[str] = "email"
    via: ClassVar[str] = "platform"

    def __init__(self, pause: Callable[[], None]) -> None:
        self.pause = pause
        self.received: list[str] = []

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        await progress.before(0)
        self.received.append(payload.target)
        if len(self.received) == 5:
            self.pause()
        await progress.after(0, f"<{len(self.received)}@test>")
        return [f"<{len(self.received)}@test>"]

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        return None

    async def close(self) -> None:
        return None


def test_pause_stops_a_fan_out_midway_and_resume_finishes_it_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Email is configured (the deliveries are meant for the platform), sent by the channel below.
    monkeypatch.setenv("BOT_SMTP_HOST", "127.0.0.1:1")
    enter_seed(app)
    put(
        app,
        {key: value - 40 for key, value in SEED_TOTALS.items() if key != "detained"}
        | {"detained": SEED_TOTALS["detained"] - 10},
        "2024-01-24",
    )
    with app.engine.begin() as conn:
        for number in range(20):
            conn.execute(
                subscribers.insert().values(
                    address=f"person{number}@example.org",
                    lang="en" if number % 2 else "my",
                    status="active",
                    token=f"t{number}",
                    created_at=ANNIVERSARY,
                )
            )
    monday = dt.datetime(2024, 2, 5, 9, 0, tzinfo=YANGON)
    channel = _PausingChannel(
        lambda: control.pause(app.engine, "wrong figure", "staff", monday, None)
    )
    runner, _ = _runner(app, {"email": channel})
    _tick(runner, monday - dt.timedelta(minutes=1))
    report = _tick(runner, monday + dt.timedelta(minutes=1))
    assert report.published == ["weekly-digest/2024-02-05"]
    assert len(channel.received) == 5  # stopped right after the pause
    paused = _tick(runner, monday + dt.timedelta(minutes=2))
    assert any("paused" in line for line in paused.lines) and len(channel.received) == 5
    control.resume(app.engine)
    _tick(runner, monday + dt.timedelta(minutes=3))
    assert sorted(channel.received) == sorted(f"person{n}@example.org" for n in range(20))
    with app.engine.connect() as conn:
        states = conn.execute(sa.select(deliveries.c.state)).scalars().all()
    assert states == ["sent"] * 20


def test_a_pause_with_an_end_lifts_itself(app: App) -> None:
    until = ANNIVERSARY + dt.timedelta(hours=1)
    control.pause(app.engine, "maintenance", "staff", ANNIVERSARY, until)
    assert control.current_pause(app.engine, ANNIVERSARY + dt.timedelta(minutes=5)) is not None
    assert control.current_pause(app.engine, until + dt.timedelta(seconds=1)) is None


def test_pause_and_resume_commands_survive_restarts(cli: Cli, home: Path) -> None:
    assert cli("figures", "import", str(home / "config" / "sample-figures.csv")).exit_code == 0
    result = cli("pause", "--reason", "verifying a figure")
    assert result.exit_code == 0, result.output
    status = cli("status")
    assert "verifying a figure" in status.output
    refused = cli("post-now", "daily-briefing", "--on", "2024-02-01", "--yes")
    assert refused.exit_code == 1 and "paused" in refused.output
    assert cli("resume").exit_code == 0
    assert "paused:    no" in cli("status").output

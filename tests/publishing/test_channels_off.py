"""`[channels.NAME] enabled = false`: nothing reaches that channel, on any path, and staff see it.

The scheduler's tick (as `bot run --once`), `bot post-now`; Telegram's /postnow and the late
release of an approved post are in tests/telegram_bot/test_staff.py and
tests/approvals/test_telegram_gate.py. All of them go through one publisher.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.runtime import build_runtime
from bot.schedule.daemon import make_runner
from bot.store.schema import deliveries
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import FakeTelegram
from tests.peers.x_server import XServer
from tests.publish.helpers import (
    add_subscribers,
    point_at_peers,
    reload_settings,
    set_toml,
    use_peers,
)

ANNIVERSARY = dt.datetime(2024, 2, 1, 9, 0, 5, tzinfo=ZoneInfo("Asia/Yangon"))
CHANNELS = ("x", "telegram", "email")


@pytest.fixture
def peers() -> Iterator[tuple[XServer, FakeTelegram, SmtpPeer]]:
    with XServer() as x, FakeTelegram() as telegram, SmtpPeer() as smtp:
        yield x, telegram, smtp


def _reached(peers: tuple[XServer, FakeTelegram, SmtpPeer]) -> dict[str, int]:
    x, telegram, smtp = peers
    return {
        "x": len(x.requests),
        "telegram": len(telegram.calls_to("sendMessage")) + len(telegram.calls_to("sendPhoto")),
        "email": len(smtp.messages),
    }


def _channels(app: App) -> set[str]:
    with app.engine.connect() as conn:
        return set(conn.execute(sa.select(deliveries.c.channel)).scalars())


@pytest.mark.parametrize("off", CHANNELS)
def test_a_scheduler_tick_sends_nothing_to_a_channel_switched_off(
    app: App,
    peers: tuple[XServer, FakeTelegram, SmtpPeer],
    monkeypatch: pytest.MonkeyPatch,
    off: str,
) -> None:
    x, telegram, smtp = peers
    use_peers(app, monkeypatch, x=x, telegram=telegram, smtp=smtp)
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    set_toml(app.settings.home, f"channels.{off}", enabled=False)
    reload_settings(app)
    app.clock = lambda: ANNIVERSARY.astimezone(dt.UTC)
    lines: list[str] = []

    async def tick() -> list[str]:
        runner = make_runner(build_runtime(app), lines.append)
        try:
            return (await runner.tick(app.clock())).lines
        finally:
            if runner.alerter is not None:
                await runner.alerter.close()

    said = asyncio.run(tick())

    assert any("publication #1" in line for line in said), said
    reached = _reached(peers)
    assert reached[off] == 0, reached
    assert all(reached[name] > 0 for name in CHANNELS if name != off), reached
    assert off not in _channels(app)
    assert not (app.settings.outbox_dir / off).exists()


@pytest.mark.parametrize("off", ("x", "telegram"))
def test_post_now_sends_nothing_to_a_channel_switched_off(
    cli: Cli, home: Path, app: App, peers: tuple[XServer, FakeTelegram, SmtpPeer], off: str
) -> None:
    x, telegram, _ = peers
    enter_seed(app)
    cli.env.update(point_at_peers(home, x=x, telegram=telegram))
    set_toml(home, f"channels.{off}", enabled=False)

    result = cli("post-now", "daily-briefing", "--on", "2024-02-01", "--yes")

    assert result.exit_code == 0, result.output
    assert f"{off}: turned off in config/bot.toml" in result.output
    reached = _reached(peers)
    assert reached[off] == 0 and reached["x" if off == "telegram" else "telegram"] > 0
    assert off not in _channels(app)
    # Asked for that channel alone: refused, nothing recorded.
    alone = cli("post-now", "daily-briefing", "--on", "2024-02-01", "--channels", off, "--yes")
    assert alone.exit_code == 1 and "no enabled channel" in alone.output


def test_schedule_preview_and_status_say_a_channel_is_off(cli: Cli, home: Path, app: App) -> None:
    enter_seed(app)
    set_toml(home, "channels.telegram", enabled=False)

    schedule = cli("schedule", "--days", "2")
    assert schedule.exit_code == 0, schedule.output
    assert "telegram (off)" in schedule.output

    preview = cli("preview", "daily-briefing", "--on", "2024-02-01")
    assert "telegram: turned off in config/bot.toml" in preview.output

    status = cli("status")
    assert "telegram off (config/bot.toml)" in status.output

    shown = cli("config", "show")
    assert "telegram:  turned off" in shown.output

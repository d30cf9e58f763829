"""/health tells monitoring whether a post that was due went out; / shows the figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import httpx
import pytest
import sqlalchemy as sa

from bot import control
from bot.app import App
from bot.health import Health
from bot.publish import lease
from bot.web.app import build_web
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW, Cli


def _get(app: App, path: str, now: dt.datetime = FIXED_NOW) -> httpx.Response:
    web = build_web(app, lambda: now)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            return await client.get(path)

    return asyncio.run(go())


def _running(app: App) -> None:
    lease.acquire(app.engine, "scheduler", "here:1:x", FIXED_NOW, dt.timedelta(minutes=5))
    control.set_last_tick(app.engine, FIXED_NOW)


def test_healthy_when_the_scheduler_runs_and_nothing_was_missed(app: App) -> None:
    _running(app)
    response = _get(app, "/health")
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["running"] is True


def test_health_reads_the_database_off_the_event_loop(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loop is shared with the scheduler and the Telegram bot: a slow database must not stop it.
    from bot.web import health

    threads: list[threading.Thread] = []
    real = health.check

    def spy(engine: sa.Engine, now: dt.datetime) -> Health:
        threads.append(threading.current_thread())
        return real(engine, now)

    monkeypatch.setattr(health, "check", spy)
    _running(app)
    assert _get(app, "/health").status_code == 200
    assert threads and threads[0] is not threading.current_thread()


def test_unhealthy_without_a_scheduler(app: App) -> None:
    response = _get(app, "/health")
    assert response.status_code == 503
    assert "no scheduler is running" in " ".join(response.json()["problems"])


def test_unhealthy_when_a_due_post_did_not_go_out(app: App) -> None:
    from bot.store.schema import occasion_log

    _running(app)
    with app.engine.begin() as conn:
        conn.execute(
            occasion_log.insert().values(
                key="anniversary/coup/2024-02-01",
                message="anniversary",
                due_at=FIXED_NOW - dt.timedelta(hours=1),
                state="held",
                detail="figures too old",
                updated_at=FIXED_NOW,
                alerted=True,
            )
        )
    response = _get(app, "/health")
    assert response.status_code == 503
    assert "anniversary/coup/2024-02-01 held" in response.json()["problems"][0]


def test_the_page_lists_the_latest_figures_in_both_languages(app: App) -> None:
    enter_seed(app)
    english = _get(app, "/").text
    assert "25,931" in english and "killed by the junta" in english
    burmese = _get(app, "/?lang=my").text
    assert "၂၅,၉၃၁" in burmese and "ဖမ်းဆီးခံရသူ" in burmese


def test_schedule_lists_posts_with_local_and_utc_times_and_freshness(cli: Cli) -> None:
    from tests.conftest import ROOT

    assert cli("figures", "import", str(ROOT / "config" / "sample-figures.csv")).exit_code == 0
    result = cli("schedule", "--days", "2")
    assert result.exit_code == 0, result.output
    assert "20:00 +0630 (13:30 UTC)  daily-briefing" in result.output
    # The sample figures are years old: the briefing would be held.
    assert "HELD unless updated" in result.output


def test_the_web_server_believes_forwarded_addresses_only_from_the_configured_proxy(
    app: App,
) -> None:
    from bot.app import build_app
    from bot.runtime import build_runtime
    from bot.schedule.daemon import _Quiet
    from tests.publish.helpers import set_toml

    set_toml(app.settings.home, "web", forwarded_allow_ips="10.0.0.5")

    configured = build_app(app.settings.home, clock=lambda: FIXED_NOW)
    try:
        server = _Quiet.make(build_runtime(configured))
        config = server.config  # type: ignore[attr-defined]
        assert config.proxy_headers is True
        assert config.forwarded_allow_ips == "10.0.0.5"
    finally:
        configured.close()

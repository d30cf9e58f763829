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


def _get(
    app: App,
    path: str,
    now: dt.datetime = FIXED_NOW,
    client: tuple[str, int] = ("127.0.0.1", 123),
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    web = build_web(app, lambda: now)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            return await http.get(path, headers=headers)

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


def _paused_with_a_reason(app: App) -> None:
    _running(app)
    control.pause(app.engine, "verifying Sagaing killed figure", "Aye Aye", FIXED_NOW, None)


@pytest.mark.parametrize(
    ("case", "client", "headers"),
    [
        ("another machine", ("203.0.113.9", 5000), {}),
        ("through a proxy on this machine", ("127.0.0.1", 5000), {"x-forwarded-for": "1.2.3.4"}),
        ("a wrong token", ("203.0.113.9", 5000), {"authorization": "Bearer wrong"}),
    ],
)
def test_health_tells_the_public_only_whether_all_is_well(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    client: tuple[str, int],
    headers: dict[str, str],
) -> None:
    monkeypatch.setenv("BOT_HEALTH_TOKEN", "a-long-health-token-for-monitoring")
    _paused_with_a_reason(app)
    response = _get(app, "/health", client=client, headers=headers)
    assert response.json() == {"ok": True}, case
    assert response.status_code == 200
    assert "Sagaing" not in response.text


@pytest.mark.parametrize(
    ("case", "client", "headers"),
    [
        ("the health token", ("203.0.113.9", 5000), {"authorization": "Bearer " + "t" * 40}),
        ("this machine, directly", ("127.0.0.1", 5000), {}),
        ("this machine over IPv6", ("::1", 5000), {}),
    ],
)
def test_health_gives_details_to_the_token_and_to_this_machine(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    client: tuple[str, int],
    headers: dict[str, str],
) -> None:
    monkeypatch.setenv("BOT_HEALTH_TOKEN", "t" * 40)
    _paused_with_a_reason(app)
    body = _get(app, "/health", client=client, headers=headers).json()
    assert body["ok"] is True and body["running"] is True, case
    assert "verifying Sagaing killed figure" in body["paused"]


def test_the_web_server_is_bounded_and_believes_only_the_configured_proxy(app: App) -> None:
    from bot.app import build_app
    from bot.runtime import build_runtime
    from tests.publish.helpers import set_toml

    set_toml(
        app.settings.home,
        "web",
        forwarded_allow_ips="10.0.0.5",
        max_connections=7,
        keep_alive_seconds=3,
        max_header_bytes=4096,
    )
    configured = build_app(app.settings.home, clock=lambda: FIXED_NOW)
    try:
        server = build_runtime(configured).web_server("127.0.0.1", 0, own_signals=False)
        config = server.config
        proxied = config.app.app  # RecordPeer → ProxyHeadersMiddleware
        assert proxied.trusted_hosts.always_trust is False
        assert "10.0.0.5" in proxied.trusted_hosts and "127.0.0.1" not in proxied.trusted_hosts
        assert config.proxy_headers is False  # read once, inside RecordPeer
        assert config.timeout_keep_alive == 3
        assert config.h11_max_incomplete_event_size == 4096
        assert config.limit_concurrency == 8
        assert config.access_log is False and config.server_header is False
    finally:
        configured.close()

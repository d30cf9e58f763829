"""PostgreSQL unreachable mid fan-out: every link cut, new ones refused for a moment, then back.

A relay (tests/peers/tcp_proxy.py) stands between the bot and the server, which is never
restarted. Cut while the bot waits on SMTP, it reconnects and carries on unnoticed; cut while
it needs the database, it stops with one clear line. Either way each subscriber ends with
exactly one copy, bar at most the deliveries in flight, which are `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import App
from tests.drills.helpers import (
    CONNECTIONS,
    DEADLINE,
    POST,
    RESEND,
    assert_complete,
    assert_consistent,
    assert_stopped_cleanly,
    email_fan_out,
    finish,
    run,
    start,
    still_running,
    tally,
)
from tests.peers.smtp_server import SmtpPeer
from tests.peers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

PEOPLE = 300
OUTAGE = 1.0  # seconds during which the database cannot be reached


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def proxy(db_url: str) -> Iterator[TcpProxy]:
    server = sa.make_url(db_url)
    with TcpProxy(server.host or "127.0.0.1", server.port or 5432) as relay:
        yield relay


def _through(db_url: str, proxy: TcpProxy) -> dict[str, str]:
    """The bot's environment: its database URL goes through the relay."""
    url = sa.make_url(db_url).set(host="127.0.0.1", port=proxy.port)
    return {"BOT_DATABASE_URL": url.render_as_string(hide_password=False)}


def test_connections_dropped_between_queries_the_bot_reconnects_and_finishes(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, proxy: TcpProxy
) -> None:
    fan = email_fan_out(app, home, db_url, smtp, PEOPLE, _through(db_url, proxy))
    # Every worker ends up waiting for its reply: the bot is on the wire, not in the database.
    smtp.hold_replies(from_message=101)
    bot = start(fan.env, home, *POST)
    assert smtp.wait_for(lambda: smtp.held == CONNECTIONS, DEADLINE), finish(bot)
    before = proxy.accepted
    assert proxy.down() >= 1  # the bot's idle connection is gone, and the server with it
    assert still_running(bot, OUTAGE)
    proxy.up()
    smtp.release_replies()
    output = finish(bot)
    assert bot.returncode == 0, output
    assert proxy.accepted > before  # it reconnected rather than used the dead connection
    assert_complete(tally(app, smtp), PEOPLE, 0, output)


def test_unreachable_mid_fan_out_stops_cleanly_and_a_rerun_finishes(
    app: App, home: Path, db_url: str, smtp: SmtpPeer, proxy: TcpProxy
) -> None:
    fan = email_fan_out(app, home, db_url, smtp, PEOPLE, _through(db_url, proxy))
    bot = start(fan.env, home, *POST)
    assert smtp.wait_for(lambda: len(smtp.messages) >= 100, DEADLINE), finish(bot)
    assert proxy.down() >= 1
    # Busy sending, the bot needs the database within the outage: it must stop, not hang.
    stopped = not still_running(bot, OUTAGE * 5)
    proxy.up()
    output = finish(bot)
    assert stopped, output
    assert_stopped_cleanly(bot.returncode, output, "lost the database", f":{proxy.port}/test")
    assert "Run it again when the database is reachable" in output
    found = tally(app, smtp)
    assert_consistent(found, PEOPLE, output)
    assert found.count("sending") <= CONNECTIONS, output
    assert found.count("pending") > 0, output

    status, output = run(fan.env, home, *RESEND)
    assert status in (0, 1), output  # 1 when the deliveries in flight are now `unknown`
    assert_complete(tally(app, smtp), PEOPLE, CONNECTIONS, output)

"""The server itself under attack: huge numbers, errors, slow and many connections, big bodies.

Before: `/posts/99999999999999999999999` raised OverflowError (a 500 with a traceback in the
log and no security headers), a client trickling header bytes held its connection 45 s and
more, and nothing limited concurrent connections.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import control
from bot.app import App
from tests.publish.helpers import set_toml
from tests.security.conftest import HEALTH_TOKEN, BotWeb, Visitor

HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)


def _secured(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name in HEADERS:
        assert name in headers, name
    assert "default-src 'none'" in headers["content-security-policy"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/posts/99999999999999999999999", 404),
        ("/my/posts/2147483648", 404),
        ("/posts/0", 404),
        ("/posts?before=99999999999999999999999", 400),
        ("/posts?before=-1", 400),
        ("/posts?before=%EF%BC%91", 400),  # a full-width digit one
        ("/my/posts?before=1e9", 400),
    ],
)
def test_numbers_out_of_range_are_a_plain_answer_never_a_crash(
    bot: App, start_web: Callable[..., BotWeb], path: str, status: int
) -> None:
    web = start_web()
    response = Visitor(web).get(path)
    assert response.status_code == status
    assert "<!DOCTYPE html>" in response.text[:100]
    _secured(response)
    web.stop()
    assert "Traceback" not in web.output() and "OverflowError" not in web.output()


def test_a_failing_page_is_an_error_page_with_the_headers_and_no_traceback(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    with bot.engine.begin() as conn:  # the database breaks under the running page
        conn.execute(sa.text("ALTER TABLE deliveries RENAME TO deliveries_gone"))
    response = Visitor(web).get("/posts")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "deliveries" not in response.text and "Traceback" not in response.text
    _secured(response)
    web.stop()
    assert "Traceback" not in web.output()
    assert "error answering GET /posts" in web.output()  # one line, naming the kind and place


def test_health_tells_the_public_only_ok(bot: App, start_web: Callable[..., BotWeb]) -> None:
    control.pause(bot.engine, "verifying Sagaing killed figure", "Aye Aye", bot.clock(), None)
    web = start_web()
    # Through the proxy (the public), and with a wrong token: {"ok": …} and nothing more.
    public = Visitor(web, "203.0.113.5")
    for headers in ({}, {"authorization": "Bearer wrong"}):
        response = public.get("/health", headers=headers)
        assert set(response.json()) == {"ok"}
        assert "Sagaing" not in response.text and "Aye" not in response.text
        _secured(response)
    # The health token, or a check on this machine that bypasses the proxy, sees the details.
    told = public.get("/health", headers={"authorization": f"Bearer {HEALTH_TOKEN}"})
    assert "Sagaing" in told.json()["paused"]
    local = public.client.get("/health")  # no X-Forwarded-For: straight from loopback
    assert "Sagaing" in local.json()["paused"]


def _bounded(home: Path, **web: object) -> None:
    set_toml(home, "web", **web)


def test_a_client_trickling_its_headers_is_cut_off(
    bot: App, home: Path, start_web: Callable[..., BotWeb]
) -> None:
    _bounded(home, request_timeout_seconds=1)
    web = start_web()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for n in range(40):  # a header byte every 0.25 s, for up to 10 s
            try:
                slow.sendall(b"X" if n % 2 else b"-")
            except OSError:
                closed = True
                break
            slow.settimeout(0.25)
            try:
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
    assert closed, "the server kept a trickling connection open for 10 s"
    # Cut off after about its one second (a generous bound on a busy machine).
    assert time.monotonic() - started < 6


def test_past_the_connection_cap_a_visitor_is_told_busy_at_once(
    bot: App, home: Path, start_web: Callable[..., BotWeb]
) -> None:
    _bounded(home, max_connections=2, request_timeout_seconds=30)
    web = start_web()
    held = [socket.create_connection(("127.0.0.1", web.port), timeout=10) for _ in range(2)]
    try:
        with socket.create_connection(("127.0.0.1", web.port), timeout=10) as extra:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
        assert b"content-security-policy" in answer.lower()
    finally:
        for each in held:
            each.close()
    # Once they are gone, visitors are served again.
    assert Visitor(web).get("/").status_code == 200


def test_huge_heads_and_bodies_are_refused_before_they_are_read(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    visitor = Visitor(web)
    # A body announced at 10 MB: refused from its head, nothing of it read.
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:
        raw.sendall(
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
            b"urlencoded\r\nContent-Length: 10000000\r\n\r\nemail="
        )
        head = raw.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:100]
    assert b"content-security-policy" in head.lower()
    # Headers past [web] max_header_bytes: a 400 page with the headers.
    big = visitor.get("/", headers={"x-padding": "a" * 20_000})
    assert big.status_code in (400, 431)
    _secured(big)

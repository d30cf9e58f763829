"""Serving the page with uvicorn, bounded: headers, time, connections and bodies.

uvicorn (0.55) offers `h11_max_incomplete_event_size` (the largest request head it buffers),
`timeout_keep_alive` (an idle kept-alive connection) and `limit_concurrency`, but no timeout
for a request that arrives slowly: a client sending one header byte every few seconds keeps
its connection, and its place, for as long as it likes. So the HTTP protocol here is uvicorn's
h11 protocol with a deadline: from the moment a connection opens (or the previous answer
went out), its request, head and body, must have arrived within `[web]
request_timeout_seconds`, or the connection is closed. Past `[web] max_connections` open
connections a new one is answered 503 at once and closed. uvicorn's own answers to a broken
request carry the security headers too.

The proxy headers are read by uvicorn's own middleware, but inside ours, which first records
the TCP peer: /health must know whether a request really comes from this machine or only
through a proxy running on it (bot/web/health.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.config.settings import Web
from bot.web.health import PEER
from bot.web.security import with_headers

_BUSY_BODY = b"<!DOCTYPE html><title>Busy</title><p>Too many visitors at this moment.</p>"
_BAD_BODY = b"<!DOCTYPE html><title>Bad request</title><p>This request could not be read.</p>"
_BIG_HEAD_BODY = (
    b"<!DOCTYPE html><title>Request too large</title><p>This request's headers are too large.</p>"
)


def _raw_response(status: int, reason: str, body: bytes) -> bytes:
    """A whole HTTP/1.1 response, written before h11 has read anything."""
    headers = with_headers(
        [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
            (b"retry-after", b"30"),
        ]
    )
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return f"HTTP/1.1 {status} {reason}\r\n".encode("ascii") + head + b"\r\n" + body


BUSY = _raw_response(503, "Service Unavailable", _BUSY_BODY)


class RecordPeer:
    """Keeps the TCP peer in the scope before the proxy headers replace `client`, and refuses
    a request head larger than `max_head` bytes.

    h11 caps the head only while it is incomplete: one that arrives whole in a single read
    (up to 64 KiB) passes its cap, so the whole head is measured again here.
    """

    def __init__(self, app: ASGIApp, max_head: int = 1 << 16) -> None:
        self.app = app
        self.max_head = max_head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[PEER] = scope.get("client")
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            if size > self.max_head:
                await _too_large_head(send)
                return
        await self.app(scope, receive, send)


async def _too_large_head(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": with_headers(
                [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(_BIG_HEAD_BODY)).encode("ascii")),
                    (b"connection", b"close"),
                ]
            ),
        }
    )
    await send({"type": "http.response.body", "body": _BIG_HEAD_BODY})


def protocol(request_timeout: float, max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline per request and a cap on connections."""

    class Bounded(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.write(BUSY)
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(request_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state is not h11.DONE and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.DONE:
                self._disarm()  # the request is in: the page may take its time

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets its own deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            self._disarm()
            event = h11.Response(
                status_code=400,
                headers=with_headers(
                    [(b"content-type", b"text/html; charset=utf-8"), (b"connection", b"close")]
                ),
                reason=b"Bad Request",
            )
            for each in (event, h11.Data(data=_BAD_BODY), h11.EndOfMessage()):
                self.transport.write(self.conn.send(each) or b"")
            self.transport.close()

    return Bounded


def make_server(asgi: ASGIApp, web: Web, host: str, port: int, *, own_signals: bool) -> Any:
    """A uvicorn Server for `asgi` with the bounds of `[web]`.

    `own_signals=False` inside `bot run`, which handles SIGINT and SIGTERM itself.
    """
    # uvicorn's middleware is typed with its own ASGI types, Starlette's with theirs: the same.
    proxied: Any = ProxyHeadersMiddleware(asgi, trusted_hosts=web.forwarded_allow_ips)  # type: ignore[arg-type]
    config = uvicorn.Config(
        RecordPeer(proxied, web.max_header_bytes),
        host=host,
        port=port,
        http=protocol(web.request_timeout_seconds, web.max_connections),
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,  # an access log would keep the tokens of confirm and unsubscribe links
        proxy_headers=False,  # read above, inside RecordPeer
        server_header=False,
        h11_max_incomplete_event_size=web.max_header_bytes,
        timeout_keep_alive=web.keep_alive_seconds,
        # Our protocol refuses the connection past the cap first, with a page; this is the
        # backstop for requests in flight.
        limit_concurrency=web.max_connections + 1,
    )
    if own_signals:
        return uvicorn.Server(config)

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Quiet(config)

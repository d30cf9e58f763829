"""GET /health for monitoring: 200 when nothing needs a person, else 503.

Anyone may ask, and anyone learns only `{"ok": true}` or `{"ok": false}`. What is wrong (who
paused and why, which post failed and the error it got) is shown only to

- a request carrying `Authorization: Bearer <BOT_HEALTH_TOKEN>` (compared in constant time), or
- a request made directly from this machine: the connection itself comes from a loopback
  address and carries no forwarding header. A reverse proxy on this machine also connects from
  loopback, so a forwarded request is never taken for a local one: the proxy must send
  `X-Forwarded-For` (which the per-client limits need anyway), and a monitoring check on the
  machine itself asks the bot directly, not through the proxy.

The check itself (bot/health.py) reads the database, so it runs in a worker thread: the event
loop is shared with the scheduler and the Telegram bot.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config.model import secret
from bot.health import Health, check

if TYPE_CHECKING:
    from bot.app import App

TOKEN_ENV = "BOT_HEALTH_TOKEN"
# The TCP peer, recorded before the proxy headers are read (bot/web/server.py).
PEER = "bot.peer"
_FORWARDING = (b"x-forwarded-for", b"forwarded", b"x-real-ip", b"x-forwarded-host")


def route(app: App, clock: Callable[[], dt.datetime]) -> Route:
    """The /health route over the bot's database; `clock` is injectable for tests."""
    token = secret(TOKEN_ENV)

    async def health(request: Request) -> Response:
        found = await run_in_threadpool(check, app.engine, clock())
        body = to_json(found) if entitled(request, token) else {"ok": found.ok}
        return JSONResponse(
            body, status_code=200 if found.ok else 503, headers={"Cache-Control": "no-store"}
        )

    return Route("/health", health)


def entitled(request: Request, token: str | None) -> bool:
    """Whether this request may see the details: the health token, or a direct local call."""
    given = request.headers.get("authorization", "")
    if token and given.startswith("Bearer "):
        # Equal-length bytes for compare_digest; a wrong length is still compared in full.
        return hmac.compare_digest(given[7:].strip().encode(), token.encode())
    if any(name in _FORWARDING for name, _ in request.scope.get("headers", [])):
        return False
    peer = request.scope.get(PEER) or request.scope.get("client")
    if not peer:
        return False
    try:
        return ipaddress.ip_address(str(peer[0])).is_loopback
    except ValueError:
        return False


def to_json(health: Health) -> dict[str, object]:
    """The body of /health with every detail."""
    return {
        "ok": health.ok,
        "running": health.running,
        "paused": health.paused,
        "last_tick": health.last_tick.isoformat() if health.last_tick else None,
        "problems": health.problems,
    }

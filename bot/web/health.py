"""GET /health for monitoring: 200 when nothing needs a person, else 503; the body says why.

The check itself (bot/health.py) reads the database, so it runs in a worker thread: the event
loop is shared with the scheduler and the Telegram bot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.health import Health, check

if TYPE_CHECKING:
    from bot.app import App


def route(app: App, clock: Callable[[], dt.datetime]) -> Route:
    """The /health route over the bot's database; `clock` is injectable for tests."""

    async def health(request: Request) -> Response:
        found = await run_in_threadpool(check, app.engine, clock())
        return JSONResponse(to_json(found), status_code=200 if found.ok else 503)

    return Route("/health", health)


def to_json(health: Health) -> dict[str, object]:
    """The body of /health."""
    return {
        "ok": health.ok,
        "running": health.running,
        "paused": health.paused,
        "last_tick": health.last_tick.isoformat() if health.last_tick else None,
        "problems": health.problems,
    }

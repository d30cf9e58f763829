"""The Starlette application: figures and sign-up, email links, the archive, /health.

Each part lives in its own module (subscribe, links, archive); this one wires them, adds the
security headers to every response and serves the one stylesheet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web import archive, health, links, subscribe
from bot.web.pages import page_lang
from bot.web.security import SecurityHeaders
from bot.web.site import Site

if TYPE_CHECKING:
    import datetime as dt

    from bot.app import App


def build_web(app: App, clock: Callable[[], dt.datetime]) -> Starlette:
    """The web application over the bot's database; `clock` is injectable for tests."""
    site = Site(app, clock)

    async def stylesheet(request: Request) -> Response:
        return Response(
            site.pages.stylesheet,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def no_icon(request: Request) -> Response:
        # Browsers ask for it on every visit; "nothing" is an answer, a 404 is an error.
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    async def not_found(request: Request, exc: Exception) -> Response:
        lang = page_lang(request)
        return site.message(request, lang, "not_found_title", "not_found_body", status=404)

    return Starlette(
        routes=[
            health.route(app, clock),
            Route("/style.css", stylesheet),
            Route("/favicon.ico", no_icon),
            *subscribe.routes(site),
            *links.routes(site),
            *archive.routes(site),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: not_found},
    )

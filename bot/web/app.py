"""The Starlette application: figures and sign-up, figure pages, email links, the archive, /health.

Each part lives in its own module (subscribe, links, archive); this one wires them, serves the
one stylesheet, and wraps the whole in the security headers and the guard (bot/web/security.py):
every answer, errors and 500 included, is a page with the headers and without a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from bot.web import archive, challenge, figure_pages, health, links, subscribe
from bot.web.pages import page_lang
from bot.web.security import Guard, SecurityHeaders
from bot.web.site import Site
from bot.web.texts import TEXTS

if TYPE_CHECKING:
    import datetime as dt

    from bot.app import App
    from bot.config.settings import Web


def build_web(app: App, clock: Callable[[], dt.datetime]) -> ASGIApp:
    """The web application over the bot's database; `clock` is injectable for tests."""
    site = Site(app, clock)
    # The optional proof-of-work check on sign-up (`[web.challenge]`), None when off.
    challenges = challenge.challenges_for(site)

    async def stylesheet(request: Request) -> Response:
        return Response(
            site.pages.stylesheet,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def no_icon(request: Request) -> Response:
        # Browsers ask for it on every visit; "nothing" is an answer, a 404 is an error.
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    def error_page(request: Request, status: int) -> Response:
        lang = page_lang(request)
        if status == 404:
            return site.message(request, lang, "not_found_title", "not_found_body", status=404)
        title = f"error_{status}_title" if f"error_{status}_title" in TEXTS[lang] else None
        return site.message(request, lang, title or "error_400_title", "error_body", status=status)

    async def http_error(request: Request, exc: Exception) -> Response:
        return error_page(request, getattr(exc, "status_code", 500))

    async def server_error(request: Request, exc: Exception) -> Response:
        return error_page(request, 500)

    async def guard_page(status: int, scope: Scope) -> bytes:
        return bytes(error_page(Request(scope), status).body)

    starlette = Starlette(
        routes=[
            health.route(app, clock),
            Route("/style.css", stylesheet),
            Route("/favicon.ico", no_icon),
            *subscribe.routes(site, challenges),
            *challenge.routes(challenges),
            *links.routes(site),
            *archive.routes(site),
            *figure_pages.routes(site),
        ],
        exception_handlers={HTTPException: http_error, 500: server_error},
    )
    return SecurityHeaders(Guard(starlette, guard_page), scripts=challenges is not None)


def web_server(app: App, web: Web, host: str, port: int, *, own_signals: bool) -> Any:
    """A bounded uvicorn server for the page (bot/web/server.py)."""
    from bot.web.server import make_server

    return make_server(build_web(app, app.clock), web, host, port, own_signals=own_signals)

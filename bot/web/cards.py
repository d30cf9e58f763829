"""/cards/SHA256.png: the figure card of a public post, for `og:image` and for email.

Only a card that a public post carries is served (a card drafted and never published, or of
a retracted post, is not found). Its name is its content's hash, so it never changes: caches
may keep it for a year, and other sites (mail clients, the platforms' link previews) may
load it.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.cards.card import card_path
from bot.web import posts
from bot.web.pages import page_lang
from bot.web.site import Site

_NAME = re.compile(r"(?P<sha>[0-9a-f]{64})\.png")
HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    # The site's default keeps its resources to itself; a card is meant to be shown elsewhere.
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def routes(site: Site) -> list[Route]:
    """The card route."""
    app = site.app

    def card(request: Request) -> Response:
        found = _NAME.fullmatch(request.path_params["name"])
        sha = found["sha"] if found else ""
        path = card_path(app.settings.home, sha)
        if not sha or not path.is_file() or not posts.card_is_public(app.engine, sha):
            lang = page_lang(request)
            return site.message(request, lang, "not_found_title", "not_found_body", status=404)
        return FileResponse(path, media_type="image/png", headers=HEADERS)

    return [Route("/cards/{name}", card)]


def card_url(site: Site, sha256: str | None, absolute: bool = True) -> str | None:
    """A card's public address (for meta tags), or its path on the site (for the page)."""
    if not sha256:
        return None
    return f"{site.base if absolute else site.urls.root}cards/{sha256}.png"

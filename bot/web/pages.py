"""Rendering pages: the Jinja environment, the page language, links, and the public address.

A page's language comes from its path (`/my/…`, `/en/…`) or from `?lang=`, English otherwise.
Links inside the site use the path form, so a reader who chose Burmese stays in Burmese.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.lang import digits
from bot.web.texts import LANGS, TEXTS

if TYPE_CHECKING:
    from bot.config.settings import Settings

# Links in published text become clickable; only http(s), matched on already-escaped text
# (which holds no quote or angle bracket), so a match can never leave its attribute.
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]"
# Token pages must not be kept by a shared cache or the browser's history cache.
NO_STORE = {"Cache-Control": "no-store"}


def page_lang(request: Request, default: str = "en") -> str:
    """`my` or `en`, from the path prefix, else `?lang=`, else `default`."""
    first = request.url.path.split("/", 2)[1] if request.url.path.startswith("/") else ""
    if first in LANGS:
        return first
    asked = request.query_params.get("lang")
    return asked if asked in LANGS else default


def rest_of(path: str) -> str:
    """The path without its language prefix: `/my/posts` → `/posts`, `/my` → `/`."""
    for lang in LANGS:
        if path == f"/{lang}" or path.startswith(f"/{lang}/"):
            return path[len(lang) + 1 :] or "/"
    return path or "/"


def prefix(lang: str) -> str:
    """The path prefix of a language's pages: "" for English (the default), "/my"."""
    return "" if lang == "en" else f"/{lang}"


def prefixed(rest: str) -> dict[str, str]:
    """The same page in each language, by path prefix."""
    return {lang: prefix(lang) + rest for lang in LANGS}


def queried(path: str) -> dict[str, str]:
    """The same page in each language, by `?lang=` (pages whose path has no prefix form)."""
    return {lang: f"{path}?lang={lang}" for lang in LANGS}


def paragraphs(text: str) -> Markup:
    """Plain text as HTML paragraphs: escaped, lines kept, web addresses made links."""
    blocks = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(
            Markup("<br>\n").join(_linked(line) for line in block.split("\n"))
        )
        for block in blocks
    )


def _linked(line: str) -> Markup:
    safe = str(escape(line))

    def link(match: re.Match[str]) -> str:
        url = match.group()
        tail = ""
        while url and url[-1] in _TRAILING:
            url, tail = url[:-1], url[-1] + tail
        return f'<a href="{url}" rel="noopener noreferrer">{url}</a>{tail}'

    return Markup(_URL.sub(link, safe))


class Pages:
    """The templates and what every page shows (organisation, language switch, words)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,  # a misspelt name fails a test, not a reader's page
        )
        self.env.filters["digits"] = digits
        self.env.filters["paragraphs"] = paragraphs
        # Rendered once: the stylesheet is the same for every page (see /style.css).
        self.stylesheet = self.env.get_template("_style.html").render()

    def render(
        self,
        request: Request,
        name: str,
        lang: str,
        *,
        status: int = 200,
        alternates: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page in `lang`, with links to the same page in the other languages."""
        organisation = self.settings.file.organisation
        html = self.env.get_template(name).render(
            lang=lang,
            t=TEXTS[lang],
            org_name=organisation.name.get(lang),
            org_short=organisation.short_name,
            home=prefix(lang) + "/",
            prefix=prefix(lang),
            alternates=alternates or prefixed(rest_of(request.url.path)),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=dict(headers or {}))

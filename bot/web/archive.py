"""/posts, /posts/<id> and /feed.xml (Atom, RFC 4287), in English and Burmese."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.lang import long_date
from bot.occasions import local_date
from bot.web import cards, posts
from bot.web.cards import card_url
from bot.web.pages import page_lang, prefix
from bot.web.site import Site
from bot.web.texts import LANGS, TEXTS

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "xml:lang"
PAGE = 30
FEED = 50
# Publication numbers are 32-bit in the database: a larger one names nothing, and must not
# reach the database (SQLite raises OverflowError on it, PostgreSQL an error).
MAX_ID = 2**31 - 1
_NUMBER = re.compile(r"[0-9]{1,10}")


def record_number(text: str) -> int | None:
    """A publication number written in ASCII digits and in range; None otherwise."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def routes(site: Site) -> list[Route]:
    """The archive's routes, with and without a language prefix."""
    app = site.app

    def shown(post: posts.Post, lang: str) -> dict[str, object]:
        day = local_date(post.published, app.settings.tz)
        return {
            "id": post.id,
            "lang": post.lang,
            "title": post.title,
            "text": post.text,
            "date": long_date(day, lang),
            "card": card_url(site, post.card),
            "card_src": card_url(site, post.card, absolute=False),
            "card_alt": post.card_alt,
        }

    def listing(request: Request) -> Response:
        lang = page_lang(request)
        given = request.query_params.get("before")
        before = record_number(given) if given is not None else None
        if given is not None and before is None:
            return site.message(request, lang, "error_400_title", "error_body", status=400)
        found = posts.listing(app.engine, lang, PAGE + 1, before)
        older = found[PAGE - 1].id if len(found) > PAGE else None
        return site.pages.render(
            request,
            "posts.html",
            lang,
            posts=[shown(post, lang) for post in found[:PAGE]],
            older=older,
        )

    def single(request: Request) -> Response:
        lang = page_lang(request)
        number = int(request.path_params["id"])
        post = posts.one(app.engine, number, lang) if 1 <= number <= MAX_ID else None
        if post is None:
            return site.message(request, lang, "not_found_title", "not_found_body", status=404)
        return site.pages.render(request, "post.html", lang, post=shown(post, lang))

    def feed(request: Request) -> Response:
        lang = page_lang(request)
        base = site.base.rstrip("/") + prefix(lang)
        found = posts.listing(app.engine, lang, FEED)
        return Response(
            _atom(site, lang, base, found),
            media_type="application/atom+xml; charset=utf-8",
        )

    out = []
    for lang_prefix in ("", *(f"/{lang}" for lang in LANGS)):
        out += [
            Route(f"{lang_prefix}/posts", listing),
            Route(f"{lang_prefix}/posts/{{id:int}}", single),
            Route(f"{lang_prefix}/feed.xml", feed),
        ]
    return out + cards.routes(site)


def _atom(site: Site, lang: str, base: str, found: list[posts.Post]) -> bytes:
    organisation = site.app.settings.file.organisation
    org = organisation.name.get(lang)

    def add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, name, attrs)
        element.text = text
        return element

    # Plain names under an xmlns attribute: ElementTree would otherwise write "ns0:" prefixes
    # (and its default_namespace option refuses unqualified attributes such as href).
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: lang})
    add(feed, "id", f"{base}/feed.xml")
    add(feed, "title", f"{org}: {TEXTS[lang]['posts_title']}")
    # An empty archive has changed never; the epoch keeps the feed valid and stable.
    newest = max((post.published for post in found), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    add(feed, "updated", _stamp(newest))
    add(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.xml")
    add(feed, "link", rel="alternate", type="text/html", href=f"{base}/posts")
    author = add(feed, "author")
    add(author, "name", org)
    add(author, "uri", organisation.website)
    for post in found:
        url = f"{base}/posts/{post.id}"
        entry = add(feed, "entry", **{XML_LANG: post.lang})
        add(entry, "id", url)
        add(entry, "title", post.title)
        add(entry, "updated", _stamp(post.published))
        add(entry, "published", _stamp(post.published))
        add(entry, "link", rel="alternate", type="text/html", href=url)
        add(entry, "content", post.text, type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body

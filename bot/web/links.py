"""The links in emails: /confirm/<token> and /unsubscribe/<token>.

GET on an unsubscribe link only shows a button: mail scanners and link previews open every
link in a message, and must not unsubscribe anyone. POST unsubscribes with nothing else
asked (no login, cookie or CSRF token): that is RFC 8058's one-click request, which mail
clients send as `List-Unsubscribe=One-Click`, URL-encoded or multipart. The body is not
read, so any POST to a valid link works and none can fail to parse.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.privacy import mask_address
from bot.subscribers import store
from bot.subscribers.tokens import CONFIRM_DAYS, BadToken, ExpiredToken
from bot.web.pages import NO_STORE, page_lang, queried
from bot.web.site import Site
from bot.web.texts import topic_list

log = logging.getLogger(__name__)

# itsdangerous tokens here are well under 200 characters; a longer one is not ours.
MAX_TOKEN = 512


def routes(site: Site) -> list[Route]:
    """The confirm and unsubscribe routes."""
    engine = site.app.engine

    def bad_link(request: Request) -> Response:
        return site.message(
            request, page_lang(request), "bad_link_title", "bad_link_body", status=400, both=True
        )

    def confirm(request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            if len(token) > MAX_TOKEN:
                raise BadToken("too long")
            subscriber_id = site.tokens.read_confirm(token)
        except ExpiredToken:
            return site.message(
                request,
                page_lang(request),
                "expired_title",
                "expired_body",
                status=400,
                both=True,
                days=CONFIRM_DAYS,
            )
        except BadToken:
            return bad_link(request)
        person = store.by_id(engine, subscriber_id)
        if person is None:
            return bad_link(request)
        lang = page_lang(request, default=person.lang)
        # An unsubscribed (or refused) person is not brought back by an old link.
        if not store.confirm(engine, person.id, site.clock()):
            return site.message(request, lang, "gone_title", "gone_body", status=400)
        log.info("subscription confirmed for %s", mask_address(person.address))
        return site.message(
            request,
            lang,
            "confirmed_title",
            "confirmed_body",
            "confirmed_leave",
            topics=topic_list(person.topics, lang),
        )

    def subscriber_of(token: str) -> tuple[bool, store.Subscriber | None]:
        """(valid, the subscriber): a valid link may name someone since erased."""
        try:
            if len(token) > MAX_TOKEN:
                raise BadToken("too long")
            stored = site.tokens.read_unsubscribe(token)
        except BadToken:
            return False, None
        return True, store.by_token(engine, stored)

    def ask(request: Request) -> Response:
        valid, person = subscriber_of(str(request.path_params["token"]))
        if not valid:
            return bad_link(request)
        lang = page_lang(request, default=person.lang if person else "en")
        if person is None or person.status == "unsubscribed":
            return site.message(request, lang, "unsubscribed_title", "unsubscribed_body")
        return site.pages.render(
            request,
            "unsubscribe.html",
            lang,
            action=request.url.path,
            headers=NO_STORE,
            alternates=queried(request.url.path),
        )

    def leave(request: Request) -> Response:
        valid, person = subscriber_of(str(request.path_params["token"]))
        if not valid:
            return bad_link(request)
        lang = page_lang(request, default=person.lang if person else "en")
        if person is not None and store.unsubscribe(engine, person.id, site.clock()):
            log.info("unsubscribed %s", mask_address(person.address))
        # 200 with a page, never a redirect: a mail client's one-click POST wants a 2xx.
        return site.message(request, lang, "unsubscribed_title", "unsubscribed_body")

    return [
        Route("/confirm/{token}", confirm, methods=["GET"]),
        Route("/unsubscribe/{token}", ask, methods=["GET"]),
        Route("/unsubscribe/{token}", leave, methods=["POST"]),
    ]

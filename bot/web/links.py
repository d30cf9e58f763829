"""The links in emails: /confirm/<token> and /unsubscribe/<token>.

Opening a link (GET or HEAD) never changes anything: mail scanners and link previews open every
link in a message. A confirmation link shows a button, and only that button's POST, carrying
the page's form token and coming from this site, confirms: a scanner cannot subscribe anyone.

An unsubscribe link shows a button too, but its POST asks for nothing else (no cookie, form
token or Origin): that is RFC 8058's one-click request, which mail providers send from their
own servers as `List-Unsubscribe=One-Click`, URL-encoded or multipart. The body is not read,
so any POST to a valid link works and none can fail to parse; the signed token is the proof.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.privacy import mask_address
from bot.subscribers import pending, store
from bot.subscribers.tokens import CONFIRM_DAYS, BadToken
from bot.web.forms import FIELD, TooLarge, Unreadable, read_form
from bot.web.pages import NO_STORE, page_lang, queried
from bot.web.site import Site
from bot.web.texts import TEXTS, topic_list

log = logging.getLogger(__name__)

# itsdangerous tokens here are well under 200 characters; a longer one is not ours.
MAX_TOKEN = 512


def routes(site: Site) -> list[Route]:
    """The confirm and unsubscribe routes."""
    engine = site.app.engine

    def bad_link(request: Request, confirming: bool = False) -> Response:
        body = "bad_confirm_body" if confirming else "bad_link_body"
        return site.message(
            request,
            page_lang(request),
            "bad_link_title",
            body,
            status=400,
            both=True,
            days=CONFIRM_DAYS,
        )

    def answer(request: Request, link: pending.Link) -> Response | None:
        """The page for a link that cannot be confirmed now (None: it can)."""
        person = link.person
        if link.state == "unknown" or person is None:
            return bad_link(request, confirming=True)
        lang = page_lang(request, default=person.lang)
        if link.state == "expired":
            return site.message(
                request, lang, "expired_title", "expired_body", status=400, days=CONFIRM_DAYS
            )
        if link.state == "gone":
            return site.message(request, lang, "gone_title", "gone_body", status=400)
        if link.state == "confirmed":
            return site.message(
                request,
                lang,
                "confirmed_title",
                "confirmed_body",
                "confirmed_leave",
                topics=topic_list(person.topics, lang),
            )
        return None

    def ask_to_confirm(request: Request) -> Response:
        link = pending.look(engine, str(request.path_params["token"]), site.clock())
        shown = answer(request, link)
        if shown is not None or link.person is None:
            return shown or bad_link(request, confirming=True)
        person = link.person
        lang = page_lang(request, default=person.lang)
        topics = topic_list(person.topics, lang)
        return site.with_form(
            request,
            "confirm.html",
            lang,
            action=request.url.path,
            body=TEXTS[lang]["confirm_body"].format(topics=topics),
            alternates=queried(request.url.path),
        )

    async def confirm(request: Request) -> Response:
        token = str(request.path_params["token"])
        forged = not site.forms.from_here(request)
        if not forged:
            try:
                fields = await read_form(request, (FIELD,))
            except (TooLarge, Unreadable):
                fields = {}
            forged = not site.forms.valid(request, fields)
        if forged:
            # The button's page again, with a fresh token: a person pressed it from a page
            # left open too long; a forged request gets nothing else.
            log.info("confirmation refused: the form came from elsewhere or without its token")
            response = await run_in_threadpool(ask_to_confirm, request)
            response.status_code = 403 if response.status_code == 200 else response.status_code
            return response
        link = await run_in_threadpool(pending.confirm, engine, token, site.clock())
        if link.state == "confirmed" and link.person is not None:
            log.info("subscription confirmed for %s", mask_address(link.person.address))
        return answer(request, link) or bad_link(request, confirming=True)

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
        Route("/confirm/{token}", ask_to_confirm, methods=["GET"]),
        Route("/confirm/{token}", confirm, methods=["POST"]),
        Route("/unsubscribe/{token}", ask, methods=["GET"]),
        Route("/unsubscribe/{token}", leave, methods=["POST"]),
    ]

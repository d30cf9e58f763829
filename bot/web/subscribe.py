"""The home page (latest figures and the sign-up form) and POST /subscribe.

A sign-up is only queued here: the web process holds no mail credentials, and `bot run` sends
the confirmation email (bot/subscribers/confirmations.py). So the answer, the work and the
time are the same whether the address is new, pending, subscribed or unsubscribed, and nobody
can learn from them who is subscribed. A form from another site, or without its token, is
refused (bot/web/forms.py); past a limit the page says plainly that nothing was sent. With
`[web.challenge]` on, the form must also carry a fresh, unused proof of work
(bot/web/challenge.py), checked before anything about the address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.base import Payload
from bot.subscribers import requests
from bot.subscribers.signup import FIELDS, HONEYPOT, Problem, check_form
from bot.subscribers.tokens import CONFIRM_DAYS
from bot.web import challenge
from bot.web.figure_pages import figure_rows
from bot.web.forms import FIELD, TooLarge, Unreadable, read_form
from bot.web.mails import confirmation
from bot.web.pages import Pages, page_lang, prefixed
from bot.web.site import Site
from bot.web.texts import LANGS, TEXTS, TOPIC_NAMES

if TYPE_CHECKING:
    from bot.app import App
    from bot.subscribers.store import Subscriber

log = logging.getLogger(__name__)

WANTED = (*FIELDS, HONEYPOT, FIELD, challenge.FIELD)


def routes(site: Site, challenges: challenge.Challenges | None = None) -> list[Route]:
    """/, /en/, /my/ and their /subscribe; `challenges` when sign-up needs a proof of work."""
    app = site.app

    def form_page(
        request: Request,
        lang: str,
        *,
        status: int = 200,
        problems: list[Problem] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Response:
        t = TEXTS[lang]
        return site.with_form(
            request,
            "home.html",
            lang,
            status=status,
            rows=figure_rows(app, lang),
            topics=list(TOPIC_NAMES[lang].items()),
            problems=[t[f"problem_{p.field}_{p.kind}"] for p in problems or []],
            form=form or {"email": "", "lang": lang, "topics": ("statements",)},
            challenge=challenges is not None,
            # After a POST the other language is the other home page (a POST is no link).
            alternates=prefixed("/") if request.method == "POST" else None,
        )

    async def home(request: Request) -> Response:
        return await run_in_threadpool(form_page, request, page_lang(request))

    def inbox(request: Request, lang: str) -> Response:
        return site.message(
            request, lang, "inbox_title", "inbox_body", "inbox_later", days=CONFIRM_DAYS
        )

    async def refused(
        request: Request,
        lang: str,
        status: int,
        kind: str,
        form: dict[str, Any] | None = None,
    ) -> Response:
        return await run_in_threadpool(
            form_page, request, lang, status=status, problems=[Problem("form", kind)], form=form
        )

    async def subscribe(request: Request) -> Response:
        lang = page_lang(request)
        if not site.forms.from_here(request):
            log.info("sign-up refused: the form came from another site")
            return await refused(request, lang, 403, "forged")
        try:
            fields = await read_form(request, WANTED)
        except TooLarge:
            return await refused(request, lang, 413, "too_large")
        except Unreadable:
            return await refused(request, lang, 400, "unreadable")
        if not site.forms.valid(request, fields):
            log.info("sign-up refused: no valid form token")
            return await refused(request, lang, 403, "forged")
        if challenges is not None:
            try:
                await challenge.redeem(site, challenges, _one(fields, challenge.FIELD))
            except challenge.Unsolved as exc:
                log.info("sign-up refused: anti-abuse check %s", exc.reason)
                return await refused(request, lang, 403, "challenge", _echo(fields, lang))
        checked = check_form(fields)
        if checked.trapped:
            log.info("sign-up with the honeypot filled: ignored")
            return inbox(request, lang)
        if checked.signup is None:
            return await run_in_threadpool(
                form_page,
                request,
                lang,
                status=400,
                problems=checked.problems,
                form=_echo(fields, lang),
            )
        client = request.client.host if request.client else None
        keys = requests.keys_for(site.tokens, checked.signup.address, client or "unknown")
        queued = await run_in_threadpool(
            requests.enqueue,
            app.engine,
            checked.signup,
            keys,
            app.settings.file.web.limits,
            site.clock(),
        )
        if not queued:
            log.info("sign-up over a limit: nothing queued, nothing sent")
            return site.message(request, lang, "limit_title", "limit_body", status=429)
        return inbox(request, lang)

    return [
        Route("/", home),
        Route("/subscribe", subscribe, methods=["POST"]),
        *(Route(f"/{lang}/", home) for lang in LANGS),
        *(Route(f"/{lang}", home) for lang in LANGS),
        *(Route(f"/{lang}/subscribe", subscribe, methods=["POST"]) for lang in LANGS),
    ]


def confirmation_mails(
    app: App, unsubscribe_url: Callable[[str], str]
) -> Callable[[Subscriber, str], Payload]:
    """(person, confirmation token) → their confirmation email, for the confirmation sender.

    `unsubscribe_url` turns the person's stored token into their one-click unsubscribe link.
    """
    from bot.config.urls import public_urls

    pages = Pages(app.settings)
    urls = public_urls(app.settings)

    def make(person: Subscriber, token: str) -> Payload:
        return confirmation(
            pages, app.settings, person, urls.confirm(token), unsubscribe_url(person.token)
        )

    return make


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    """The field's value if the form has it exactly once."""
    values = fields.get(name) or []
    return values[0] if len(values) == 1 else None


def _echo(fields: dict[str, list[str]], lang: str) -> dict[str, Any]:
    """What the person typed, shown again in the form: only values that passed or are short."""
    email = (fields.get("email") or [""])[0]
    chosen = fields.get("lang") or []
    return {
        "email": email if len(email) <= 254 and email.isprintable() else "",
        "lang": chosen[0] if chosen and chosen[0] in LANGS else lang,
        "topics": tuple(fields.get("topics") or ()),
    }


__all__ = ["confirmation_mails", "routes"]

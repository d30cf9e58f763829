"""The home page (latest figures and the sign-up form) and POST /subscribe.

The answer to a sign-up is the same page, "check your inbox", whether the address is new,
pending or already subscribed, whether a bot filled the honeypot, and whether a limit was
reached (then with status 429): nobody can learn from it who is subscribed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from bot.channels.base import Payload
from bot.lang import long_date, number
from bot.store.figures import latest
from bot.subscribers import store
from bot.subscribers.signup import FIELDS, HONEYPOT, Problem, check_form, register, send_email
from bot.subscribers.tokens import CONFIRM_DAYS
from bot.web.mails import confirmation
from bot.web.pages import page_lang, prefixed
from bot.web.ratelimit import Limit, Limiter
from bot.web.site import Site
from bot.web.texts import LANGS, TEXTS, TOPIC_NAMES

log = logging.getLogger(__name__)

# A real form is a few hundred bytes; anything far larger is refused before it is parsed.
MAX_BODY = 8 * 1024
MAX_FIELDS = 16
# Enough for a person who mistypes; too few to flood a mailbox or spray many addresses.
PER_IP = Limit(5, dt.timedelta(hours=1))
PER_ADDRESS = Limit(3, dt.timedelta(days=1))


def _link(source: str) -> str | None:
    """The web address in a source note, if it has one; only http(s), never javascript:."""
    for word in source.split():
        if word.startswith(("https://", "http://")):
            return word
    return None


def routes(site: Site) -> list[Route]:
    """/, /en/, /my/ and their /subscribe."""
    per_ip = Limiter(PER_IP, site.clock)
    per_address = Limiter(PER_ADDRESS, site.clock)
    app = site.app

    def figures(lang: str) -> list[tuple[str, str, str, str, str | None]]:
        with app.engine.connect() as conn:
            values = latest(conn, app.today())
        return [
            (
                figure.label.get(lang),
                number(values[key].value, lang, grouped=True),
                long_date(values[key].as_of, lang),
                values[key].source,
                _link(values[key].source),
            )
            for key, figure in app.book.figures.items()
            if key in values
        ]

    def form_page(
        request: Request,
        lang: str,
        *,
        status: int = 200,
        problems: list[Problem] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Response:
        t = TEXTS[lang]
        return site.pages.render(
            request,
            "home.html",
            lang,
            status=status,
            rows=figures(lang),
            topics=list(TOPIC_NAMES[lang].items()),
            problems=[t[f"problem_{p.field}_{p.kind}"] for p in problems or []],
            form=form or {"email": "", "lang": lang, "topics": ("statements",)},
            # After a POST the other language is the other home page (a POST is no link).
            alternates=prefixed("/") if request.method == "POST" else None,
        )

    def home(request: Request) -> Response:
        return form_page(request, page_lang(request))

    def inbox(request: Request, lang: str, status: int = 200) -> Response:
        return site.message(
            request,
            lang,
            "inbox_title",
            "inbox_body",
            "inbox_later",
            status=status,
            days=CONFIRM_DAYS,
        )

    async def subscribe(request: Request) -> Response:
        lang = page_lang(request)
        fields, trouble = await _read_form(request)
        if trouble is not None:
            status = 413 if trouble.kind == "too_large" else 400
            return await run_in_threadpool(
                form_page, request, lang, status=status, problems=[trouble]
            )
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
        signup = checked.signup
        client = request.client.host if request.client else "unknown"
        if not (per_ip.allows(client) and per_address.allows(signup.address)):
            log.info("sign-up over the rate limit: nothing sent")
            return inbox(request, lang, status=429)
        per_ip.record(client)
        per_address.record(signup.address)
        person = await run_in_threadpool(register, app.engine, signup, site.clock())
        response = inbox(request, lang)
        if person is not None:
            # Sent after the answer: the time the answer takes says nothing about the address.
            response.background = BackgroundTask(send_email, app, confirmation_mail(site, person))
        return response

    return [
        Route("/", home),
        Route("/subscribe", subscribe, methods=["POST"]),
        *(Route(f"/{lang}/", home) for lang in LANGS),
        *(Route(f"/{lang}", home) for lang in LANGS),
        *(Route(f"/{lang}/subscribe", subscribe, methods=["POST"]) for lang in LANGS),
    ]


def confirmation_mail(site: Site, person: store.Subscriber) -> Payload:
    """The confirmation email for a pending subscriber (the form and the import send it)."""
    from bot.runtime import build_runtime

    confirm_url = f"{site.base}confirm/{site.tokens.confirm(person.id)}"
    unsubscribe_url = build_runtime(site.app).unsubscribe_links()(person.token)
    return confirmation(site.pages, site.app.settings, person, confirm_url, unsubscribe_url)


def _echo(fields: dict[str, list[str]], lang: str) -> dict[str, Any]:
    """What the person typed, shown again in the form: only values that passed or are short."""
    email = (fields.get("email") or [""])[0]
    chosen = fields.get("lang") or []
    return {
        "email": email if len(email) <= 254 and email.isprintable() else "",
        "lang": chosen[0] if chosen and chosen[0] in LANGS else lang,
        "topics": tuple(fields.get("topics") or ()),
    }


async def _read_form(request: Request) -> tuple[dict[str, list[str]], Problem | None]:
    """The form's fields, read with a size cap; a Problem when too large or unreadable."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return {}, Problem("form", "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return {}, Problem("form", "too_large")
        chunks.append(chunk)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    # Starlette's parsers (URL-encoded and multipart) over the bytes already read and capped.
    try:
        parsed: FormData = await Request(request.scope, replay).form(
            max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_BODY
        )
    except (HTTPException, MultiPartException):
        return {}, Problem("form", "unreadable")
    wanted = (*FIELDS, HONEYPOT)
    fields = {
        name: [value for value in parsed.getlist(name) if isinstance(value, str)] for name in wanted
    }
    return {name: values for name, values in fields.items() if values}, None


__all__ = ["MAX_BODY", "PER_ADDRESS", "PER_IP", "routes"]

"""Forms that only this site's own pages can submit, read with a size cap.

A sign-up form posted by another site (which can make its visitors' browsers post anything)
must fail, or every visitor of that site becomes a sender of confirmation emails. Two checks:

- `Origin` (or, from an older browser, `Referer`) must be this site: browsers set it and no
  page can change it. A request with neither is refused.
- The form carries a token that is the keyed hash of a random cookie set by this site, with
  `SameSite=Strict`: another site can neither read the cookie nor make the browser send it.

The one-click unsubscribe POST is exempt on purpose (bot/web/links.py): RFC 8058 has mail
providers send it from their servers, with no cookie and no Origin; its token is its proof.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from bot.config.urls import PublicUrls
from bot.subscribers.tokens import Tokens

FIELD = "form_token"
# A real form is a few hundred bytes; anything far larger is refused before it is parsed.
MAX_FORM = 8 * 1024
MAX_FIELDS = 16
_COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class TooLarge(Exception):
    """The body passed MAX_FORM."""


class Unreadable(Exception):
    """The body is not a form Starlette can parse (or carries a file)."""


class FormGuard:
    """Issues form tokens with their cookie, and checks where a POST comes from."""

    def __init__(self, tokens: Tokens, urls: PublicUrls) -> None:
        self._tokens = tokens
        self._secure = urls.secure
        # `__Host-`: the browser keeps it to this host, path /, over TLS only.
        self.cookie = "__Host-bot_form" if urls.secure else "bot_form"
        self.origins = urls.origins()

    def _cookie_of(self, request: Request) -> str | None:
        value = request.cookies.get(self.cookie)
        return value if value and _COOKIE_SHAPE.fullmatch(value) else None

    def issue(self, request: Request) -> tuple[str, str | None]:
        """(the token for a form on this page, a new cookie to set or None)."""
        cookie = self._cookie_of(request)
        if cookie is not None:
            return self._tokens.form_token(cookie), None
        cookie = secrets.token_urlsafe(32)
        return self._tokens.form_token(cookie), cookie

    def set_cookie(self, response: Response, cookie: str) -> None:
        """Give the browser the cookie its form token goes with (a session cookie)."""
        response.set_cookie(
            self.cookie, cookie, path="/", secure=self._secure, httponly=True, samesite="strict"
        )

    def from_here(self, request: Request) -> bool:
        """Whether the browser says the request comes from one of this site's pages."""
        origin = request.headers.get("origin")
        if origin is not None:
            return origin.strip().lower() in self.origins
        referer = request.headers.get("referer")
        if not referer:
            return False
        try:
            parts = urlsplit(referer.strip())
        except ValueError:
            return False
        return f"{parts.scheme}://{parts.netloc}".lower() in self.origins

    def valid(self, request: Request, fields: dict[str, list[str]]) -> bool:
        """Whether the form's token goes with this browser's cookie (constant-time check)."""
        cookie = self._cookie_of(request)
        given = fields.get(FIELD) or []
        if cookie is None or len(given) != 1:
            return False
        return hmac.compare_digest(self._tokens.form_token(cookie), given[0])


async def read_form(request: Request, wanted: tuple[str, ...]) -> dict[str, list[str]]:
    """The `wanted` fields of a form, read with a size cap; TooLarge or Unreadable."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_FORM:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM:
            raise TooLarge
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
            max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FORM
        )
    except (HTTPException, MultiPartException):
        raise Unreadable from None
    fields = {
        name: [value for value in parsed.getlist(name) if isinstance(value, str)] for name in wanted
    }
    return {name: values for name, values in fields.items() if values}

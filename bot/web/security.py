"""Headers on every response, and the outer guard: no traceback, no unbounded body.

The pages load only their own stylesheet; the Content-Security-Policy forbids scripts, frames,
fonts and images from anywhere else, so even an injected tag could not call a tracker. Only
with the sign-up check on (bot/web/challenge.py) may a page run a script, this site's own file.
`Referrer-Policy: same-origin` keeps the tokens of confirm and unsubscribe links (and the fact
that someone visited) from being sent to the sites the pages link to, while the site's own
forms still arrive with their `Origin` (under `no-referrer` a browser sends `Origin: null`,
and a forged form could not be told from a real one).

`Guard` sits outside everything: an error in a page becomes the error page, with these headers,
and one line in the log naming the error's kind and place, never a traceback (whose text can
quote an address or a token). A body declared larger than MAX_BODY is refused before any
route runs; forms are read with their own, smaller cap (bot/web/forms.py).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# With the sign-up check on (`[web.challenge]`), the pages run this site's own script, which
# asks only this site for a puzzle and solves it in a worker of the same file; still nothing
# from anywhere else, and no inline script.
CHALLENGE_CSP = f"{CSP}; script-src 'self'; connect-src 'self'; worker-src 'self'"


def headers_for(csp: str) -> list[tuple[bytes, bytes]]:
    """The security headers, with this Content-Security-Policy."""
    return [
        (b"content-security-policy", csp.encode("ascii")),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


HEADERS = headers_for(CSP)
# No request to this site needs more (a sign-up form is a few hundred bytes).
MAX_BODY = 64 * 1024
# Path segments this long are tokens (of confirm and unsubscribe links): never logged.
_LONG_SEGMENT = 24

# (status, scope) → the HTML of an error page, in the page's language.
ErrorPage = Callable[[int, Scope], Awaitable[bytes]]


def with_headers(
    headers: list[tuple[bytes, bytes]], security: list[tuple[bytes, bytes]] = HEADERS
) -> list[tuple[bytes, bytes]]:
    """`headers` plus each security header they do not set already."""
    names = {name.lower() for name, _ in headers}
    return [*headers, *((name, value) for name, value in security if name not in names)]


class SecurityHeaders:
    """Pure ASGI middleware (not BaseHTTPMiddleware, which buffers and reorders tasks)."""

    def __init__(self, app: ASGIApp, *, scripts: bool = False) -> None:
        self.app = app
        # Scripts only when the sign-up check is on; every other page is the same either way.
        self.headers = headers_for(CHALLENGE_CSP) if scripts else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_headers(list(message.get("headers", [])), self.headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Guard:
    """The outermost layer: a bounded body, and an error page instead of a traceback."""

    def __init__(self, app: ASGIApp, page: ErrorPage) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        number = declared is not None and declared.isascii() and declared.isdigit()
        if declared is not None and (not number or int(declared) > MAX_BODY):
            await self._answer(send, 413 if number else 400, scope)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error("error answering %s: %s", where(scope), described(exc))
            if not started:
                await self._answer(send, 500, scope)

    async def _answer(self, send: Send, status: int, scope: Scope) -> None:
        try:
            body = await self.page(status, scope)
        except Exception:  # the page itself failed: a line of text, still with the headers
            body = b"<!DOCTYPE html><title>Error</title><p>Something went wrong.</p>"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": with_headers(
                    [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode("ascii")),
                        (b"cache-control", b"no-store"),
                        (b"connection", b"close"),
                    ]
                ),
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def where(scope: Scope) -> str:
    """The request as a log may show it: method and path, tokens left out."""
    path = str(scope.get("path", ""))
    shown = "/".join("…" if len(part) >= _LONG_SEGMENT else part for part in path.split("/"))
    return f"{scope.get('method', '?')} {shown[:200]}"


def described(exc: BaseException) -> str:
    """An error as one line: its kind and the innermost place of this bot's code it passed."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if "/bot/" in frame.filename.replace("\\", "/")]
    frame = (ours or frames)[-1] if (ours or frames) else None
    if frame is None:
        return type(exc).__name__
    return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"

"""Web tests: the app called in-process (httpx.ASGITransport) with a clock the test moves.

web = Web(app)                                  # build_web(app, web.clock)
response = web.post("/subscribe", SIGNUP, ip="10.0.0.1")   # with this site's Origin, cookie
web.clock.advance(hours=1)                                  # and form token, as a browser
before = people(app); …; assert people(app) == before
deliver(web)                                    # `bot run`'s confirmation sender, one pass
mails(app)                                      # what the outbox folder's Maildir holds
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import mailbox
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from bot.app import App
from bot.runtime import build_runtime
from bot.store.schema import signup_requests, subscriber_stats, subscribers
from bot.subscribers.confirmations import Report
from bot.web.app import build_web
from tests.conftest import FIXED_NOW

SIGNUP = {"email": "reader@example.org", "lang": "en", "topics": ["statements"], "website": ""}
# Where the shipped configuration says the site is (no unsubscribe_base_url: this machine).
ORIGIN = "http://localhost:8080"
_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


class Clock:
    """Now, moved by the test."""

    def __init__(self, start: dt.datetime = FIXED_NOW) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Web:
    """One web application (so its rate limits persist between requests)."""

    def __init__(self, app: App, clock: Clock | None = None) -> None:
        self.app = app
        self.clock = clock or Clock()
        self.asgi = build_web(app, self.clock)
        # The browser's cookies (the form cookie), sent back with every request.
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        ip: str = "192.0.2.1",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if self.cookies and "cookie" not in {name.lower() for name in sent}:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.asgi, client=(ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
                return await client.request(method, path, headers=sent, **kwargs)

        response = asyncio.run(go())
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def form_token(self, path: str = "/") -> str:
        """The token of the form on `path`, as a browser that opened the page has it."""
        found = _TOKEN.search(self.get(path).text)
        assert found, f"no form on {path}"
        return found.group(1)

    def post(
        self,
        path: str,
        data: Any = None,
        *,
        origin: str | None = ORIGIN,
        token: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST as a browser on this site's page would: its Origin, cookie and form token.

        `origin=None` sends no Origin; `token=False` adds no form token.
        """
        headers = dict(kwargs.pop("headers", None) or {})
        if origin is not None:
            headers.setdefault("origin", origin)
        if token and isinstance(data, dict) and "form_token" not in data:
            data = {**data, "form_token": self.form_token()}
        return self.request("POST", path, data=data, headers=headers, **kwargs)


def deliver(web: Web) -> Report:
    """One pass of `bot run`'s confirmation sender, on the web's clock."""
    sender = build_runtime(web.app).confirmations()
    sender.clock = web.clock
    return asyncio.run(sender.run())


def queued(app: App) -> list[Any]:
    """Every sign-up request row, oldest first."""
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(signup_requests).order_by(signup_requests.c.id)))


def people(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row about subscribers and sign-ups, to prove a refused request changed nothing."""
    with app.engine.connect() as conn:
        return {
            table.name: sorted(conn.execute(sa.select(table)).all(), key=repr)
            for table in (subscribers, subscriber_stats, signup_requests)
        }


def subscriber(app: App, address: str) -> Any:
    """The stored row for an address, or None."""
    with app.engine.connect() as conn:
        # Stored sealed: found, as the bot finds people, by the keyed hash of the address.
        lookups = app.sealer.lookups(address)
        return conn.execute(
            sa.select(subscribers).where(subscribers.c.address_hash.in_(lookups))
        ).first()


def mails(app: App) -> list[EmailMessage]:
    """The emails written to the outbox folder's Maildir, oldest first."""
    folder = app.settings.outbox_dir / "email"
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    found = []
    for key in box.iterkeys():
        path = folder / "new" / key
        found.append((path.stat().st_mtime_ns, key, box.get_bytes(key)))
    return [
        email.message_from_bytes(data, policy=default_policy)  # type: ignore[misc]
        for _, _, data in sorted(found)
    ]


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def confirm(web: Web, link: str) -> httpx.Response:
    """Open a confirmation link and press its button, as a person does."""
    path = path_of(link)
    found = _TOKEN.search(web.get(path).text)
    assert found, "the link's page has no button"
    return web.post(path, {"form_token": found.group(1)})


def confirm_link(message: EmailMessage) -> str:
    """The confirmation link in an email's text."""
    found = re.search(r"https?://\S+/confirm/\S+", text_of(message))
    assert found, text_of(message)
    return found.group()


def unsubscribe_link(message: EmailMessage) -> str:
    """The web link of the List-Unsubscribe header."""
    return str(message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")


def path_of(url: str) -> str:
    """The path (and query) of a URL, to call the in-process app with."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")

"""Web tests: the app called in-process (httpx.ASGITransport) with a clock the test moves.

web = Web(app)                                  # build_web(app, web.clock)
response = web.post("/subscribe", SIGNUP, ip="10.0.0.1")
web.clock.advance(hours=1)
before = people(app); …; assert people(app) == before
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
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from bot.app import App
from bot.store.schema import subscriber_stats, subscribers
from bot.web.app import build_web
from tests.conftest import FIXED_NOW

SIGNUP = {"email": "reader@example.org", "lang": "en", "topics": ["statements"], "website": ""}


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

    def request(
        self, method: str, path: str, *, ip: str = "192.0.2.1", **kwargs: Any
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.asgi, client=(ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, data=data, **kwargs)


def people(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row about subscribers, to prove a refused request changed nothing."""
    with app.engine.connect() as conn:
        return {
            table.name: sorted(conn.execute(sa.select(table)).all(), key=repr)
            for table in (subscribers, subscriber_stats)
        }


def subscriber(app: App, address: str) -> Any:
    """The stored row for an address, or None."""
    with app.engine.connect() as conn:
        return conn.execute(sa.select(subscribers).where(subscribers.c.address == address)).first()


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

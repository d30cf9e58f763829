"""A person signs up in a real browser, confirms, gets the digest, leaves in one click.

The app is served by the bot's bounded uvicorn server on loopback in a background thread; the
page only queues the sign-up, and the confirmation sender of `bot run` mails the link to a real
SMTP server (SmtpPeer); the link's page has a button, which the person presses. The browser is
Debian's chromium driven by Playwright (no download).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from bot.app import App
from bot.runtime import build_runtime
from bot.store.schema import subscribers
from tests.compose.helpers import SEED_TOTALS, enter_seed, put
from tests.conftest import Cli
from tests.peers.ports import free_port
from tests.peers.smtp_server import Received, SmtpPeer
from tests.publish.helpers import point_at_peers, reload_settings, set_toml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADDRESS = "ko.aung@example.org"
DIGEST = ("post-now", "weekly-digest", "--channels", "email", "--on", "2024-02-05", "--yes")


def _need_chromium() -> str:
    """Debian's chromium; skipped without it, except under CI, where it must be there."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    missing = None
    if found is None:
        missing = f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-core)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    assert found is not None
    return found


class Served:
    """The web page served on 127.0.0.1 in a thread, as `bot web` serves it, until stopped."""

    def __init__(self, app: App, port: int) -> None:
        # On the app's clock, like the confirmation sender: the link's 7 days are the same days.
        self.server: uvicorn.Server = build_runtime(app).web_server(
            "127.0.0.1", port, own_signals=False
        )
        # Listening before uvicorn starts: the browser's first request waits in the backlog,
        # so nothing has to poll for the server to be up.
        self.listener = socket.create_server(("127.0.0.1", port))
        self.thread = threading.Thread(
            target=lambda: self.server.run(sockets=[self.listener]), name="uvicorn", daemon=True
        )
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


def _wait_for(peer: SmtpPeer, count: int) -> list[Received]:
    arrived = peer.wait_for(lambda: len(peer.to(ADDRESS)) >= count, timeout=15)
    assert arrived, f"no email #{count} for {ADDRESS}"
    return peer.to(ADDRESS)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _status(app: App) -> tuple[str, str, str]:
    with app.engine.connect() as conn:
        row = conn.execute(
            sa.select(subscribers.c.status, subscribers.c.lang, subscribers.c.topics).where(
                subscribers.c.address_hash.in_(app.sealer.lookups(ADDRESS))
            )
        ).one()
    return row.status, row.lang, row.topics


def _send_confirmations(app: App) -> int:
    """One pass of `bot run`'s confirmation sender, in a thread of its own (Playwright's sync
    API keeps an event loop running in this one)."""
    sent: list[int] = []

    def run() -> None:
        sent.append(asyncio.run(build_runtime(app).confirmations().run()).sent)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert sent, "the confirmation sender did not finish"
    return sent[0]


# The texts each language's pages show at each step.
STEPS = {
    "my": {
        "digits": "၂၅,၉၃၁",
        "inbox": "သင့်အီးမေးလ်ကို စစ်ဆေးပါ",
        "subject": "အတည်ပြုပါ",
        "button": "စာရင်းသွင်းမှုကို အတည်ပြုမည်",
        "thanks": "အတည်ပြုပြီးပါပြီ",
    },
    "en": {
        "digits": "25,931",
        "inbox": "Check your inbox",
        "subject": "Confirm your subscription",
        "button": "Confirm my subscription",
        "thanks": "your subscription is confirmed",
    },
}


def _sign_up_and_confirm(
    chromium: str, served: Served, app: App, smtp: SmtpPeer, lang: str = "my"
) -> None:
    """In the browser: the page, the form, the email's link, its button, the thank-you page."""
    step = STEPS[lang]
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while it is open, and
    # the `bot` commands run their own: the browser is closed before they run.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            # A Content-Security-Policy violation is reported on the console as an error.
            errors: list[str] = []
            page.on(
                "console", lambda note: errors.append(note.text) if note.type == "error" else None
            )

            page.goto(f"{served.url}/{lang}/")
            assert page.locator("html").get_attribute("lang") == lang
            assert step["digits"] in page.content()
            page.fill("#email", ADDRESS)
            page.check(f'input[name="lang"][value="{lang}"]')
            page.uncheck('input[name="topics"][value="statements"]')
            page.check('input[name="topics"][value="weekly-digest"]')
            # The honeypot is moved out of sight by the stylesheet (CSP let it load).
            box = page.locator("#website").bounding_box()
            assert box is None or box["x"] + box["width"] <= 0, box
            page.click('button[type="submit"]')
            page.wait_for_load_state()
            assert step["inbox"] in page.content()

            # `bot run` sends the confirmation to the SMTP server, in their language.
            assert _send_confirmations(app) == 1
            assert _status(app) == ("pending", lang, "weekly-digest")
            [first] = _wait_for(smtp, 1)
            confirmation = first.message()
            assert confirmation["Content-Language"] == lang
            assert step["subject"] in confirmation["Subject"]
            found = re.search(rf"{re.escape(served.url)}/confirm/\S+", _text(confirmation))
            assert found, _text(confirmation)

            # Opening the link only asks; the button confirms.
            response = page.goto(found.group())
            assert response is not None and response.status == 200
            assert _status(app)[0] == "pending"
            page.click(f'button:has-text("{step["button"]}")')
            page.wait_for_load_state()
            assert step["thanks"] in page.content()
            assert _status(app) == ("active", lang, "weekly-digest")
            # Nothing was fetched from anywhere but this server.
            assert requested and all(url.startswith(served.url) for url in requested), requested
            assert errors == []
        finally:
            browser.close()


def test_sign_up_confirm_receive_and_leave_in_burmese(
    app: App,
    cli: Cli,
    home: Path,
    smtp: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chromium = _need_chromium()
    port = free_port()
    env = point_at_peers(home, smtp=smtp)
    # The links in emails point at the server this test runs.
    set_toml(home, "channels.email", unsubscribe_base_url=f"http://127.0.0.1:{port}/unsubscribe/")
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the confirmation sender runs in this process
    cli.env.update(env)
    reload_settings(app)
    # The digest compares with the week before: figures a week apart.
    enter_seed(app)
    put(app, {key: value - 40 for key, value in SEED_TOTALS.items()}, "2024-01-24")

    with Served(app, port) as served:
        _sign_up_and_confirm(chromium, served, app, smtp)

        # The weekly digest reaches them, in Burmese.
        result = cli(*DIGEST)
        assert result.exit_code == 0, result.output
        assert ADDRESS not in result.output
        digest = _wait_for(smtp, 2)[1].message()
        assert digest["Subject"].startswith("အပတ်စဉ်သတင်းအကျဉ်း")
        assert not re.search("[0-9]", digest["Subject"])
        assert "(၄၄၇၄)" in _text(digest)

        # Their mail client's one-click unsubscribe (RFC 8058), as a mail client sends it.
        assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(digest["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        assert link.startswith(f"{served.url}/unsubscribe/")
        left = httpx.post(link, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
        assert left.status_code == 200
        assert _status(app)[0] == "unsubscribed"

        # The next digest does not reach them (post-now sends before it returns).
        again = cli(*DIGEST, "--again")
        assert again.exit_code == 0, again.output
        assert len(smtp.to(ADDRESS)) == 2


def test_sign_up_and_confirm_in_english(
    app: App, home: Path, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _need_chromium()
    port = free_port()
    env = point_at_peers(home, smtp=smtp)
    set_toml(home, "channels.email", unsubscribe_base_url=f"http://127.0.0.1:{port}/unsubscribe/")
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the confirmation sender runs in this process
    reload_settings(app)
    enter_seed(app)
    with Served(app, port) as served:
        _sign_up_and_confirm(chromium, served, app, smtp, "en")

"""The HTML emails on a phone: sent to a real SMTP server, parsed back, opened in chromium at
390 pixels, in English and Burmese. Nothing may widen the screen (a link with its token is the
usual culprit), the English text never borrows a glyph from a Myanmar font (the apostrophe did,
where Georgia is missing), and the Burmese text is set in a Burmese font. The Date field has
a numeric zone.

Screenshots are kept in the test's tmp dir (email-*.png) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.channels.base import Payload
from bot.channels.email import EmailSettings
from bot.channels.email_message import MessageBuilder
from bot.channels.smtp import EmailChannel
from bot.config.settings import Settings
from bot.subscribers.store import Subscriber
from bot.web.mails import confirmation
from bot.web.pages import Pages
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW
from tests.peers.smtp_server import Received, SmtpPeer
from tests.publish.helpers import add_subscribers, publish_occasion, send, use_peers
from tests.web.test_browser import CHROMIUM_ARGS, _need_chromium

PHONE = 390
# Overflow measured in the page, as a phone's browser sees it: the document, and any element
# whose box ends past the right edge (a link can stick out of a box that does not grow).
MEASURE = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > 0 && r.right > width + 0.5; })
    .map(e => e.tagName + ': ' + (e.textContent || '').trim().slice(0, 60));
  return {document: document.documentElement.scrollWidth, body: document.body.scrollWidth, wide};
}"""
MYANMAR_FONT = "Myanmar"


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: what is measured here is the HTML; the sending path runs on both
    databases in tests/publish."""
    yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


def _statements(app: App, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch) -> list[Received]:
    """The third-anniversary statement, sent by the sender to one subscriber per language."""
    use_peers(app, monkeypatch, smtp=smtp)
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    publication = publish_occasion(app, "anniversary", "2024-02-01", ["email"])
    report = send(app, ["email"], publication)
    assert report is not None
    assert smtp.wait_for(lambda: len(smtp.messages) >= 2, timeout=15)
    return list(smtp.messages)


def _confirmations(settings: Settings, smtp: SmtpPeer) -> list[Received]:
    """The sign-up confirmation in each language, with links as long as real ones."""
    import asyncio

    pages = Pages(settings)
    payloads: list[Payload] = []
    for lang in ("en", "my"):
        person = Subscriber(
            id=1,
            channel="email",
            address=f"new.{lang}@example.org",
            lang=lang,
            status="pending",
            topics=("statements", "weekly-digest"),
            token="t",
            created_at=FIXED_NOW,
        )
        payloads.append(
            confirmation(
                pages,
                settings,
                person,
                f"https://aappb.org/confirm/{secrets.token_urlsafe(32)}",
                f"https://aappb.org/unsubscribe/{secrets.token_urlsafe(60)}",
            )
        )
    channel = EmailChannel(
        EmailSettings(sender="AAPP <news@aappb.org>", security="none", timeout_seconds=5),
        f"127.0.0.1:{smtp.port}",
        None,
        None,
    )

    class Quiet:
        async def before(self, index: int) -> None: ...

        async def after(self, index: int, platform_id: str) -> None: ...

    async def go() -> None:
        try:
            for payload in payloads:
                await channel.publish(payload, [], Quiet())
        finally:
            await channel.close()

    before = len(smtp.messages)
    asyncio.run(go())
    return list(smtp.messages)[before:]


def _fonts(page: Any, selector: str) -> dict[str, int]:
    """The fonts chromium drew the matched elements' text with, and how many glyphs each."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    found: dict[str, int] = {}
    for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            name = font["familyName"]
            found[name] = found.get(name, 0) + int(font["glyphCount"])
    cdp.detach()
    return found


def _html(received: Received) -> tuple[str, str, str]:
    """(language, recipient, HTML part) of a message as a mail client parses it."""
    message = received.message()
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(message["Content-Language"]), received.rcpt_tos[0], str(part.get_content())  # type: ignore[attr-defined]


def _unsubscribe_url(received: Received) -> str:
    return str(received.message()["List-Unsubscribe"]).split(",")[0].strip().strip("<>")


def test_emails_fit_a_phone_in_both_languages_with_the_right_fonts(
    app: App, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chromium = _need_chromium()
    from playwright.sync_api import sync_playwright

    received = _statements(app, smtp, monkeypatch) + _confirmations(app.settings, smtp)
    kinds = ["statement", "statement", "confirmation", "confirmation"]
    assert len(received) == 4
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for kind, got in zip(kinds, received, strict=True):
                lang, recipient, html = _html(got)
                name = f"{kind} {lang}"
                page = browser.new_page(viewport={"width": PHONE, "height": 800})
                page.set_content(html)
                page.screenshot(path=str(tmp_path / f"email-{kind}-{lang}.png"), full_page=True)
                measured = page.evaluate(MEASURE)
                if measured["document"] > PHONE or measured["body"] > PHONE or measured["wide"]:
                    problems.append(f"{name}: wider than {PHONE} px: {measured}")
                # The footer's unsubscribe link: this recipient's, readable, on screen.
                url = _unsubscribe_url(got)
                link = page.locator(f'a[href="{url}"]')
                if link.count() != 1:
                    problems.append(f"{name}: no footer link to {url} for {recipient}")
                else:
                    text = link.inner_text()
                    box = link.bounding_box()
                    if "://" in text or not text.strip():
                        problems.append(f"{name}: the link reads {text!r}, not words")
                    if box is None or box["x"] + box["width"] > PHONE:
                        problems.append(f"{name}: the unsubscribe link is off screen: {box}")
                fonts = _fonts(page, "p")
                assert fonts, name
                if lang == "en" and any(MYANMAR_FONT in font for font in fonts):
                    problems.append(f"{name}: English text drawn with a Myanmar font: {fonts}")
                if lang == "my" and max(fonts, key=lambda font: fonts[font]) != "Noto Sans Myanmar":
                    problems.append(f"{name}: Burmese text not in Noto Sans Myanmar: {fonts}")
                page.close()
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)


def test_the_statement_keeps_its_apostrophe_and_its_paragraphs(
    app: App, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the browser test measures is the real statement: the English one has the junta’s
    apostrophe, and the footer names the link in words in each language."""
    english, burmese = sorted(_statements(app, smtp, monkeypatch), key=lambda r: _html(r)[0])
    assert "junta’s" in _html(english)[2]
    assert ">Unsubscribe from these emails</a>" in _html(english)[2]
    assert ">စာရင်းမှ ထွက်ရန်</a>" in _html(burmese)[2]
    # The plain-text part still writes the address out, for clients that show no HTML.
    text = english.message().get_body(preferencelist=("plain",))
    assert text is not None and _unsubscribe_url(english) in str(text.get_content())  # type: ignore[attr-defined]
    # The Date field as sent: a numeric zone, never the obsolete "GMT".
    for received in (english, burmese):
        [date] = re.findall(rb"^Date: (.*)\r$", received.headers, re.MULTILINE)
        assert re.fullmatch(rb"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date), date


def test_the_date_is_written_in_utc_with_a_numeric_zone_from_the_injected_clock() -> None:
    yangon = dt.timezone(dt.timedelta(hours=6, minutes=30))
    builder = MessageBuilder(
        "AAPP <news@aappb.org>", now=lambda: dt.datetime(2024, 2, 1, 8, 59, 30, 750, yangon)
    )
    payload = Payload(
        channel="email",
        lang="en",
        parts=("Killed: 4,474\n",),
        subject="Figures",
        html="<p>Killed: 4,474</p>",
        target="reader@example.org",
    )
    data = builder.build(payload).data
    assert b"\r\nDate: Thu, 01 Feb 2024 02:29:30 +0000\r\n" in data
    assert b"GMT" not in data

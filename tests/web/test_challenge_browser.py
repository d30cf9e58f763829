"""With the proof-of-work check on, a person signs up in a real browser, in both languages.

The page's own script fetches a puzzle from the site, solves it in a worker and sends the
form; the browser asks nothing of any other host and the Content-Security-Policy lets it run
(a violation would be a console error). Without JavaScript the form says why it cannot work,
and a form sent anyway queues nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.web.pages import prefix
from tests.peers.ports import free_port
from tests.publish.helpers import reload_settings, set_toml
from tests.web.helpers import queued
from tests.web.test_browser import CHROMIUM_ARGS, STEPS, Served, _need_chromium

ADDRESS = "ma.hla@example.org"
NOSCRIPT = {"en": "needs JavaScript", "my": "JavaScript လိုအပ်ပါသည်"}
NOTHING_SENT = {"en": "Nothing was sent", "my": "မည်သည့်အီးမေးလ်မျှ မပို့ရသေးပါ"}


def _serve(app: App, home: Path) -> Served:
    port = free_port()
    # The site's address is the one the browser opens (the form's Origin is checked).
    set_toml(home, "channels.email", unsubscribe_base_url=f"http://127.0.0.1:{port}/unsubscribe/")
    # A low difficulty: the test proves the path, not the cost.
    set_toml(home, "web.challenge", enabled=True, max_number=2000)
    reload_settings(app)
    return Served(app, port)


@pytest.mark.parametrize("lang", ["en", "my"])
def test_a_sign_up_with_the_check_on_succeeds(app: App, home: Path, lang: str) -> None:
    chromium = _need_chromium()
    from playwright.sync_api import sync_playwright

    with _serve(app, home) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            workers: list[str] = []
            page.on("worker", lambda worker: workers.append(worker.url))
            errors: list[str] = []
            page.on(
                "console", lambda note: errors.append(note.text) if note.type == "error" else None
            )
            page.goto(f"{served.url}/{lang}/")
            assert not page.locator("noscript").is_visible()
            page.fill("#email", ADDRESS)
            page.check(f'input[name="lang"][value="{lang}"]')
            page.click('button[type="submit"]')
            page.wait_for_url(f"{served.url}{prefix(lang)}/subscribe")
            page.get_by_text(STEPS[lang]["inbox"]).first.wait_for()
            assert [(row.lang, row.state) for row in queued(app)] == [(lang, "queued")]
            assert f"{served.url}/challenge" in requested
            # Solved in a worker (the same file), off the page's thread.
            assert workers == [f"{served.url}/static/challenge.js"]
            assert all(url.startswith(served.url) for url in requested), requested
            assert errors == []
        finally:
            browser.close()


@pytest.mark.parametrize("lang", ["en", "my"])
def test_without_javascript_the_form_says_so_and_sends_nothing(
    app: App, home: Path, lang: str
) -> None:
    chromium = _need_chromium()
    from playwright.sync_api import sync_playwright

    with _serve(app, home) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{served.url}/{lang}/")
            # (Playwright's text search skips <noscript>: the element is read directly.)
            notice = page.locator("noscript")
            assert notice.is_visible() and NOSCRIPT[lang] in notice.inner_text()
            page.fill("#email", ADDRESS)
            page.click('button[type="submit"]')
            page.wait_for_url(f"{served.url}{prefix(lang)}/subscribe")
            # The refusal says that nothing was sent, and why.
            assert NOSCRIPT[lang] in page.locator('[role="alert"]').inner_text()
            assert NOTHING_SENT[lang] in page.locator('[role="alert"]').inner_text()
            assert queued(app) == []
        finally:
            browser.close()

"""The pages themselves: both languages, nothing loaded from elsewhere, the public address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import App
from bot.config.settings import load_settings
from bot.config.urls import public_urls
from bot.web.pages import paragraphs, rest_of
from bot.web.texts import TEXTS, TOPIC_NAMES
from tests.compose.helpers import enter_seed
from tests.publish.helpers import set_toml
from tests.web.helpers import Web

PAGES = ("/", "/my/", "/en/", "/?lang=my", "/posts", "/my/posts", "/unsubscribe/bad", "/nowhere")


def test_both_languages_have_every_text() -> None:
    assert set(TEXTS["en"]) == set(TEXTS["my"])
    assert set(TOPIC_NAMES["en"]) == set(TOPIC_NAMES["my"])


def test_burmese_texts_have_no_latin_digits_and_are_unicode() -> None:
    for key, text in [*TEXTS["my"].items(), *TOPIC_NAMES["my"].items()]:
        assert not re.search("[0-9]", text), key
        # Zawgyi puts these in places Unicode never does; a cheap check for the wrong encoding.
        assert "\u1031\u103b" not in text, key


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_elsewhere(app: App, path: str) -> None:
    enter_seed(app)
    page = Web(app).get(path).text
    assert "<script" not in page and "<iframe" not in page and "<img" not in page
    assert " style=" not in page  # inline styles would need 'unsafe-inline'
    assert "<style" not in page
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheets == ["/style.css"]
    assert "@import" not in page and "url(" not in page


def test_the_stylesheet_is_served_and_loads_no_fonts_from_elsewhere(app: App) -> None:
    response = Web(app).get("/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "Noto Sans Myanmar" in response.text
    assert "url(" not in response.text and "@import" not in response.text
    assert "@font-face" not in response.text


def test_the_home_page_shows_figures_with_date_and_source_and_the_form(app: App) -> None:
    enter_seed(app)
    web = Web(app)
    english = web.get("/").text
    assert "25,931" in english and "January 31, 2024" in english
    assert 'href="https://aappb.org/?p=27322"' in english
    assert 'action="/subscribe"' in english
    for topic in ("statements", "weekly-digest", "daily-briefing"):
        assert f'name="topics" value="{topic}"' in english
    assert 'name="website"' in english and 'class="hp"' in english
    burmese = web.get("/my/").text
    assert '<html lang="my">' in burmese
    assert "၂၅,၉၃၁" in burmese and "၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်" in burmese
    assert 'action="/my/subscribe"' in burmese
    assert 'value="my" checked' in burmese  # the emails' language follows the page's


@pytest.mark.parametrize(
    ("path", "english", "burmese"),
    [
        ("/", "/", "/my/"),
        ("/my/", "/", "/my/"),
        ("/my", "/", "/my/"),
        ("/posts", "/posts", "/my/posts"),
        ("/my/posts", "/posts", "/my/posts"),
    ],
)
def test_the_language_switch_keeps_the_page(
    app: App, path: str, english: str, burmese: str
) -> None:
    page = Web(app).get(path).text
    assert f'<a href="{english}" hreflang="en"' in page
    assert f'<a href="{burmese}" hreflang="my"' in page


def test_a_missing_page_is_a_clear_page_in_the_readers_language(app: App) -> None:
    web = Web(app)
    assert web.get("/nowhere").status_code == 404
    burmese = web.get("/my/nowhere")
    assert burmese.status_code == 404 and "စာမျက်နှာ မတွေ့ပါ" in burmese.text


@pytest.mark.parametrize(
    ("unsubscribe", "base"),
    [
        ("https://aappb.org/unsubscribe/", "https://aappb.org/"),
        ("https://aappb.org/bot/unsubscribe/", "https://aappb.org/bot/"),
        ("http://localhost:8080/unsubscribe/", "http://localhost:8080/"),
        ("https://lists.aappb.org/u/", "https://lists.aappb.org/"),
        ("https://aappb.org", "https://aappb.org/"),
    ],
)
def test_the_public_address_comes_from_the_unsubscribe_base(
    home: Path, unsubscribe: str, base: str
) -> None:
    set_toml(home, "channels.email", unsubscribe_base_url=unsubscribe)
    assert public_urls(load_settings(home)).site == base


def test_rest_of_a_path_drops_only_a_language_prefix() -> None:
    assert rest_of("/my/posts/3") == "/posts/3"
    assert rest_of("/my") == "/"
    assert rest_of("/myself") == "/myself"
    assert rest_of("/en/") == "/"


def test_paragraphs_escape_and_link_only_web_addresses() -> None:
    html = str(
        paragraphs(
            "One <b>two</b> & three.\nSee https://aappb.org/?p=1&x=2.\n\njavascript:alert(1)"
        )
    )
    assert html.count("<p>") == 2
    assert "&lt;b&gt;two&lt;/b&gt; &amp; three.<br>" in html
    assert '<a href="https://aappb.org/?p=1&amp;x=2" rel="noopener noreferrer">' in html
    assert "</a>." in html  # the full stop is not part of the address
    assert "javascript:alert(1)" in html and 'href="javascript' not in html

"""The card in email (a linked picture, the same address for every reader) and on the web
archive (og:image and twitter:card on the post's page, the PNG served from /cards/)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.store.schema import editions
from tests.compose.helpers import SEED_TOTALS, enter_seed, put
from tests.peers.smtp_server import SmtpPeer
from tests.publish.helpers import (
    Clock,
    add_subscribers,
    delivery_rows,
    publish_occasion,
    send,
    use_peers,
)
from tests.web.helpers import Web

DAY = "2024-02-01"
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w[\w:-]*)="([^"]*)"')


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def sent(app: App, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch) -> int:
    """The daily briefing emailed to two English readers and one Burmese, through the peer."""
    enter_seed(app)
    use_peers(app, monkeypatch, smtp=smtp)
    add_subscribers(app.engine, ["en", "en", "my"])
    publication = publish_occasion(app, "daily-briefing", DAY, ["email"])
    send(app, ["email"], publication, clock=Clock())
    assert {row.state for row in delivery_rows(app.engine, publication)} == {"sent"}
    return publication


def cards_of(app: App, publication: int) -> dict[str, dict[str, Any]]:
    """lang → the card stored with the publication's email edition."""
    query = sa.select(editions.c.payload).where(editions.c.publication_id == publication)
    with app.engine.connect() as conn:
        payloads = [json.loads(text) for text in conn.execute(query).scalars()]
    return {p["lang"]: p["card"] for p in payloads}


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def images(markup: str) -> list[dict[str, str]]:
    """Every <img> of the markup, its attributes unescaped."""
    return [
        {name.lower(): html.unescape(value) for name, value in _ATTR.findall(tag)}
        for tag in _IMG.findall(markup)
    ]


def test_every_email_links_the_same_card_with_its_alt_text_and_nothing_else(
    app: App, smtp: SmtpPeer, sent: int
) -> None:
    cards = cards_of(app, sent)
    by_lang: dict[str, list[tuple[str, EmailMessage]]] = {}
    for received in smtp.messages:
        [to] = received.rcpt_tos
        message = received.message()
        # add_subscribers names each reader "readerN.LANG@example.org".
        lang = to.split("@")[0].rsplit(".", 1)[1]
        by_lang.setdefault(lang, []).append((to, message))
    assert sorted(len(found) for found in by_lang.values()) == [1, 2]

    for lang, found in by_lang.items():
        card = cards[lang]
        # The public address of the card, under the site, named by the picture's hash.
        assert card["url"] == f"https://aappb.org/cards/{card['sha256']}.png"
        for to, message in found:
            markup = html_of(message)
            # One picture only: the card, linked, with its alt text; no pixel, no attachment.
            assert images(markup) == [
                {
                    "src": card["url"],
                    "alt": card["alt"],
                    "width": "600",
                    "height": str(round(600 * card["height"] / card["width"])),
                    "style": images(markup)[0]["style"],
                }
            ]
            assert not [p for p in message.walk() if p.get_content_maintype() == "image"]
            # Nothing of the reader in its address: the same URL in every copy.
            unsubscribe = str(message["List-Unsubscribe"]).split(">")[0].lstrip("<")
            token = unsubscribe.rsplit("/", 1)[-1]
            assert to not in card["url"] and token not in card["url"]
            assert unsubscribe in markup  # each copy does carry its own link, elsewhere

    # The two English readers: their own unsubscribe links, the very same picture.
    (first_to, first), (second_to, second) = by_lang["en"]
    assert first["List-Unsubscribe"] != second["List-Unsubscribe"]
    assert images(html_of(first)) == images(html_of(second))
    assert first_to != second_to


def test_the_post_page_names_its_card_for_link_previews_and_serves_it(app: App, sent: int) -> None:
    cards = cards_of(app, sent)
    web = Web(app)

    for prefix, lang in (("", "en"), ("/my", "my")):
        page = web.get(f"{prefix}/posts/{sent}")
        assert page.status_code == 200
        card = cards[lang]
        meta = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', page.text))
        assert meta["og:image"] == card["url"]
        assert meta["og:image:type"] == "image/png"
        assert html.unescape(meta["og:image:alt"]) == card["alt"]
        assert meta["twitter:card"] == "summary_large_image"
        assert meta["twitter:image"] == card["url"]
        assert html.unescape(meta["twitter:image:alt"]) == card["alt"]
        # Shown on the page too, from the site itself (the page's CSP allows only 'self').
        assert {"src": f"/cards/{card['sha256']}.png", "alt": card["alt"]}.items() <= next(
            i for i in images(page.text) if i.get("class") == "card"
        ).items()

        picture = web.get(urlsplit(card["url"]).path)
        assert picture.status_code == 200
        assert picture.headers["content-type"] == "image/png"
        assert picture.content == Path(card["file"]).read_bytes()
        assert hashlib.sha256(picture.content).hexdigest() == card["sha256"]
        assert picture.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in picture.headers["content-security-policy"]
        assert "immutable" in picture.headers["cache-control"]
        # Meant to be shown by mail clients and the platforms' previews.
        assert picture.headers["cross-origin-resource-policy"] == "cross-origin"


def test_only_a_published_card_is_served(app: App, sent: int) -> None:
    # A later briefing, decided but not sent: its card is on disk, and not public yet.
    put(app, {**SEED_TOTALS, "killed": SEED_TOTALS["killed"] + 2}, "2024-02-02")
    pending = publish_occasion(app, "daily-briefing", "2024-02-02", ["email"])
    unsent = cards_of(app, pending)["en"]
    assert Path(unsent["file"]).is_file()
    assert unsent["sha256"] not in {card["sha256"] for card in cards_of(app, sent).values()}
    web = Web(app)

    for path in (
        f"/cards/{unsent['sha256']}.png",
        f"/cards/{'0' * 64}.png",  # no such card
        f"/cards/{cards_of(app, sent)['en']['sha256'].upper()}.png",  # not its name
        "/cards/../../config/bot.toml",
        "/cards/card.png",
    ):
        answer = web.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert answer.headers["x-content-type-options"] == "nosniff"

    # The pending post has no page, so no preview names its card either.
    assert web.get(f"/posts/{pending}").status_code == 404

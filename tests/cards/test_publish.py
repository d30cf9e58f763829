"""Cards going out: on X (v2 media upload, alt text, the first post) and on Telegram (a photo
with the text as its caption, or followed by it), stored with the edition, never drawn again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.cards import draw
from bot.channels.base import Payload
from bot.channels.x import X, XSettings
from bot.store.schema import editions
from tests.cards.helpers import card_of
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.telegram_server import FakeTelegram
from tests.peers.x_server import Reply, XServer
from tests.publish.helpers import (
    CHAT,
    Clock,
    delivery_rows,
    point_at_peers,
    publish_occasion,
    send,
    use_peers,
)

DAY = "2024-02-01"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def x() -> Iterator[XServer]:
    with XServer() as server:
        yield server


@pytest.fixture
def seeded(app: App) -> App:
    enter_seed(app)
    return app


def stored_cards(app: App, publication: int | None = None) -> dict[tuple[str, str], Any]:
    """(channel, lang) → the card stored in each edition's payload."""
    query = sa.select(editions.c.payload)
    if publication is not None:
        query = query.where(editions.c.publication_id == publication)
    with app.engine.connect() as conn:
        payloads = [json.loads(text) for text in conn.execute(query).scalars()]
    return {(p["channel"], p["lang"]): p["card"] for p in payloads}


@pytest.mark.parametrize("message", ["anniversary", "daily-briefing"])
def test_each_language_goes_out_with_its_card_on_x_and_telegram(
    cli: Cli, home: Path, seeded: App, x: XServer, telegram: FakeTelegram, message: str
) -> None:
    cli.env.update(point_at_peers(home, x=x, telegram=telegram))

    result = cli("post-now", message, "--channels", "x,telegram", "--on", DAY, "--yes")

    assert result.exit_code == 0, result.output
    cards = stored_cards(seeded)
    assert set(cards) == {(c, lang) for c in ("x", "telegram") for lang in ("en", "my")}
    for lang in ("en", "my"):
        # One card per language, the same on both platforms, kept under its hash.
        card = cards[("x", lang)]
        assert cards[("telegram", lang)] == card
        png = Path(str(card["file"])).read_bytes()
        assert hashlib.sha256(png).hexdigest() == card["sha256"]
    # X: each language's picture uploaded once, described, on the first post of its thread.
    assert len(x.uploads) == 2
    assert {hashlib.sha256(u.data).hexdigest() for u in x.uploads} == {
        cards[("x", lang)]["sha256"] for lang in ("en", "my")
    }
    assert all(u.category == "tweet_image" for u in x.uploads)
    for upload in x.uploads:
        card = next(
            c for c in cards.values() if c["sha256"] == hashlib.sha256(upload.data).hexdigest()
        )
        assert x.alt_texts[upload.id] == card["alt"]
    firsts = [post for post in x.posts if post.reply_to is None]
    assert sorted(m for p in firsts for m in p.media_ids) == sorted(u.id for u in x.uploads)
    assert all(not post.media_ids for post in x.posts if post.reply_to is not None)
    # Telegram: a photo per language, in the organisation's chat, before any text.
    photos = telegram.calls_to("sendPhoto")
    assert [call.params["chat_id"] for call in photos] == [CHAT, CHAT]
    assert sorted(hashlib.sha256(call.params["photo"]).hexdigest() for call in photos) == sorted(
        cards[("telegram", lang)]["sha256"] for lang in ("en", "my")
    )
    texts = telegram.calls_to("sendMessage")
    if message == "daily-briefing":
        # Short enough for a caption: one message each, the photo with the whole text.
        assert texts == []
        assert "(4474) people have been killed" in photos[0].params["caption"]
    else:
        # The statement is longer than a caption's 1,024 characters: it follows in full.
        assert all("caption" not in call.params for call in photos)
        assert any("(25931)" in call.params["text"] for call in texts)
    for row in delivery_rows(seeded.engine):
        assert row.state == "sent"


def test_a_retry_sends_the_stored_card_without_drawing_it_again(
    seeded: App, x: XServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(seeded, monkeypatch, x=x)
    publication = publish_occasion(seeded, "daily-briefing", DAY, ["x"], ["my"])
    [card] = stored_cards(seeded, publication).values()

    def no_drawing(*args: object) -> bytes:
        raise AssertionError("a card decided with its post is never drawn again")

    monkeypatch.setattr(draw, "draw_card", no_drawing)
    monkeypatch.setattr(draw, "_png", no_drawing)
    x.queue("UPLOAD", Reply.unavailable())  # the first try fails before anything is posted
    clock = Clock()
    seeded.clock = clock

    send(seeded, ["x"], publication, clock=clock, max_wait_seconds=0)
    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "pending" and "503" in row.error and x.posts == []
    clock.advance(60)
    send(seeded, ["x"], publication, clock=clock)

    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "sent" and row.attempts == 2
    [upload] = x.uploads
    assert hashlib.sha256(upload.data).hexdigest() == card["sha256"]
    assert x.alt_texts[upload.id] == card["alt"]
    assert x.posts[0].media_ids == (upload.id,)


def test_an_altered_card_file_is_refused_not_redrawn(
    seeded: App, x: XServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(seeded, monkeypatch, x=x)
    publication = publish_occasion(seeded, "daily-briefing", DAY, ["x"], ["en"])
    [card] = stored_cards(seeded, publication).values()
    Path(card["file"]).write_bytes(b"not the approved picture")

    seeded.clock = Clock()
    send(seeded, ["x"], publication, clock=seeded.clock)

    [row] = delivery_rows(seeded.engine, publication)
    assert row.state == "failed" and "was altered" in row.error
    assert x.posts == [] and x.uploads == []


def test_the_x_budget_counts_the_alt_text_call(seeded: App) -> None:
    settings = XSettings(price_per_post_usd=0.015, price_per_media_metadata_usd=0.005)
    card = card_of(seeded, "daily-briefing", "en")
    plain = Payload("x", "en", ("one post",))
    with_card = Payload("x", "en", ("one post",), card=card)
    assert X.cost(settings, plain) == (1, 0.015)
    assert X.cost(settings, with_card) == (1, 0.02)

"""/posts, /posts/<id> and /feed.xml: what went out, and only that."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.store.schema import deliveries, publications
from tests.compose.helpers import SEED_TOTALS, enter_seed, put
from tests.conftest import FIXED_NOW
from tests.publish.helpers import add_subscribers, publish_occasion
from tests.web.helpers import Web

A = "{http://www.w3.org/2005/Atom}"
SENT_AT = FIXED_NOW + dt.timedelta(minutes=5)
BRIEFING_EN = "Daily Briefing, February 1, 2024: 4474 killed, 19993 still detained"


def _went_out(
    app: App, publication: int, via: str = "platform", channel: str | None = None
) -> None:
    query = deliveries.update().where(deliveries.c.publication_id == publication)
    if channel:
        query = query.where(deliveries.c.channel == channel)
    with app.engine.begin() as conn:
        conn.execute(query.values(state="sent", sent_at=SENT_AT, via=via))


def _archive(app: App) -> dict[str, int]:
    """Publications in every state the archive must tell apart."""
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    sent = publish_occasion(app, "daily-briefing", "2024-02-01", ["email", "telegram"])
    _went_out(app, sent)
    retracted = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"], again=True)
    _went_out(app, retracted)
    with app.engine.begin() as conn:
        conn.execute(
            publications.update()
            .where(publications.c.id == retracted)
            .values(retracted_at=SENT_AT, retract_reason="wrong figure")
        )
    folder = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"], again=True)
    _went_out(app, folder, via="folder")  # only written to var/outbox: never published
    pending = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"], again=True)
    put(app, {**SEED_TOTALS, "killed": SEED_TOTALS["killed"] + 2}, "2024-02-02")
    telegram = publish_occasion(app, "daily-briefing", "2024-02-02", ["telegram"])
    _went_out(app, telegram)
    return {
        "sent": sent,
        "retracted": retracted,
        "folder": folder,
        "pending": pending,
        "telegram": telegram,
    }


def test_the_archive_lists_what_went_out_and_nothing_else(app: App) -> None:
    found = _archive(app)
    web = Web(app)

    page = web.get("/posts")

    assert page.status_code == 200
    assert f'href="/posts/{found["sent"]}"' in page.text
    assert f'href="/posts/{found["telegram"]}"' in page.text
    for hidden in ("retracted", "folder", "pending"):
        assert f'href="/posts/{found[hidden]}"' not in page.text
    assert BRIEFING_EN in page.text
    # Newest first.
    assert page.text.index(f"/posts/{found['telegram']}") < page.text.index(
        f"/posts/{found['sent']}"
    )


def test_a_post_shows_the_email_text_in_the_readers_language(app: App) -> None:
    found = _archive(app)
    web = Web(app)

    english = web.get(f"/posts/{found['sent']}")
    burmese = web.get(f"/my/posts/{found['sent']}")

    assert english.status_code == 200 and burmese.status_code == 200
    assert "(4474) people have been killed" in english.text
    assert '<article class="post" lang="en">' in english.text
    assert "(၄၄၇၄)" in burmese.text and "4474" not in burmese.text.split("<main>")[1]
    assert '<article class="post" lang="my">' in burmese.text
    # The post's date in the reader's numbering.
    assert "February 1, 2024" in english.text
    assert "၂၀၂၄ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်" in burmese.text


def test_a_telegram_only_post_is_shown_without_its_markup(app: App) -> None:
    found = _archive(app)
    page = Web(app).get(f"/posts/{found['telegram']}")
    assert page.status_code == 200
    body = page.text.split('<article class="post"')[1]
    assert "(4476)" in body
    assert "&lt;b&gt;" not in body and "<b>" not in body


def test_a_post_that_did_not_go_out_is_not_found(app: App) -> None:
    found = _archive(app)
    web = Web(app)
    for hidden in ("retracted", "folder", "pending"):
        response = web.get(f"/posts/{found[hidden]}")
        assert response.status_code == 404
        assert "Page not found" in response.text
    assert web.get("/posts/999999").status_code == 404
    assert web.get("/posts/abc").status_code == 404


def test_an_empty_archive_says_so(app: App) -> None:
    web = Web(app)
    assert "Nothing has been published yet." in web.get("/posts").text
    assert "ထုတ်ပြန်ထားသော စာ မရှိသေးပါ။" in web.get("/my/posts").text
    feed = ET.fromstring(web.get("/feed.xml").content)
    assert feed.tag == f"{A}feed" and feed.findall(f"{A}entry") == []
    assert feed.findtext(f"{A}updated")


def test_the_feed_is_valid_atom_with_one_entry_per_post(app: App) -> None:
    found = _archive(app)
    response = Web(app).get("/feed.xml")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{A}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert feed.findtext(f"{A}id") == "http://localhost:8080/feed.xml"
    assert "Assistance Association for Political Prisoners" in (feed.findtext(f"{A}title") or "")
    assert feed.findtext(f"{A}updated") == "2024-02-01T01:05:00Z"
    assert feed.find(f"{A}author/{A}name") is not None
    self_link = [link for link in feed.findall(f"{A}link") if link.get("rel") == "self"]
    assert self_link and self_link[0].get("href") == "http://localhost:8080/feed.xml"
    entries = feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}id") for e in entries] == [
        f"http://localhost:8080/posts/{found['telegram']}",
        f"http://localhost:8080/posts/{found['sent']}",
    ]
    for entry in entries:
        for name in ("id", "title", "updated", "content"):
            assert (entry.findtext(f"{A}{name}") or "").strip(), name
        assert entry.find(f"{A}content").get("type") == "text"  # type: ignore[union-attr]
        dt.datetime.fromisoformat((entry.findtext(f"{A}updated") or "").replace("Z", "+00:00"))
    email_entry = entries[1]
    assert email_entry.findtext(f"{A}title") == BRIEFING_EN
    assert "(4474) people have been killed" in (email_entry.findtext(f"{A}content") or "")


def test_the_burmese_feed_carries_the_burmese_editions(app: App) -> None:
    found = _archive(app)
    feed = ET.fromstring(Web(app).get("/my/feed.xml").content)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "my"
    assert feed.findtext(f"{A}id") == "http://localhost:8080/my/feed.xml"
    entries = feed.findall(f"{A}entry")
    assert entries[-1].findtext(f"{A}id") == f"http://localhost:8080/my/posts/{found['sent']}"
    assert "နေ့စဉ်သတင်းအကျဉ်း" in (entries[-1].findtext(f"{A}title") or "")
    assert "(၄၄၇၄)" in (entries[-1].findtext(f"{A}content") or "")


def test_the_archive_pages_by_publication(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web import archive

    found = _archive(app)
    monkeypatch.setattr(archive, "PAGE", 1)
    web = Web(app)
    first = web.get("/posts")
    assert f"/posts/{found['telegram']}" in first.text
    assert f"/posts?before={found['telegram']}" in first.text
    second = web.get(f"/posts?before={found['telegram']}")
    assert f"/posts/{found['sent']}" in second.text
    assert f"/posts/{found['telegram']}" not in second.text


def test_nothing_about_subscribers_is_in_the_archive(app: App) -> None:
    _archive(app)
    web = Web(app)
    with app.engine.connect() as conn:
        targets = conn.execute(sa.select(deliveries.c.target)).scalars().all()
    pages = [web.get(path).text for path in ("/posts", "/my/posts", "/feed.xml", "/posts/1")]
    for target in targets:
        if "@" in target:
            assert all(target not in page for page in pages)

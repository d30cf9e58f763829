"""The links in emails: confirm and unsubscribe. Opening either asks; only a POST acts.

A confirmation needs its page's button (the form token, from this site); an unsubscribe is
RFC 8058's one-click POST, which needs nothing but the link.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from bot.app import App
from bot.runtime import build_runtime
from bot.subscribers import store
from tests.conftest import FIXED_NOW
from tests.web.helpers import (
    SIGNUP,
    Web,
    confirm,
    confirm_link,
    deliver,
    mails,
    path_of,
    people,
    subscriber,
)

BAD_LINK = "This link is not valid"


def _signed_up(web: Web, address: str = "reader@example.org", lang: str = "en") -> str:
    """Sign up through the form and let the sender mail the link; returns the link's path."""
    response = web.post("/subscribe", {**SIGNUP, "email": address, "lang": lang})
    assert response.status_code == 200
    assert deliver(web).sent == 1
    return path_of(confirm_link(mails(web.app)[-1]))


def _press(web: Web, path: str) -> httpx.Response:
    """POST to a link as its page's button would, with a valid form token."""
    return web.post(path, {"form_token": web.form_token()})


def _tampered(path: str) -> str:
    head, token = path.rsplit("/", 1)
    middle = len(token) // 2
    swapped = "A" if token[middle] != "A" else "B"
    return f"{head}/{token[:middle]}{swapped}{token[middle + 1 :]}"


def _unsubscribe_path(app: App, address: str) -> str:
    person = store.find(app.engine, "email", address)
    assert person is not None
    return path_of(build_runtime(app).unsubscribe_links()(person.token))


def test_the_confirmation_link_asks_and_its_button_confirms_in_their_language(app: App) -> None:
    web = Web(app)
    link = _signed_up(web, "mg@example.org", "my")
    before = people(app)

    # A person, a link preview and a mail scanner open the link: it only asks.
    for method in ("GET", "GET", "HEAD"):
        opened = web.request(method, link)
        assert opened.status_code == 200
        assert opened.headers["cache-control"] == "no-store"
    assert '<html lang="my">' in web.get(link).text
    assert f'<form method="post" action="{link}"' in web.get(link).text
    assert people(app) == before
    assert subscriber(app, "mg@example.org").status == "pending"

    response = confirm(web, link)

    assert response.status_code == 200
    assert '<html lang="my">' in response.text
    assert "အတည်ပြုပြီးပါပြီ" in response.text
    assert "ထုတ်ပြန်ချက်များ" in response.text  # what they will receive
    assert subscriber(app, "mg@example.org").status == "active"
    # Opening it again (a second click, a mail scanner) only says so.
    again = web.get(link)
    assert again.status_code == 200 and "အတည်ပြုပြီးပါပြီ" in again.text


@pytest.mark.parametrize(
    ("case", "origin", "with_token"),
    [
        ("a scanner's bare POST", None, False),
        ("another site's form", "https://evil.example", False),
        ("another site, with a token it read", "https://evil.example", True),
        ("this site, without the token", "http://localhost:8080", False),
    ],
)
def test_only_the_buttons_own_post_confirms(
    app: App, case: str, origin: str | None, with_token: bool
) -> None:
    web = Web(app)
    link = _signed_up(web)
    data = {"form_token": web.form_token(link)} if with_token else {}
    before = people(app)

    response = web.post(link, data, origin=origin, token=False)

    assert response.status_code == 403, case
    assert people(app) == before
    assert subscriber(app, "reader@example.org").status == "pending"
    # The page offers the button again, with a token that works.
    assert confirm(web, link).status_code == 200
    assert subscriber(app, "reader@example.org").status == "active"


def test_a_confirmation_token_is_random_and_only_its_hash_is_stored(app: App) -> None:
    import sqlalchemy as sa

    from bot.store.schema import confirm_tokens

    web = Web(app)
    first = _signed_up(web, "a@example.org").rsplit("/", 1)[1]
    second = _signed_up(web, "b@example.org").rsplit("/", 1)[1]
    with app.engine.connect() as conn:
        stored = set(conn.execute(sa.select(confirm_tokens.c.token_hash)).scalars())
    assert len(first) == len(second) == 43 and first != second
    assert not (stored & {first, second})  # hashes only
    # Nothing but the random part: no signed payload (an id, a date) joined by dots.
    for token in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)


@pytest.mark.parametrize(
    "mangle",
    [
        _tampered,
        lambda path: path + "x",
        lambda path: path.rsplit("/", 1)[0] + "/not-a-token",
        lambda path: path.rsplit("/", 1)[0] + "/" + "A" * 2000,
    ],
    ids=["one character changed", "extended", "made up", "oversized"],
)
def test_a_tampered_confirmation_link_is_refused_and_changes_nothing(
    app: App, mangle: Callable[[str], str]
) -> None:
    web = Web(app)
    link = _signed_up(web)
    before = people(app)

    bad = mangle(link)

    for response in (web.get(bad), _press(web, bad)):
        assert response.status_code == 400
        assert BAD_LINK in response.text and "ဤလင့်ခ်သည် မမှန်ကန်ပါ" in response.text
    assert people(app) == before
    assert subscriber(app, "reader@example.org").status == "pending"


def test_an_expired_confirmation_link_is_refused_and_changes_nothing(app: App) -> None:
    web = Web(app)
    link = _signed_up(web)
    web.clock.advance(days=7, seconds=1)
    before = people(app)

    for response in (web.get(link), _press(web, link)):
        assert response.status_code == 400
        assert "This confirmation link has expired" in response.text
        assert "Subscribe again" in response.text
    assert people(app) == before
    assert subscriber(app, "reader@example.org").status == "pending"


def test_a_confirmation_link_does_not_bring_back_someone_who_left(app: App) -> None:
    web = Web(app)
    link = _signed_up(web)
    web.post(_unsubscribe_path(app, "reader@example.org"))
    before = people(app)

    # Leaving deleted the person's confirmation tokens: the link is dead.
    for response in (web.get(link), _press(web, link)):
        assert response.status_code == 400 and "Subscribe again" in response.text
    assert people(app) == before
    assert subscriber(app, "reader@example.org").status == "unsubscribed"


def test_opening_the_unsubscribe_link_only_asks(app: App) -> None:
    store.add(
        app.engine, "email", "r@example.org", "my", ("statements",), FIXED_NOW, confirmed=True
    )
    web = Web(app)
    path = _unsubscribe_path(app, "r@example.org")
    before = people(app)

    for _ in range(3):  # a person, a link preview, a mail scanner
        response = web.get(path)
        assert response.status_code == 200
        assert '<form method="post"' in response.text and f'action="{path}"' in response.text
        assert "စာရင်းမှ ထွက်မည်" in response.text  # the button, in their language
    assert web.request("HEAD", path).status_code == 200

    assert people(app) == before
    assert subscriber(app, "r@example.org").status == "active"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart", "empty"])
def test_one_click_post_unsubscribes_without_anything_else(app: App, encoding: str) -> None:
    store.add(
        app.engine, "email", "r@example.org", "en", ("statements",), FIXED_NOW, confirmed=True
    )
    web = Web(app)
    path = _unsubscribe_path(app, "r@example.org")
    body = {"List-Unsubscribe": "One-Click"}
    if encoding == "urlencoded":
        response = web.post(path, body)
    elif encoding == "multipart":
        response = web.post(path, body, files={"none": (None, b"")})
    else:
        response = web.post(path)

    assert response.status_code == 200
    assert "location" not in response.headers
    assert "You are unsubscribed" in response.text
    row = subscriber(app, "r@example.org")
    assert row.status == "unsubscribed" and row.unsubscribed_at is not None
    # Again: still 200, still unsubscribed (a mail client may retry).
    assert web.post(path, body).status_code == 200
    assert subscriber(app, "r@example.org").status == "unsubscribed"


def test_a_tampered_unsubscribe_link_is_refused_and_changes_nothing(app: App) -> None:
    store.add(
        app.engine, "email", "r@example.org", "en", ("statements",), FIXED_NOW, confirmed=True
    )
    web = Web(app)
    path = _unsubscribe_path(app, "r@example.org")
    before = people(app)
    for bad in (_tampered(path), path + "x", "/unsubscribe/nothing", "/unsubscribe/" + "a" * 999):
        for method in ("GET", "POST"):
            response = web.request(method, bad, data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 400, (method, bad)
            assert BAD_LINK in response.text
    # A confirmation token is not an unsubscribe token (signed for another purpose).
    confirm_token = _signed_up(web, "other@example.org").rsplit("/", 1)[1]
    before = people(app)
    assert web.post(f"/unsubscribe/{confirm_token}").status_code == 400
    assert people(app) == before
    assert subscriber(app, "r@example.org").status == "active"


def test_the_link_of_an_erased_person_answers_calmly(app: App) -> None:
    store.add(
        app.engine, "email", "r@example.org", "en", ("statements",), FIXED_NOW, confirmed=True
    )
    web = Web(app)
    path = _unsubscribe_path(app, "r@example.org")
    store.erase(app.engine, "email", "r@example.org", FIXED_NOW)
    assert web.get(path).status_code == 200
    response = web.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You are unsubscribed" in response.text


def test_pages_carry_the_security_headers(app: App) -> None:
    web = Web(app)
    for path in ("/", "/my/", "/posts", "/feed.xml", "/unsubscribe/x", "/nowhere", "/health"):
        headers = web.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "form-action 'self'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        # same-origin: nothing (a token in the address) leaves for other sites, and the
        # site's own forms still arrive with their Origin.
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"


def test_a_sign_up_not_confirmed_in_seven_days_is_deleted(app: App) -> None:
    web = Web(app)
    _signed_up(web, "late@example.org")
    confirmed = _signed_up(web, "prompt@example.org")
    confirm(web, confirmed)
    web.clock.advance(days=6, hours=23)
    deliver(web)  # each pass of `bot run`'s sender expires what is due
    assert subscriber(app, "late@example.org").status == "pending"

    web.clock.advance(hours=1, seconds=1)
    report = deliver(web)

    assert report.expired == 1
    assert subscriber(app, "late@example.org") is None
    assert subscriber(app, "prompt@example.org").status == "active"

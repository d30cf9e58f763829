"""The links in emails: confirm (expiring) and unsubscribe (GET asks, POST does it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import App
from bot.runtime import build_runtime
from bot.subscribers import store
from tests.conftest import FIXED_NOW
from tests.web.helpers import SIGNUP, Web, confirm_link, mails, path_of, people, subscriber

BAD_LINK = "This link is not valid"


def _signed_up(web: Web, address: str = "reader@example.org", lang: str = "en") -> str:
    """Sign up through the form; returns the path of the confirmation link."""
    response = web.post("/subscribe", {**SIGNUP, "email": address, "lang": lang})
    assert response.status_code == 200
    return path_of(confirm_link(mails(web.app)[-1]))


def _tampered(path: str) -> str:
    head, token = path.rsplit("/", 1)
    middle = len(token) // 2
    swapped = "A" if token[middle] != "A" else "B"
    return f"{head}/{token[:middle]}{swapped}{token[middle + 1 :]}"


def _unsubscribe_path(app: App, address: str) -> str:
    person = store.find(app.engine, "email", address)
    assert person is not None
    return path_of(build_runtime(app).unsubscribe_links()(person.token))


def test_the_confirmation_link_activates_and_thanks_in_their_language(app: App) -> None:
    web = Web(app)
    link = _signed_up(web, "mg@example.org", "my")

    response = web.get(link)

    assert response.status_code == 200
    assert '<html lang="my">' in response.text
    assert "အတည်ပြုပြီးပါပြီ" in response.text
    assert "ထုတ်ပြန်ချက်များ" in response.text  # what they will receive
    assert response.headers["cache-control"] == "no-store"
    assert subscriber(app, "mg@example.org").status == "active"
    # Opening it again (a second click, a mail scanner) is harmless.
    assert web.get(link).status_code == 200
    assert subscriber(app, "mg@example.org").status == "active"


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

    response = web.get(mangle(link))

    assert response.status_code == 400
    assert BAD_LINK in response.text and "ဤလင့်ခ်သည် မမှန်ကန်ပါ" in response.text
    assert people(app) == before
    assert subscriber(app, "reader@example.org").status == "pending"


def test_an_expired_confirmation_link_is_refused_and_changes_nothing(app: App) -> None:
    web = Web(app)
    link = _signed_up(web)
    web.clock.advance(days=7, seconds=1)
    before = people(app)

    response = web.get(link)

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

    response = web.get(link)

    assert response.status_code == 400 and "no longer works" in response.text
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
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"

"""POST /subscribe: every bad input is refused clearly and leaves no trace; no enumeration."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import App
from bot.subscribers import store
from tests.conftest import FIXED_NOW
from tests.web.helpers import (
    SIGNUP,
    Web,
    confirm_link,
    html_of,
    mails,
    path_of,
    people,
    subscriber,
    text_of,
)

CHECK_INBOX = "Check your inbox"
INJECTED = "reader@example.org\r\nBcc: victim@example.org"


def _form(**changes: Any) -> dict[str, Any]:
    form = dict(SIGNUP)
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


BAD_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("email missing", _form(email=None), "Enter your email address."),
    ("email empty", _form(email="  "), "Enter your email address."),
    ("email oversized", _form(email="a" * 250 + "@example.org"), "The email address is too long."),
    ("email without @", _form(email="reader.example.org"), "not an email address we can send to"),
    ("email without a domain", _form(email="reader@"), "not an email address we can send to"),
    ("email with two @", _form(email="a@@example.org"), "not an email address we can send to"),
    ("email, a bare host", _form(email="reader@localhost"), "not an email address we can send to"),
    ("email with a name", _form(email="Reader <r@example.org>"), "not an email address we"),
    ("two addresses", _form(email="a@example.org, b@example.org"), "not an email address we"),
    ("email twice", _form(email=["a@example.org", "b@example.org"]), "not an email address we"),
    ("quoted local part", _form(email='"a b"@example.org'), "not an email address we"),
    ("IP literal", _form(email="reader@[127.0.0.1]"), "not an email address we can send to"),
    ("non-ASCII local part", _form(email="ရဲ@example.org"), "not an email address we can send"),
    ("CR/LF in email", _form(email=INJECTED), "cannot contain line breaks"),
    ("LF at the end of email", _form(email="reader@example.org\n"), "cannot contain line breaks"),
    ("NUL in email", _form(email="reader@example.org\x00"), "cannot contain line breaks"),
    ("lang missing", _form(lang=None), "Choose the language of the emails."),
    ("lang unknown", _form(lang="fr"), "Choose English or Burmese."),
    ("lang, Zawgyi tag", _form(lang="my-Zawgyi"), "Choose English or Burmese."),
    ("lang twice", _form(lang=["en", "my"]), "Choose English or Burmese."),
    ("lang oversized", _form(lang="e" * 5000), "Choose English or Burmese."),
    ("CR/LF in lang", _form(lang="en\r\nX-Header: 1"), "Choose English or Burmese."),
    ("topics missing", _form(topics=None), "Choose at least one thing to receive."),
    ("topic unknown", _form(topics=["everything"]), "Choose from the listed options only."),
    (
        "one topic unknown among good ones",
        _form(topics=["statements", "breaking"]),
        "Choose from the listed options only.",
    ),
    ("topics, too many", _form(topics=["statements"] * 4), "Choose from the listed options"),
    ("topic oversized", _form(topics=["s" * 3000]), "Choose from the listed options only."),
    ("CR/LF in topic", _form(topics=["statements\r\n"]), "Choose from the listed options only."),
    ("nothing at all", {}, "Enter your email address."),
]


@pytest.mark.parametrize(("case", "form", "message"), BAD_FORMS, ids=[c[0] for c in BAD_FORMS])
def test_a_bad_field_is_refused_clearly_and_nothing_is_stored_or_sent(
    app: App, case: str, form: dict[str, Any], message: str
) -> None:
    web = Web(app)
    before = people(app)

    response = web.post("/subscribe", form)

    assert response.status_code == 400, case
    assert message in response.text
    assert 'class="problems"' in response.text
    assert CHECK_INBOX not in response.text
    assert people(app) == before
    assert mails(app) == []


def test_every_problem_of_a_form_is_listed_at_once(app: App) -> None:
    response = Web(app).post("/subscribe", {"email": "nope", "lang": "xx", "topics": "all"})
    assert response.status_code == 400
    for message in (
        "not an email address we can send to",
        "Choose English or Burmese.",
        "Choose from the listed options only.",
    ):
        assert message in response.text


def test_problems_are_worded_in_burmese_on_the_burmese_page(app: App) -> None:
    before = people(app)
    response = Web(app).post("/my/subscribe", _form(email="nope", lang="fr"))
    assert response.status_code == 400
    assert '<html lang="my">' in response.text
    assert "ဤလိပ်စာသို့ အီးမေးလ် ပို့၍မရပါ" in response.text
    assert "အင်္ဂလိပ် သို့မဟုတ် မြန်မာ ဘာသာကို ရွေးပါ။" in response.text
    assert people(app) == before


def test_what_was_typed_is_shown_again_escaped(app: App) -> None:
    typed = '"><script>alert(1)</script>@example.org'
    response = Web(app).post("/subscribe", _form(email=typed))
    assert response.status_code == 400
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text or 'value=""' in response.text


def test_an_oversized_form_is_refused_before_it_is_read(app: App) -> None:
    before = people(app)
    web = Web(app)
    huge = _form(email="reader@example.org", website="", topics=["statements"])
    huge["padding"] = "x" * 100_000
    response = web.post("/subscribe", huge)
    assert response.status_code == 413
    assert "The form is too large." in response.text

    # Sent without a Content-Length (chunked), the cap holds all the same.
    async def chunks() -> AsyncIterator[bytes]:
        yield b"email=reader%40example.org&lang=en&topics=statements&x="
        yield b"y" * 20_000

    streamed = web.post(
        "/subscribe",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert people(app) == before and mails(app) == []


def test_a_form_with_a_file_or_of_another_kind_is_refused(app: App) -> None:
    before = people(app)
    web = Web(app)
    with_file = web.post(
        "/subscribe",
        data={"email": "reader@example.org", "lang": "en", "topics": "statements"},
        files={"attachment": ("a.txt", b"hello")},
    )
    assert with_file.status_code == 400
    assert "The form could not be read" in with_file.text
    as_json = web.post("/subscribe", json={"email": "reader@example.org"})
    assert as_json.status_code == 400 and "Enter your email address." in as_json.text
    assert people(app) == before and mails(app) == []


def test_a_multipart_form_is_read_like_a_urlencoded_one(app: App) -> None:
    response = Web(app).post(
        "/subscribe",
        data={"email": "multi@example.org", "lang": "en", "topics": ["daily-briefing"]},
        files={"unused": (None, b"")},  # forces multipart/form-data without a file
    )
    assert response.status_code == 200 and CHECK_INBOX in response.text
    assert subscriber(app, "multi@example.org").topics == "daily-briefing"


@pytest.mark.parametrize("trap", ["http://spam.example", "x", "\r\n injected"])
def test_a_filled_honeypot_gets_the_calm_answer_and_nothing_happens(app: App, trap: str) -> None:
    web = Web(app)
    before = people(app)
    caught = web.post("/subscribe", _form(email="bot@example.org", website=trap))
    assert caught.status_code == 200
    assert people(app) == before and mails(app) == []
    real = web.post("/subscribe", _form(email="person@example.org"))
    assert caught.text == real.text


def test_a_sign_up_stores_a_pending_subscriber_and_mails_the_link(app: App) -> None:
    response = Web(app).post(
        "/subscribe",
        {"email": "Reader@Example.ORG", "lang": "en", "topics": ["weekly-digest", "statements"]},
    )

    assert response.status_code == 200 and CHECK_INBOX in response.text
    row = subscriber(app, "reader@example.org")
    assert row.status == "pending" and row.lang == "en"
    assert row.topics == "statements,weekly-digest"
    [mail] = mails(app)
    assert mail["To"] == "reader@example.org"
    assert mail["Subject"] == "Confirm your subscription to AAPP"
    assert mail["Content-Language"] == "en"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = confirm_link(mail)
    assert link.startswith("http://localhost:8080/confirm/")
    assert link in html_of(mail)
    text = text_of(mail)
    assert "Statements, Weekly digest" in text and "7 days" in text
    # The unsubscribe link is in the header and in the footer.
    assert mail["List-Unsubscribe"].strip("<>") in text


def test_the_burmese_confirmation_is_in_burmese_with_burmese_digits(app: App) -> None:
    Web(app).post("/my/subscribe", _form(email="mg@example.org", lang="my", topics="weekly-digest"))
    [mail] = mails(app)
    assert mail["Content-Language"] == "my"
    assert "အတည်ပြုပါ" in mail["Subject"]
    assert not re.search("[0-9]", mail["Subject"])
    text = text_of(mail)
    assert "အပတ်စဉ်သတင်းအကျဉ်း" in text and "၇ ရက်" in text
    # Latin digits only inside the links.
    words = re.sub(r"https?://\S+", "", text)
    assert not re.search("[0-9]", words)


def test_the_answer_is_the_same_for_a_new_pending_and_active_address(app: App) -> None:
    web = Web(app)
    fresh = web.post("/subscribe", _form(email="first@example.org"), ip="192.0.2.1")
    again = web.post("/subscribe", _form(email="first@example.org"), ip="192.0.2.2")
    web.get(path_of(confirm_link(mails(app)[-1])))
    assert subscriber(app, "first@example.org").status == "active"
    sent = len(mails(app))
    before = people(app)
    # An active subscriber: same answer, nothing sent, and their choices are not changed.
    active = web.post(
        "/subscribe",
        _form(email="first@example.org", lang="my", topics="daily-briefing"),
        ip="192.0.2.3",
    )
    for response in (again, active):
        assert (response.status_code, response.text) == (fresh.status_code, fresh.text)
        assert response.headers == fresh.headers
    assert len(mails(app)) == sent
    assert people(app) == before


def test_an_unsubscribed_person_can_sign_up_again(app: App) -> None:
    person, _ = store.add(
        app.engine, "email", "back@example.org", "en", ("statements",), FIXED_NOW, confirmed=True
    )
    store.unsubscribe(app.engine, person.id, FIXED_NOW)
    response = Web(app).post("/subscribe", _form(email="back@example.org"))
    assert response.status_code == 200
    assert subscriber(app, "back@example.org").status == "pending"
    assert len(mails(app)) == 1


def test_the_ip_limit_stops_a_flood_with_the_same_calm_answer(app: App) -> None:
    web = Web(app)
    answers = [
        web.post("/subscribe", _form(email=f"p{n}@example.org"), ip="198.51.100.7")
        for n in range(5)
    ]
    assert {a.status_code for a in answers} == {200}
    before = people(app)

    limited = web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7")

    assert limited.status_code == 429
    assert limited.text == answers[0].text
    assert people(app) == before and len(mails(app)) == 5
    # Another client is not held back; the same one is after an hour.
    assert (
        web.post("/subscribe", _form(email="q@example.org"), ip="198.51.100.8").status_code == 200
    )
    web.clock.advance(minutes=59)
    assert (
        web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7").status_code == 429
    )
    web.clock.advance(minutes=1)
    assert (
        web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7").status_code == 200
    )
    assert subscriber(app, "p5@example.org").status == "pending"


def test_the_address_limit_stops_mail_bombing_one_person_from_many_ips(app: App) -> None:
    web = Web(app)
    target = _form(email="target@example.org")
    for n in range(3):
        assert web.post("/subscribe", target, ip=f"203.0.113.{n}").status_code == 200
    assert len(mails(app)) == 3  # a pending person may ask for the link again
    before = people(app)

    limited = web.post("/subscribe", target, ip="203.0.113.99")

    assert limited.status_code == 429 and CHECK_INBOX in limited.text
    assert len(mails(app)) == 3 and people(app) == before
    web.clock.advance(hours=23, minutes=59)
    assert web.post("/subscribe", target, ip="203.0.113.98").status_code == 429
    web.clock.advance(minutes=1)
    assert web.post("/subscribe", target, ip="203.0.113.97").status_code == 200
    assert len(mails(app)) == 4


def test_the_address_limit_counts_one_address_however_it_is_written(app: App) -> None:
    web = Web(app)
    for n, spelling in enumerate(["a@example.org", "A@EXAMPLE.ORG", " a@Example.org "]):
        web.post("/subscribe", _form(email=spelling), ip=f"203.0.113.{n}")
    assert web.post("/subscribe", _form(email="a@example.org"), ip="203.0.113.9").status_code == 429
    assert [m["To"] for m in mails(app)] == ["a@example.org"] * 3


def test_addresses_are_never_logged_in_clear(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    web = Web(app)
    web.post("/subscribe", _form(email="secret.person@example.org"))
    web.get(path_of(confirm_link(mails(app)[0])))
    web.post("/subscribe", _form(email="secret.person@example.org"))
    assert "secret.person" not in caplog.text
    assert "s***@example.org" in caplog.text


def test_a_failed_send_is_logged_masked_and_the_answer_is_unchanged(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Email "configured" towards a port where nothing listens.
    monkeypatch.setenv("BOT_SMTP_HOST", "127.0.0.1:1")
    caplog.set_level(logging.INFO)
    response = Web(app).post("/subscribe", _form(email="unlucky@example.org"))
    assert response.status_code == 200 and CHECK_INBOX in response.text
    assert "not sent" in caplog.text and "u***@example.org" in caplog.text
    assert "unlucky@" not in caplog.text

"""POST /subscribe: bad input refused clearly, no trace; forged forms refused; the queue."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.subscribers import store
from tests.conftest import FIXED_NOW
from tests.publish.helpers import set_toml
from tests.web.helpers import (
    SIGNUP,
    Web,
    confirm,
    confirm_link,
    deliver,
    html_of,
    mails,
    people,
    queued,
    subscriber,
    text_of,
)

CHECK_INBOX = "Check your inbox"
NOTHING_SENT = "Nothing was sent"
FORGED = "did not come from this site"
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
    deliver(web)
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
    huge["padding"] = "x" * 20_000
    response = web.post("/subscribe", huge)
    assert response.status_code == 413
    assert "The form is too large." in response.text
    # Far larger, it is refused before any page runs.
    huge["padding"] = "x" * 100_000
    enormous = web.post("/subscribe", huge)
    assert enormous.status_code == 413 and "This request is too large" in enormous.text

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
    # JSON carries no form token: refused as a form that did not come from the page.
    as_json = web.post("/subscribe", json={"email": "reader@example.org"})
    assert as_json.status_code == 403 and FORGED in as_json.text
    assert people(app) == before and mails(app) == []


def test_a_multipart_form_is_read_like_a_urlencoded_one(app: App) -> None:
    web = Web(app)
    response = web.post(
        "/subscribe",
        data={"email": "multi@example.org", "lang": "en", "topics": ["daily-briefing"]},
        files={"unused": (None, b"")},  # forces multipart/form-data without a file
    )
    assert response.status_code == 200 and CHECK_INBOX in response.text
    deliver(web)
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


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("another site", {"origin": "https://evil.example"}),
        ("a look-alike host", {"origin": "http://localhost:8080.evil.example"}),
        ("another port", {"origin": "http://localhost:9999"}),
        ("a page with no-referrer", {"origin": "null"}),
        ("neither Origin nor Referer", {}),
        ("a Referer from elsewhere", {"referer": "https://evil.example/page"}),
    ],
)
def test_a_form_posted_from_another_site_is_refused_and_nothing_is_queued(
    app: App, case: str, headers: dict[str, str]
) -> None:
    web = Web(app)
    before = people(app)
    response = web.post("/subscribe", _form(), origin=None, headers=headers)
    assert response.status_code == 403, case
    assert FORGED in response.text and CHECK_INBOX not in response.text
    assert people(app) == before and queued(app) == []


def test_a_referer_from_this_site_is_enough_for_an_older_browser(app: App) -> None:
    web = Web(app)
    response = web.post(
        "/subscribe", _form(), origin=None, headers={"referer": "http://localhost:8080/my/"}
    )
    assert response.status_code == 200 and CHECK_INBOX in response.text
    assert len(queued(app)) == 1


def test_a_form_without_its_token_or_with_anothers_is_refused(app: App) -> None:
    web = Web(app)
    missing = web.post("/subscribe", _form(), token=False)
    stranger = Web(app)
    stolen = stranger.form_token()  # valid only with the stranger's cookie
    wrong = web.post("/subscribe", {**_form(), "form_token": stolen})
    web.cookies.clear()
    no_cookie = web.post("/subscribe", {**_form(), "form_token": stolen})
    for response in (missing, wrong, no_cookie):
        assert response.status_code == 403 and FORGED in response.text
        # The page offers the form again, with a token that works.
        assert 'name="form_token"' in response.text
    assert queued(app) == []
    assert web.post("/subscribe", _form()).status_code == 200


def test_the_form_cookie_is_strict_and_out_of_reach_of_scripts(app: App) -> None:
    response = Web(app).get("/")
    cookie = response.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and "path=/" in cookie
    assert response.headers["cache-control"] == "no-store"


def test_over_https_the_cookie_is_secure_and_host_only(app: App) -> None:
    from tests.publish.helpers import reload_settings

    set_toml(app.settings.home, "channels.email", unsubscribe_base_url="https://n.example.org/")
    reload_settings(app)
    web = Web(app)
    cookie = web.get("/").headers["set-cookie"]
    assert cookie.startswith("__Host-bot_form=") and "secure" in cookie.lower()
    # Over https, the site's own origin is the https one only.
    assert web.post("/subscribe", _form()).status_code == 403
    assert web.post("/subscribe", _form(), origin="https://n.example.org").status_code == 200


def test_a_sign_up_is_queued_and_the_sender_mails_the_link(app: App) -> None:
    web = Web(app)
    response = web.post(
        "/subscribe",
        {"email": "Reader@Example.ORG", "lang": "en", "topics": ["weekly-digest", "statements"]},
    )

    assert response.status_code == 200 and CHECK_INBOX in response.text
    # The web page only queued it: nobody is stored and nothing is sent yet.
    assert subscriber(app, "reader@example.org") is None and mails(app) == []
    [request] = queued(app)
    assert request.state == "queued" and request.address == "reader@example.org"

    assert deliver(web).sent == 1
    row = subscriber(app, "reader@example.org")
    assert row.status == "pending" and row.lang == "en"
    assert row.topics == "statements,weekly-digest"
    # Handled: the queue no longer holds the address.
    [request] = queued(app)
    assert request.state == "sent" and request.address is None
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
    # The unsubscribe link is in the header, and behind the footer's words.
    assert mail["List-Unsubscribe"].strip("<>") in html_of(mail)


def test_the_burmese_confirmation_is_in_burmese_with_burmese_digits(app: App) -> None:
    web = Web(app)
    web.post("/my/subscribe", _form(email="mg@example.org", lang="my", topics="weekly-digest"))
    deliver(web)
    [mail] = mails(app)
    assert mail["Content-Language"] == "my"
    assert "အတည်ပြုပါ" in mail["Subject"]
    assert not re.search("[0-9]", mail["Subject"])
    text = text_of(mail)
    assert "အပတ်စဉ်သတင်းအကျဉ်း" in text and "၇ ရက်" in text
    # Latin digits only inside the links.
    words = re.sub(r"https?://\S+", "", text)
    assert not re.search("[0-9]", words)


def test_the_answer_is_the_same_for_a_new_pending_active_and_unsubscribed_address(
    app: App,
) -> None:
    store.add(
        app.engine, "email", "left@example.org", "en", ("statements",), FIXED_NOW, confirmed=True
    )
    left = store.find(app.engine, "email", "left@example.org")
    assert left is not None
    store.unsubscribe(app.engine, left.id, FIXED_NOW)
    web = Web(app)
    fresh = web.post("/subscribe", _form(email="first@example.org"), ip="192.0.2.1")
    assert deliver(web).sent == 1
    again = web.post("/subscribe", _form(email="first@example.org"), ip="192.0.2.2")
    # Still pending when the sender looks: mailed again (a person may have lost the first).
    assert deliver(web).sent == 1
    confirm(web, confirm_link(mails(app)[-1]))
    assert subscriber(app, "first@example.org").status == "active"
    active = web.post(
        "/subscribe",
        _form(email="first@example.org", lang="my", topics="daily-briefing"),
        ip="192.0.2.3",
    )
    unsubscribed = web.post("/subscribe", _form(email="left@example.org"), ip="192.0.2.4")
    for response in (again, active, unsubscribed):
        assert (response.status_code, response.text) == (fresh.status_code, fresh.text)
        assert response.headers == fresh.headers
    # What the web did for each: one queued row, nothing else.
    assert [row.state for row in queued(app)] == ["sent", "sent", "queued", "queued"]

    report = deliver(web)
    # The active subscriber gets nothing and their choices are not changed; the person who
    # left may come back.
    assert (report.sent, report.states["skipped"]) == (1, 1)
    assert [m["To"] for m in mails(app)] == ["first@example.org"] * 2 + ["left@example.org"]
    row = subscriber(app, "first@example.org")
    assert (row.status, row.lang, row.topics) == ("active", "en", "statements")
    assert subscriber(app, "left@example.org").status == "pending"


def test_the_client_limit_stops_a_flood_and_says_nothing_was_sent(app: App) -> None:
    web = Web(app)
    answers = [
        web.post("/subscribe", _form(email=f"p{n}@example.org"), ip="198.51.100.7")
        for n in range(5)
    ]
    assert {a.status_code for a in answers} == {200}
    before = people(app)

    limited = web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7")

    assert limited.status_code == 429
    assert NOTHING_SENT in limited.text and CHECK_INBOX not in limited.text
    assert "on its way" not in limited.text
    assert people(app) == before
    deliver(web)
    assert len(mails(app)) == 5
    # Another client is not held back; the same one is after an hour.
    assert (
        web.post("/subscribe", _form(email="q@example.org"), ip="198.51.100.8").status_code == 200
    )
    web.clock.advance(minutes=59)
    assert (
        web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7").status_code == 429
    )
    web.clock.advance(minutes=1, seconds=1)
    assert (
        web.post("/subscribe", _form(email="p5@example.org"), ip="198.51.100.7").status_code == 200
    )


def test_an_ipv6_client_is_one_client_for_its_whole_64(app: App) -> None:
    web = Web(app)
    for n in range(5):
        ip = f"2001:db8:1:2::{n + 1:x}"
        assert web.post("/subscribe", _form(email=f"v{n}@example.org"), ip=ip).status_code == 200
    other_host = web.post("/subscribe", _form(email="v5@example.org"), ip="2001:db8:1:2:ffff::9")
    assert other_host.status_code == 429
    # The next /64 is another client; an IPv4 address written as IPv6 is that IPv4 address.
    assert (
        web.post("/subscribe", _form(email="w@example.org"), ip="2001:db8:1:3::1").status_code
        == 200
    )
    for n in range(5):
        web.post("/subscribe", _form(email=f"m{n}@example.org"), ip="203.0.113.50")
    mapped = web.post("/subscribe", _form(email="m5@example.org"), ip="::ffff:203.0.113.50")
    assert mapped.status_code == 429


def test_the_address_limit_counts_one_mailbox_however_it_is_written(app: App) -> None:
    web = Web(app)
    spellings = ["j.doe@gmail.com", "JDoe+news@gmail.com", "j.d.o.e+x@googlemail.com"]
    for n, spelling in enumerate(spellings):
        assert web.post("/subscribe", _form(email=spelling), ip=f"203.0.113.{n}").status_code == 200
    before = people(app)
    limited = web.post("/subscribe", _form(email="jdoe@gmail.com"), ip="203.0.113.9")
    assert limited.status_code == 429 and NOTHING_SENT in limited.text
    assert people(app) == before
    # Dots count outside Gmail: another mailbox, another count.
    assert (
        web.post("/subscribe", _form(email="j.doe@example.org"), ip="203.0.113.8").status_code
        == 200
    )
    web.clock.advance(hours=23, minutes=59)
    assert (
        web.post("/subscribe", _form(email="jdoe@gmail.com"), ip="203.0.113.7").status_code == 429
    )
    web.clock.advance(minutes=1, seconds=1)
    assert (
        web.post("/subscribe", _form(email="jdoe@gmail.com"), ip="203.0.113.6").status_code == 200
    )


def test_the_domain_limit_and_the_hourly_cap_hold_against_many_clients(app: App) -> None:
    from tests.publish.helpers import reload_settings

    set_toml(app.settings.home, "web.limits", per_domain_per_hour=3, mails_per_hour=5)
    reload_settings(app)
    web = Web(app)
    for n in range(3):
        assert (
            web.post(
                "/subscribe", _form(email=f"a{n}@one.example"), ip=f"198.51.100.{n}"
            ).status_code
            == 200
        )
    assert (
        web.post("/subscribe", _form(email="a9@one.example"), ip="198.51.100.9").status_code == 429
    )
    for n in range(2):
        assert (
            web.post("/subscribe", _form(email=f"b{n}@two.example"), ip=f"192.0.2.{n}").status_code
            == 200
        )
    # Five accepted this hour: the sixth is refused whoever and wherever it is from.
    capped = web.post("/subscribe", _form(email="c@three.example"), ip="192.0.2.77")
    assert capped.status_code == 429 and NOTHING_SENT in capped.text
    assert len(queued(app)) == 5


def test_the_limits_outlive_the_web_process(app: App) -> None:
    first = Web(app)
    for n in range(5):
        first.post("/subscribe", _form(email=f"r{n}@example.org"), ip="198.51.100.20")
    # A restart, or a second web process on the same database: the count is the same.
    second = Web(app, first.clock)
    assert (
        second.post("/subscribe", _form(email="r5@example.org"), ip="198.51.100.20").status_code
        == 429
    )


def test_addresses_are_never_logged_in_clear(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    web = Web(app)
    web.post("/subscribe", _form(email="secret.person@example.org"))
    deliver(web)
    confirm(web, confirm_link(mails(app)[0]))
    web.post("/subscribe", _form(email="secret.person@example.org"))
    deliver(web)
    assert "secret.person" not in caplog.text
    assert "s***@example.org" in caplog.text


def test_a_failed_send_is_logged_masked_and_tried_again_later(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Email "configured" towards a port where nothing listens.
    monkeypatch.setenv("BOT_SMTP_HOST", "127.0.0.1:1")
    set_toml(
        app.settings.home,
        "channels.email",
        unsubscribe_base_url="http://localhost:8080/unsubscribe/",
    )
    caplog.set_level(logging.INFO)
    web = Web(app)
    response = web.post("/subscribe", _form(email="unlucky@example.org"))
    assert response.status_code == 200 and CHECK_INBOX in response.text
    report = deliver(web)
    assert report.sent == 0 and report.states["retry"] == 1
    assert "not sent" in caplog.text and "u***@example.org" in caplog.text
    assert "unlucky@" not in caplog.text
    [request] = queued(app)
    assert request.state == "queued" and request.attempts == 1
    # Its token was withdrawn: no link exists that nobody received.
    from bot.store.schema import confirm_tokens

    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(confirm_tokens)).scalar() == 0

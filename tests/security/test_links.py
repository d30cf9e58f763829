"""Consent by link scanner, guessable tokens and broken unsubscribe links, against `bot web`.

Before: GET or HEAD on a confirmation link subscribed the person (mail scanners and link
previews open every link), confirmation tokens carried the subscriber's sequential id, and an
`unsubscribe_base_url` without a trailing slash was glued to the token.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.store.schema import confirm_tokens, subscribers
from tests.compose.helpers import enter_seed
from tests.peers.smtp_server import SmtpPeer
from tests.publish.helpers import (
    add_subscribers,
    point_at_peers,
    publish_occasion,
    reload_settings,
    send,
)
from tests.security.conftest import BotWeb, Visitor, deliver
from tests.web.helpers import confirm_link, mails, path_of, unsubscribe_link


def _status(bot: App, address: str) -> str | None:
    with bot.engine.connect() as conn:
        return conn.execute(
            sa.select(subscribers.c.status).where(
                subscribers.c.address_hash.in_(bot.sealer.lookups(address))
            )
        ).scalar()


def test_a_scanner_opening_the_link_confirms_nobody_only_the_button_does(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    person = Visitor(web, "198.51.100.10")
    assert person.sign_up("reader@example.org", "my", "/my/subscribe").status_code == 200
    assert deliver(bot) == 1
    link = confirm_link(mails(bot)[-1])
    assert link.startswith(f"{web.url}/confirm/")
    path = path_of(link)

    scanner = Visitor(web, "203.0.113.99")
    for method in ("GET", "HEAD", "GET"):
        assert scanner.client.request(method, path).status_code == 200
    # A scanner that follows the form posts it without the page's token, or from elsewhere.
    assert scanner.post(path, {}, origin=None).status_code == 403
    assert (
        scanner.post(path, {"form_token": "x" * 43}, origin="https://scan.example").status_code
        == 403
    )
    assert _status(bot, "reader@example.org") == "pending"

    page = person.get(path)
    assert "စာရင်းသွင်းမှုကို အတည်ပြုမည်" in page.text  # the button, in Burmese
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found
    pressed = person.post(path, {"form_token": found.group(1)})
    assert pressed.status_code == 200 and "အတည်ပြုပြီးပါပြီ" in pressed.text
    assert _status(bot, "reader@example.org") == "active"


def test_confirmation_tokens_are_random_opaque_and_stored_hashed(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    for n in range(3):
        Visitor(web, f"198.51.100.{20 + n}").sign_up(f"p{n}@example.org")
    assert deliver(bot) == 3
    tokens = [confirm_link(mail).rsplit("/", 1)[1] for mail in mails(bot)]
    with bot.engine.connect() as conn:
        stored = set(conn.execute(sa.select(confirm_tokens.c.token_hash)).scalars())
        ids = list(conn.execute(sa.select(subscribers.c.id)).scalars())
    assert len(set(tokens)) == 3 and len(stored) == 3
    for token in tokens:
        # 256 random bits, nothing else: no id, no date, no signature to take apart.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert token not in stored
    assert sorted(ids) == ids  # the ids are sequential, and are in no link
    # A guessed token, one character off, is unknown.
    guessed = tokens[0][:-1] + ("A" if tokens[0][-1] != "A" else "B")
    assert Visitor(web).get(f"/confirm/{guessed}").status_code == 400


def test_a_newsletters_one_click_unsubscribe_works_for_every_email(
    app: App, start_web: Callable[..., BotWeb], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `bot run`'s side sends through a real SMTP server, on the day of the briefing (the
    # fixed clock); `bot web` has no SMTP setting at all.
    with SmtpPeer() as smtp:
        for name, value in point_at_peers(app.settings.home, smtp=smtp).items():
            monkeypatch.setenv(name, value)
        # unsubscribe_base_url is written without a trailing slash: "http://127.0.0.1:PORT".
        web = start_web()
        reload_settings(app)
        people = add_subscribers(app.engine, ["en", "my", "en"])
        enter_seed(app)
        publication = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"])
        assert send(app, ["email"], publication).count("sent") == 3
        letters = [got.message() for got in smtp.messages]
    assert len(letters) == 3

    mail_provider = Visitor(web, "192.0.2.200")
    for letter in letters:
        link = unsubscribe_link(letter)
        assert link.startswith(f"{web.url}/unsubscribe/"), link
        assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # RFC 8058: the provider's server posts this, with no cookie, token or Origin.
        left = mail_provider.post(path_of(link), {"List-Unsubscribe": "One-Click"}, origin=None)
        assert left.status_code == 200
    for person in people:
        assert _status(app, person.email) == "unsubscribed"

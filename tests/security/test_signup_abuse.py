"""Mail bombing through the sign-up form, tried against `bot web` in a real process.

Before: any site could make its visitors' browsers post the form, and limits per exact address
and per single IPv6 address, kept in memory, let 36 confirmation emails reach one inbox from 7
sources. Now every one of these is refused, nothing is queued, and the page says so truthfully.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import App
from tests.publish.helpers import set_toml
from tests.security.conftest import BotWeb, Visitor, deliver
from tests.web.helpers import mails, queued

NOTHING_SENT = "Nothing was sent"
CHECK_INBOX = "Check your inbox"
FORM = {"email": "victim@example.org", "lang": "en", "topics": "statements", "website": ""}


@pytest.mark.parametrize(
    ("case", "origin", "with_token"),
    [
        ("another site's page posting the form", "https://evil.example", False),
        ("another site, with a token it fetched for itself", "https://evil.example", True),
        ("a look-alike origin", "http://127.0.0.1.evil.example", True),
        ("no Origin and no Referer (a script)", None, True),
        ("this site's Origin but no form token", "site", False),
    ],
)
def test_a_forged_sign_up_is_refused_and_nothing_is_queued(
    bot: App, start_web: Callable[..., BotWeb], case: str, origin: str | None, with_token: bool
) -> None:
    web = start_web()
    visitor = Visitor(web)
    form = {**FORM, "form_token": visitor.token()} if with_token else FORM
    if origin != "site":
        visitor.client.cookies.clear()  # another site cannot make the browser send it
        form = {**FORM, "form_token": visitor.token()} if with_token else FORM
        visitor.client.cookies.clear()

    response = visitor.post("/subscribe", form, origin=origin)

    assert response.status_code == 403, case
    assert "did not come from this site" in response.text and CHECK_INBOX not in response.text
    assert queued(bot) == []
    assert deliver(bot) == 0 and mails(bot) == []


def _limits(home: Path, **limits: int) -> None:
    set_toml(home, "web.limits", **limits)


def test_one_inbox_written_many_ways_from_many_clients_gets_three_mails(
    bot: App, home: Path, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    spellings = [
        "Jane.Doe@gmail.com",
        "janedoe+news@gmail.com",
        "j.a.n.e.d.o.e+x@googlemail.com",
        "JANEDOE@GMAIL.COM",
        "jane.doe+1@gmail.com",
        "janedoe+2@googlemail.com",
        "j.anedoe@gmail.com",
    ]
    answers = [
        Visitor(web, f"2001:db8:{n}::1" if n % 2 else f"203.0.113.{n}").sign_up(spelling)
        for n, spelling in enumerate(spellings)
    ]

    assert [a.status_code for a in answers] == [200] * 3 + [429] * 4
    for limited in answers[3:]:
        assert NOTHING_SENT in limited.text and CHECK_INBOX not in limited.text
        assert "on its way" not in limited.text
    assert deliver(bot) == 3
    assert len(mails(bot)) == 3


def test_an_ipv6_client_is_one_client_for_its_whole_64(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    answers = [
        Visitor(web, f"2001:db8:7:7:{n:x}::{n + 1:x}").sign_up(f"r{n}@example.org")
        for n in range(6)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert NOTHING_SENT in answers[-1].text
    # The next /64 is somebody else.
    assert Visitor(web, "2001:db8:7:8::1").sign_up("s@example.org").status_code == 200
    assert len(queued(bot)) == 6


def test_the_domain_limit_and_the_hourly_cap_hold_across_processes(
    bot: App, home: Path, start_web: Callable[..., BotWeb]
) -> None:
    _limits(home, per_domain_per_hour=2, mails_per_hour=4)
    first = start_web()
    assert Visitor(first, "192.0.2.1").sign_up("a@one.example").status_code == 200
    assert Visitor(first, "192.0.2.2").sign_up("b@one.example").status_code == 200
    assert Visitor(first, "192.0.2.3").sign_up("c@one.example").status_code == 429
    # A second web process on the same database (or the first, restarted) counts the same.
    second = start_web(links=None)  # behind the same proxy: the same public address
    assert Visitor(second, "192.0.2.4", first.url).sign_up("d@one.example").status_code == 429
    assert Visitor(second, "192.0.2.5", first.url).sign_up("e@two.example").status_code == 200
    assert Visitor(second, "192.0.2.6", first.url).sign_up("f@three.example").status_code == 200
    capped = Visitor(second, "192.0.2.7", first.url).sign_up("g@four.example")
    assert capped.status_code == 429 and NOTHING_SENT in capped.text
    assert deliver(bot) == 4

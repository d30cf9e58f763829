"""`bot post-now … --channels email` to subscribers through a real SMTP server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
import sqlalchemy as sa

from bot.app import App
from bot.privacy import mask_address
from bot.store.schema import subscribers
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.smtp_server import Received, SmtpPeer
from tests.publish.helpers import (
    UNSUBSCRIBE,
    Subscriber,
    add_subscribers,
    carried_token,
    configure_dkim,
    delivery_rows,
    dkim_key,
    point_at_peers,
    publish_occasion,
    send,
    use_peers,
)

POST = ("post-now", "daily-briefing", "--channels", "email", "--on", "2024-02-01", "--yes")
BURMESE_DIGITS = re.compile("[၀-၉]")
LATIN_DIGITS = re.compile("[0-9]")


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def people(app: App) -> list[Subscriber]:
    enter_seed(app)
    return add_subscribers(app.engine, ["en", "en", "my"])


def _by_recipient(peer: SmtpPeer) -> dict[str, Received]:
    found: dict[str, Received] = {}
    for got in peer.messages:
        [rcpt] = got.rcpt_tos  # one envelope recipient per message
        assert rcpt not in found, f"{rcpt} was mailed twice"
        found[rcpt] = got
    return found


def _parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = (p.get_content() for p in parts)
    return text, html


def test_each_subscriber_gets_one_message_of_their_own(
    cli: Cli, home: Path, smtp: SmtpPeer, people: list[Subscriber]
) -> None:
    cli.env.update(point_at_peers(home, smtp=smtp))

    result = cli(*POST)

    assert result.exit_code == 0, result.output
    received = _by_recipient(smtp)
    assert set(received) == {p.email for p in people}
    for person in people:
        message = received[person.email].message()
        text, html = _parts(message)
        to = message.get_all("To")
        assert to == [person.email]  # one To field, holding this one address
        assert len(message["To"].addresses) == 1
        assert message["Cc"] is None and message["Bcc"] is None
        assert message["List-Unsubscribe"].startswith(f"<{UNSUBSCRIBE}")
        # The signed link carries this person's token, and only theirs.
        assert carried_token(home, message["List-Unsubscribe"]) == person.token
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # No other subscriber's address or token anywhere in the bytes.
        for other in people:
            if other != person:
                assert other.email.encode() not in received[person.email].data
        assert message["Content-Language"] == person.lang
        if person.lang == "my":
            assert message["Subject"].startswith("နေ့စဉ်သတင်းအကျဉ်း")
            assert BURMESE_DIGITS.search(message["Subject"])
            assert not LATIN_DIGITS.search(message["Subject"])
            assert "(၄၄၇၄)" in text and "(၄၄၇၄)" in html
            assert "4474" not in text
        else:
            assert message["Subject"] == (
                "Daily Briefing, February 1, 2024: 4474 killed, 19993 still detained"
            )
            assert "(4474) people have been killed" in text
            assert "(4474)" in html
    # The terminal: one line per delivery, addresses masked, none in full.
    lines = [line for line in result.output.splitlines() if line.startswith("✓ email")]
    assert len(lines) == len(people)
    for person in people:
        assert person.email not in result.output
        assert sum(mask_address(person.email) in line for line in lines) >= 1
    assert "#1: 3 sent" in result.output


def test_every_message_carries_a_dkim_signature_that_verifies(
    cli: Cli, home: Path, smtp: SmtpPeer, people: list[Subscriber]
) -> None:
    key = dkim_key()
    cli.env.update(point_at_peers(home, smtp=smtp))
    cli.env.update(configure_dkim(home, key))

    result = cli(*POST)

    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == len(people)
    for got in smtp.messages:
        assert got.data.startswith(b"DKIM-Signature:")
        assert dkim.verify(got.data, dnsfunc=key.dns)
        # The signature covers the unsubscribe link: another's cannot be swapped in.
        link = got.message()["List-Unsubscribe"].strip("<>")
        forged = got.data.replace(link.encode(), link[:-4].encode() + b"xxxx")
        assert not dkim.verify(forged, dnsfunc=key.dns)


def test_a_subscriber_who_leaves_before_sending_is_not_mailed(
    app: App, smtp: SmtpPeer, people: list[Subscriber], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peers(app, monkeypatch, smtp=smtp)
    publication = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"])
    leaver = people[1]
    with app.engine.begin() as conn:
        conn.execute(
            subscribers.update().where(subscribers.c.id == leaver.id).values(status="unsubscribed")
        )

    report = send(app, ["email"], publication)

    assert leaver.email not in _by_recipient(smtp)
    assert set(_by_recipient(smtp)) == {p.email for p in people if p != leaver}
    states = {row.target: row.state for row in delivery_rows(app.engine, publication)}
    assert states == {p.email: "cancelled" if p == leaver else "sent" for p in people}
    assert report.count("cancelled") == 1 and report.count("sent") == 2
    # And a second run does not bring them back.
    send(app, ["email"], publication)
    assert len(smtp.messages) == 2
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscribers)).scalar() == 3

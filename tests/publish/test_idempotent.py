"""Once per occasion on every channel; --again; history, show, retract; the outbox folder."""

from __future__ import annotations

import json
import mailbox
import re
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from bot.app import App
from bot.privacy import mask_address
from tests.compose.helpers import SOURCE, enter_seed
from tests.conftest import Cli
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import FakeTelegram
from tests.peers.x_server import XServer
from tests.publish.helpers import (
    CHAT,
    Subscriber,
    add_subscribers,
    carried_token,
    delivery_rows,
    no_secrets,
    point_at_peers,
)

# The three channels whose peers these tests run (a message also goes to others by default).
POST = (
    "post-now",
    "daily-briefing",
    "--channels",
    "x,telegram,email",
    "--on",
    "2024-02-01",
    "--yes",
)


@pytest.fixture
def peers() -> Iterator[tuple[XServer, FakeTelegram, SmtpPeer]]:
    with XServer() as x, FakeTelegram() as telegram, SmtpPeer() as smtp:
        yield x, telegram, smtp


@pytest.fixture
def people(app: App) -> list[Subscriber]:
    enter_seed(app)
    return add_subscribers(app.engine, ["en", "my"])


@pytest.fixture
def wired(
    cli: Cli, home: Path, peers: tuple[XServer, FakeTelegram, SmtpPeer]
) -> tuple[XServer, FakeTelegram, SmtpPeer]:
    x, telegram, smtp = peers
    cli.env.update(point_at_peers(home, x=x, telegram=telegram, smtp=smtp))
    return peers


def _counts(peers: tuple[XServer, FakeTelegram, SmtpPeer]) -> tuple[int, int, Counter[str]]:
    x, telegram, smtp = peers
    mailed = Counter(rcpt for got in smtp.messages for rcpt in got.rcpt_tos)
    # The daily briefing carries its card: on Telegram a photo with the text as its caption.
    posted = len(telegram.calls_to("sendMessage")) + len(telegram.calls_to("sendPhoto"))
    return len(x.posts), posted, mailed


def test_post_now_twice_posts_once_and_again_posts_a_second_time(
    cli: Cli,
    app: App,
    people: list[Subscriber],
    wired: tuple[XServer, FakeTelegram, SmtpPeer],
) -> None:
    first = cli(*POST)
    assert first.exit_code == 0, first.output
    assert "Publication #1 (daily-briefing/2024-02-01): 6 new deliveries." in first.output
    once = Counter({p.email: 1 for p in people})
    assert _counts(wired) == (2, 2, once)  # en and my on X and Telegram, one email each

    second = cli(*POST)
    assert second.exit_code == 0, second.output
    assert "Already published as #1 (daily-briefing/2024-02-01)" in second.output
    assert "Use --again" in second.output
    assert _counts(wired) == (2, 2, once)
    assert len(delivery_rows(app.engine)) == 6

    again = cli(*POST, "--again")
    assert again.exit_code == 0, again.output
    assert "Publication #2 (daily-briefing/2024-02-01#2): 6 new deliveries." in again.output
    assert _counts(wired) == (4, 4, once + once)

    history = cli("history")
    assert history.exit_code == 0, history.output
    lines = history.output.splitlines()
    assert len(lines) == 2
    assert re.match(r"#2 .* daily-briefing/2024-02-01#2  \[email, telegram, x\]  6 sent$", lines[0])
    assert re.match(r"#1 .* daily-briefing/2024-02-01  \[email, telegram, x\]  6 sent$", lines[1])


def test_show_lists_the_deliveries_with_their_ids_and_the_figures_with_sources(
    cli: Cli,
    app: App,
    people: list[Subscriber],
    wired: tuple[XServer, FakeTelegram, SmtpPeer],
) -> None:
    x, telegram, smtp = wired
    assert cli(*POST).exit_code == 0

    shown = cli("show", "1")

    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert out.startswith("#1 daily-briefing/2024-02-01 — daily-briefing for 2024-02-01\n")
    assert "by tester" in out
    for channel in ("x", "telegram", "email"):
        for lang in ("en", "my"):
            assert f"\n{channel} · {lang}: 1 part(s)\n" in out
    assert out.count(f"  figure figures.killed = 4474 (as of 2024-01-31, {SOURCE})") == 6
    assert f"figures.detained = 19993 (as of 2024-01-31, {SOURCE})" in out
    for post in x.posts:
        assert re.search(rf"✓ \[\d+\] x · (en|my) · \(account\) · sent .* · ids {post.id}\b", out)
    for _, message_id in telegram.messages:
        assert re.search(rf"✓ \[\d+\] telegram · .* · {CHAT} · sent .* · ids {message_id}\b", out)
    for got in smtp.messages:
        message_id = got.message()["Message-ID"]
        [rcpt] = got.rcpt_tos
        assert f" · {mask_address(rcpt)} · sent " in out
        assert f"ids {message_id}" in out
    for person in people:
        assert person.email not in out


def test_retract_deletes_the_social_posts_and_explains_email(
    cli: Cli,
    app: App,
    people: list[Subscriber],
    wired: tuple[XServer, FakeTelegram, SmtpPeer],
) -> None:
    x, telegram, smtp = wired
    assert cli(*POST).exit_code == 0
    posted_x = [p.id for p in x.posts]
    posted_telegram = sorted(telegram.messages)

    result = cli("retract", "1", "--yes", "--reason", "wrong figure for killed")

    assert result.exit_code == 0, result.output
    assert sorted(x.deleted) == sorted(posted_x)
    assert [("DELETE", f"/2/tweets/{i}") in x.requests for i in posted_x] == [True, True]
    assert sorted(telegram.deleted) == posted_telegram
    assert telegram.texts() == []
    assert result.output.count("✓ x · ") == 2 and result.output.count("✓ telegram · ") == 2
    assert "2 email(s) were sent and cannot be recalled" in result.output
    assert "bot post-now correction --channels email --on 2024-02-01" in result.output
    assert len(smtp.messages) == 2  # nothing more was mailed
    for person in people:
        assert person.email not in result.output

    rows = delivery_rows(app.engine)
    assert all(r.retracted_at is not None for r in rows if r.channel != "email")
    assert all(r.retracted_at is None for r in rows if r.channel == "email")
    assert "RETRACTED" in cli("history").output
    shown = cli("show", "1").output
    assert "RETRACTED" in shown and "wrong figure for killed" in shown
    assert shown.count(" · retracted") == 4

    # A second retraction finds nothing left to delete on the platforms.
    requests_before = len(x.requests), len(telegram.calls)
    assert cli("retract", "1", "--yes").exit_code == 0
    assert (len(x.requests), len(telegram.calls)) == requests_before


def test_retract_without_credentials_does_not_claim_the_posts_are_gone(
    cli: Cli,
    app: App,
    people: list[Subscriber],
    wired: tuple[XServer, FakeTelegram, SmtpPeer],
) -> None:
    x, telegram, _ = wired
    assert cli(*POST).exit_code == 0
    cli.env.update(no_secrets())  # e.g. run from a shell where the keys are not set

    result = cli("retract", "1", "--yes")

    # The posts are still on X and Telegram: the bot must say so, not "deleted".
    assert x.deleted == [] and telegram.deleted == []
    assert result.exit_code == 1, result.output
    assert "✓" not in result.output
    assert result.output.count("not deleted") == 4
    rows = delivery_rows(app.engine)
    assert all(r.retracted_at is None for r in rows)


def test_without_credentials_everything_goes_to_the_outbox_folder(
    cli: Cli, home: Path, app: App, people: list[Subscriber]
) -> None:
    cli.env.update(no_secrets())

    result = cli(*POST)

    assert result.exit_code == 0, result.output
    outbox = home / "var" / "outbox"
    for channel in ("x", "telegram", "email"):
        assert f"{channel}: no credentials set: writing to {outbox / channel}" in result.output
    # Each line says what happened: written to the folder, never "sent" to a platform.
    lines = [line for line in result.output.splitlines() if line.startswith("✓ ")]
    assert len(lines) == 6 and all("· written to the outbox folder · files " in x for x in lines)
    assert " · sent" not in result.output
    x_files = sorted((outbox / "x").glob("*.txt"))
    telegram_files = sorted((outbox / "telegram").glob("*.html"))
    assert len(x_files) == 2 and len(telegram_files) == 2
    texts = [f.read_text(encoding="utf-8") for f in x_files]
    assert any(t.startswith("Daily Briefing, February 1, 2024: since the coup") for t in texts)
    html = [f.read_text(encoding="utf-8") for f in telegram_files]
    assert any(t.startswith("<b>Daily Briefing, February 1, 2024</b>") for t in html)

    box = mailbox.Maildir(outbox / "email", create=False)
    keys = list(box.iterkeys())
    mails = [message_from_bytes(box.get_bytes(key), policy=default_policy) for key in keys]
    assert len(mails) == len(people)
    by_to = {str(m["To"]): m for m in mails}
    assert set(by_to) == {p.email for p in people}
    english = next(p for p in people if p.lang == "en")
    mail = by_to[english.email]
    assert isinstance(mail, EmailMessage)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"].startswith("Daily Briefing, February 1, 2024")
    assert carried_token(home, mail["List-Unsubscribe"]) == english.token
    text = next(mail.iter_parts()).get_content()
    assert "(4474) people have been killed" in text

    rows = delivery_rows(app.engine)
    assert {r.state for r in rows} == {"sent"} and len(rows) == 6
    paths = [p for r in rows for p in json.loads(r.ids)]
    assert all(Path(p).is_file() for p in paths)
    for person in people:
        assert person.email not in result.output

    # Retracting removes the files written for X and Telegram; the emails stay, as they would.
    retracted = cli("retract", "1", "--yes")
    assert retracted.exit_code == 0, retracted.output
    assert retracted.output.count("✓ x · ") == 2 and retracted.output.count("✓ telegram · ") == 2
    assert not any(f.exists() for f in x_files + telegram_files)
    assert len(list(box.iterkeys())) == len(people)
    assert "2 email(s) were sent and cannot be recalled" in retracted.output

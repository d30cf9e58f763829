"""No secret value in any log record or command output, whether the platforms say yes or no."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import FakeTelegram, error
from tests.peers.x_server import Reply, XServer
from tests.publish.helpers import (
    add_subscribers,
    configure_dkim,
    dkim_key,
    point_at_peers,
)

SMTP_USER = "bot-sender"
SECRETS = {
    "BOT_X_CONSUMER_KEY": "ck-Zq81distinctConsumerKey",
    "BOT_X_CONSUMER_SECRET": "cs-Wy62distinctConsumerSecret",
    "BOT_X_ACCESS_TOKEN": "8811-at-Kp40distinctAccessToken",
    "BOT_X_ACCESS_TOKEN_SECRET": "as-Rv93distinctAccessSecret",
    "BOT_TELEGRAM_TOKEN": "5550001234:AAF-distinctTelegramToken_77xy",
    "BOT_SMTP_PASSWORD": "smtp-Pw-distinct-4417-Qx",
}
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
# The peers' own logs (the server side of the conversation) are not the bot's to keep clean.
PEER_LOGGERS = ("mail.log",)


def _forms(value: str) -> set[str]:
    """A secret as it could leak: as is, and base64-encoded (SMTP AUTH, HTTP Basic)."""
    forms = {value, base64.b64encode(value.encode()).decode()}
    forms.add(base64.b64encode(f"\0{SMTP_USER}\0{value}".encode()).decode())  # AUTH PLAIN
    return forms


def _secret_texts() -> dict[str, set[str]]:
    found = {name: _forms(value) for name, value in SECRETS.items()}
    pem = dkim_key().pem
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    # Any line of the key's body is unique to it; the whole PEM too.
    found["BOT_DKIM_PRIVATE_KEY"] = {pem, *body}
    return found


def _assert_no_secret(where: str, text: str) -> None:
    for name, forms in _secret_texts().items():
        for form in forms:
            assert form not in text, f"{name} appears in {where}"


def _records(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        if record.name.startswith(PEER_LOGGERS):
            continue
        lines.append(f"{record.name}: {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(repr(record.exc_info[1]))
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


@pytest.fixture
def peers() -> Iterator[tuple[XServer, FakeTelegram, SmtpPeer]]:
    with (
        XServer() as x,
        FakeTelegram() as telegram,
        SmtpPeer(auth=(SMTP_USER, SECRETS["BOT_SMTP_PASSWORD"])) as smtp,
    ):
        yield x, telegram, smtp


@pytest.fixture
def configured(
    cli: Cli, home: Path, app: App, peers: tuple[XServer, FakeTelegram, SmtpPeer]
) -> tuple[XServer, FakeTelegram, SmtpPeer]:
    x, telegram, smtp = peers
    enter_seed(app)
    add_subscribers(app.engine, ["en", "my"])
    cli.env.update(point_at_peers(home, x=x, telegram=telegram, smtp=smtp, secrets=SECRETS))
    cli.env.update(configure_dkim(home, dkim_key()))
    return peers


def _run_everything(cli: Cli) -> list[tuple[str, str, int]]:
    outputs = []
    for args in (
        POST,
        ("history",),
        ("show", "1"),
        ("deliveries", "list", "--state", "all"),
        ("deliveries", "send"),
        ("config", "show"),
        ("retract", "1", "--yes"),
    ):
        result = cli(*args)
        outputs.append((" ".join(args), result.output, result.exit_code))
    return outputs


def test_no_secret_in_logs_or_output_when_all_goes_well(
    cli: Cli, configured: tuple[XServer, FakeTelegram, SmtpPeer], caplog: pytest.LogCaptureFixture
) -> None:
    x, telegram, smtp = configured
    caplog.set_level(logging.DEBUG)

    outputs = _run_everything(cli)

    assert outputs[0][2] == 0, outputs[0][1]
    assert len(x.posts) == 2 and len(telegram.texts()) == 0  # retracted at the end
    assert len(smtp.messages) == 2 and telegram.tokens == {SECRETS["BOT_TELEGRAM_TOKEN"]}
    assert "BOT_SMTP_PASSWORD set" in outputs[5][1]
    for command, output, _ in outputs:
        _assert_no_secret(f"the output of `bot {command}`", output)
    logged = _records(caplog)
    # The capture saw the chatty libraries at DEBUG: the check is not vacuous.
    # The daily briefing carries its card: Telegram gets a photo with the text as its caption.
    assert "httpx: HTTP Request: POST" in logged and "/bot***/sendPhoto" in logged
    assert "bot.channels.smtp: email <" in logged
    _assert_no_secret("the logs", logged)


def test_no_secret_in_logs_or_output_when_the_platforms_refuse(
    cli: Cli,
    configured: tuple[XServer, FakeTelegram, SmtpPeer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    x, telegram, smtp = configured
    x.queue("POST", Reply.unauthorized(), Reply.bad_request())
    telegram.script(
        "sendPhoto",
        error(401, "Unauthorized"),
        error(400, "Bad Request: can't parse entities"),
    )
    cli.env["BOT_SMTP_PASSWORD"] = "smtp-Pw-distinct-WRONG-8812"
    caplog.set_level(logging.DEBUG)

    outputs = _run_everything(cli)

    post = outputs[0]
    assert post[2] == 1, post[1]
    assert "401" in post[1] and "check the X keys" in post[1]
    assert "the Telegram token is not valid; check BOT_TELEGRAM_TOKEN" in post[1]
    assert "Can't parse entities" in post[1]
    assert "refused the login (535" in post[1] and "BOT_SMTP_PASSWORD" in post[1]
    assert x.posts == [] and telegram.texts() == [] and smtp.messages == []
    wrong = "smtp-Pw-distinct-WRONG-8812"
    for command, output, _ in outputs:
        _assert_no_secret(f"the output of `bot {command}`", output)
        assert wrong not in output
    logged = _records(caplog)
    _assert_no_secret("the logs", logged)
    assert all(form not in logged for form in _forms(wrong))

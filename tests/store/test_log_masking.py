"""No address, chat id or token in any log line, a database error's traceback included.

A failed sign-up used to log the full address and confirmation token: SQLAlchemy quotes a
failed statement's parameters, PostgreSQL repeats the duplicate value in its DETAIL, and a
traceback repeats both. `hide_parameters` and the log guard (bot/log_guard.py) keep them out.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import log_guard
from bot.app import App
from bot.store.db import create_engine

ADDRESS = "thida.secret@example.org"
TOKEN = "Xq7Rz2Lm9Kp4Vw8Ty3Nb6Hc"
CHAT = "5551234567"
BOT_TOKEN = "5550001234:AAF-distinctTelegramToken_77xy"


@pytest.fixture
def captured(app: App) -> Iterator[io.StringIO]:
    """Every record of every logger, formatted as an operator's handler would (tracebacks too)."""
    del app  # building the app installs the guard, as every `bot` command does
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_a_database_error_during_sign_up_logs_no_address_nor_token(
    captured: io.StringIO, db_url: str
) -> None:
    engine = create_engine(db_url)
    table = sa.Table(
        "signup_probe",
        sa.MetaData(),
        sa.Column("address", sa.String(320), unique=True),
        sa.Column("token", sa.String(64)),
        sa.Column("chat", sa.String(20)),
    )
    try:
        table.create(engine)
        row = {"address": ADDRESS, "token": TOKEN, "chat": CHAT}
        with engine.begin() as conn:
            conn.execute(table.insert().values(**row))
        with pytest.raises(sa.exc.IntegrityError) as raised, engine.begin() as conn:
            conn.execute(table.insert().values(**row))  # the same address again
        # The exception itself no longer carries the values SQLAlchemy was given.
        assert TOKEN not in str(raised.value)
        try:
            raise RuntimeError("sign-up failed") from raised.value
        except RuntimeError:
            logging.getLogger("bot.subscribers.signup").exception(
                "sign-up of %s (%s) failed", ADDRESS, CHAT
            )
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()
    logged = captured.getvalue()
    # The record is there, with its traceback: the check is not vacuous.
    assert "IntegrityError" in logged and "Traceback" in logged and "sign-up of t***@" in logged
    for secret in (ADDRESS, TOKEN, CHAT, "thida.secret"):
        assert secret not in logged, logged


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"sent to {ADDRESS}", "t***@example.org"),
        (f"chat {CHAT} blocked the bot", "chat 5*** blocked"),
        (f"chat -100{CHAT} is a group", "chat -1*** is a group"),
        (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", "/bot***/sendMessage"),
        (f"GET /confirm/{TOKEN} 200", "/confirm/*** 200"),
        (f"token {TOKEN} expired", "token *** expired"),
        ("[parameters: ('a@b.org', 'xyz')]", "[parameters hidden]"),
        ("DETAIL:  Key (channel, address)=(email, a@b.org) already exists.", "=(hidden)"),
        ("killed 4474, arrested 25931", "killed 4474, arrested 25931"),
    ],
)
def test_the_guard_masks_each_kind(line: str, kept: str) -> None:
    scrubbed = log_guard.scrub(line)
    assert kept in scrubbed
    for secret in (ADDRESS, TOKEN, CHAT, BOT_TOKEN, "a@b.org", "AAF-distinct"):
        assert secret not in scrubbed


def test_an_uncaught_error_is_scrubbed_too(
    app: App, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    del app, tmp_path
    try:
        raise ValueError(f"cannot deliver to {ADDRESS}")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "cannot deliver to t***@example.org" in err and ADDRESS not in err

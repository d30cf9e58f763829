"""A copy of the database names nobody; the key is needed, rotates, and a lost one is said."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.compose.context import Occasion
from bot.compose.drafts import Draft
from bot.errors import ConfigError
from bot.publish.outbox import publish
from bot.store import reseal
from bot.store.schema import deliveries
from bot.store.sealing import Sealer, key_file, key_of, new_key, parse_key, write_key_file
from bot.subscribers import store
from bot.telegram_bot import build_application
from bot.telegram_bot.texts import text
from tests.conftest import FIXED_NOW, Cli
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import FakeTelegram
from tests.publish.helpers import Clock, send, use_peers
from tests.telegram_bot.conftest import RunningBot, fast_runtime, say, subscribe
from tests.web.helpers import Web, confirm, confirm_link, deliver, mails

EMAIL = "ma.thida.sealed@example.org"
CHAT = "987654321"
OTHER = "ko.aung.sealed@example.org"


def _people(app: App) -> None:
    """A web sign-up (queued, then mailed), a Telegram /start, a newsletter fan-out."""
    web = Web(app)
    assert (
        web.post("/subscribe", {"email": EMAIL, "lang": "en", "topics": ["statements"]}).status_code
        == 200
    )
    assert deliver(web).sent == 1
    # What the bot's /start handler does for a private chat (bot/telegram_bot/handlers.py);
    # a chat subscribes through the running bot itself in the test after the next.
    store.add(app.engine, "telegram", CHAT, "en", store.TOPICS, FIXED_NOW, confirmed=True)
    store.add(app.engine, "email", OTHER, "en", store.TOPICS, FIXED_NOW, confirmed=True)
    draft = Draft("daily-briefing", "email", "en", ("text",), (4,), 280, ())
    telegram = Draft("daily-briefing", "telegram", "en", ("text",), (4,), 4096, ())
    occasion = Occasion("daily-briefing", dt.date(2024, 2, 1))
    publish(app.engine, occasion, [draft, telegram], [], now=FIXED_NOW, created_by="t")


def _every_text(engine: sa.Engine) -> str:
    """Every value of every column of every table, as text (what a dump would show)."""
    found: list[str] = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                found.extend(str(value) for value in row)
    return "\n".join(found)


def _copy_of(db_url: str) -> bytes:
    """What a copy of the closed database shows: on SQLite the file's bytes (with its -wal and
    -shm), on PostgreSQL every column of every table as text."""
    if db_url.startswith("sqlite"):
        path = Path(sa.make_url(db_url).database or "")
        return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    copy = sa.create_engine(db_url)
    try:
        return _every_text(copy).encode()
    finally:
        copy.dispose()


def test_a_copied_database_holds_no_address_and_no_chat_id(app: App, db_url: str) -> None:
    _people(app)
    # The bot reads them back: the fan-out reached the two people by their real addresses.
    with app.engine.connect() as conn:
        targets = set(conn.execute(sa.select(deliveries.c.target)).scalars())
    assert OTHER in targets and CHAT in targets
    assert store.find(app.engine, "email", OTHER) is not None

    app.close()
    raw = _copy_of(db_url)
    for secret in (EMAIL, "ma.thida", CHAT, OTHER, "ko.aung"):
        assert secret.encode() not in raw, secret
    assert b"s1." in raw  # the values are there, sealed


# A private chat's id, distinctive: its decimal text (or SQLite's six-byte integer) is found
# nowhere in a database by chance.
CHAT_ID = 987654321012
NEWS = "Sealed-fan-out Qv81: the daily briefing."


def test_a_chat_that_subscribed_through_the_bot_is_sealed_in_a_copy_after_a_fan_out(
    app: App, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The web sign-up, confirmed from its email (written to the outbox folder: this site is
    # the shipped one, before the channels are pointed at the peers).
    web = Web(app)
    signup = {"email": EMAIL, "lang": "en", "topics": ["statements"]}
    assert web.post("/subscribe", signup).status_code == 200
    assert deliver(web).sent == 1
    assert confirm(web, confirm_link(mails(app)[0])).status_code == 200
    with FakeTelegram() as telegram, SmtpPeer() as smtp:
        use_peers(app, monkeypatch, telegram=telegram, smtp=smtp)
        # The chat subscribes as a person does: /start, the language button, then /subscribe
        # (already done), through the Bot API server, the bot polling it.
        application = build_application(fast_runtime(app))
        assert application is not None
        with RunningBot(application):
            subscribe(telegram, CHAT_ID, "en")
            again = say(telegram, CHAT_ID, "/subscribe")
        assert again.params["text"] == text("already_subscribed", "en")
        person = store.find(app.engine, "telegram", str(CHAT_ID))
        assert person is not None and person.status == "active"

        drafts = [
            Draft("daily-briefing", c, "en", (NEWS,), (len(NEWS),), 4096, (), subject=NEWS)
            for c in ("email", "telegram")
        ]
        occasion = Occasion("daily-briefing", dt.date(2024, 2, 1))
        publish(app.engine, occasion, drafts, [], now=FIXED_NOW, created_by="t")
        report = send(app, ["email", "telegram"], clock=Clock())

        # The fan-out found both by their real addresses and reached them.
        reached = [
            call.params["chat_id"]
            for call in telegram.calls_to("sendMessage")
            if call.params["text"] == NEWS
        ]
        assert reached == [str(CHAT_ID)], (reached, report)
        assert [m.rcpt_tos for m in smtp.messages] == [(EMAIL,)]
    with app.engine.connect() as conn:
        states = list(conn.execute(sa.select(deliveries.c.target, deliveries.c.state)))
    assert sorted(states) == sorted([(EMAIL, "sent"), (str(CHAT_ID), "sent")])

    app.close()
    copies = [_copy_of(db_url)]
    if db_url.startswith("sqlite"):  # and the file's columns as text, as a dump shows them
        copy = sa.create_engine(db_url)
        try:
            copies.append(_every_text(copy).encode())
        finally:
            copy.dispose()
    for raw in copies:
        for secret in (str(CHAT_ID).encode(), CHAT_ID.to_bytes(6, "big"), EMAIL.encode()):
            assert secret not in raw, secret
        assert b"ma.thida" not in raw
        assert b"s1." in raw  # the values are there, sealed


def test_a_missing_key_beside_a_sealed_database_is_one_clear_line(
    app: App, cli: Cli, home: Path
) -> None:
    store.add(app.engine, "email", OTHER, "en", store.TOPICS, FIXED_NOW, confirmed=True)
    app.close()
    key_file(home / "var").unlink()

    result = cli("subscribers", "list")

    assert result.exit_code != 0
    line = result.output.strip()
    assert "holds sealed addresses but there is no data key" in line and "\n" not in line
    assert not key_file(home / "var").exists()  # no new key papered over the loss


def _stored(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return [
            value
            for column in reseal.COLUMNS
            for value in conn.execute(
                sa.select(column.table.c[column.column]).where(column.personal())
            ).scalars()
            if value is not None and not value.startswith("(erased)")
        ]


def test_rotate_seals_everything_again_and_the_old_key_opens_nothing(
    app: App, cli: Cli, home: Path
) -> None:
    _people(app)
    path = key_file(home / "var")
    old = path.read_text().strip()
    before = _stored(app)
    assert before and {key_of(v) for v in before} == {app.sealer.current}

    result = cli("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "the old key was removed" in result.output
    new = path.read_text().strip()
    assert new != old and "\n" not in new
    after = _stored(app)
    assert len(after) == len(before)
    assert {key_of(v) for v in after} == {Sealer([parse_key(new, "new")]).current}
    with pytest.raises(ConfigError, match="not among the data keys"):
        Sealer([parse_key(old, "old")]).open(after[0])
    # The running App re-read the file: it still finds and reads everyone.
    assert store.find(app.engine, "email", OTHER) is not None
    assert store.find(app.engine, "telegram", CHAT) is not None
    status = cli("keys", "status")
    assert "subscribers.address: 3 under" in status.output, status.output


def test_an_interrupted_rotation_resumes(app: App, cli: Cli, home: Path) -> None:
    _people(app)
    path = key_file(home / "var")
    old = path.read_text().strip()
    write_key_file(path, [new_key(), old])  # the rotation wrote its key, then stopped
    app.sealer.refresh()

    class Stop(Exception):
        pass

    def stop_after_first(column: str, count: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        reseal.reseal(app.engine, app.sealer, batch=1, progress=stop_after_first)
    mixed = {key_of(v) for v in _stored(app)}
    assert len(mixed) == 2  # half done: both keys in use

    result = cli("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "resuming the rotation" in result.output
    assert {key_of(v) for v in _stored(app)} == {app.sealer.current}
    assert len(path.read_text().split()) == 1
    assert store.find(app.engine, "email", OTHER) is not None


def test_keys_new_prints_a_usable_key(cli: Cli) -> None:
    result = cli("keys", "new")
    assert result.exit_code == 0
    parse_key(result.output.strip(), "printed")


def test_a_database_from_before_sealing_is_sealed_when_first_opened(
    home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command
    from alembic.config import Config

    from bot.app import build_app
    from bot.store.db import MIGRATIONS, create_engine

    old = create_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
    with old.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO subscribers (id, address, lang, status, token, created_at, channel, "
                "topics) VALUES (1, :a, 'en', 'active', 't1', '2024-01-01 00:00:00+00', 'email', "
                "'statements'), (2, :c, 'en', 'active', 't2', '2024-01-01 00:00:00+00', "
                "'telegram', 'statements')"
            ),
            {"a": OTHER, "c": CHAT},
        )
    old.dispose()
    monkeypatch.setenv("BOT_DATABASE_URL", db_url)

    app = build_app(home, clock=lambda: FIXED_NOW)
    try:
        assert not _every_text(app.engine).count(OTHER) and CHAT not in _every_text(app.engine)
        person = store.find(app.engine, "email", OTHER)
        assert person is not None and person.address == OTHER
        assert store.find(app.engine, "telegram", CHAT) is not None
    finally:
        app.close()

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
from tests.conftest import FIXED_NOW, Cli
from tests.web.helpers import Web, deliver

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
    # What the bot's /start handler does for a private chat (bot/telegram_bot/handlers.py).
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


def test_a_copied_database_holds_no_address_and_no_chat_id(app: App, db_url: str) -> None:
    _people(app)
    # The bot reads them back: the fan-out reached the two people by their real addresses.
    with app.engine.connect() as conn:
        targets = set(conn.execute(sa.select(deliveries.c.target)).scalars())
    assert OTHER in targets and CHAT in targets
    assert store.find(app.engine, "email", OTHER) is not None

    app.close()
    if db_url.startswith("sqlite"):
        path = Path(sa.make_url(db_url).database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    else:
        copy = sa.create_engine(db_url)
        try:
            raw = _every_text(copy).encode()
        finally:
            copy.dispose()
    for secret in (EMAIL, "ma.thida", CHAT, OTHER, "ko.aung"):
        assert secret.encode() not in raw, secret
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

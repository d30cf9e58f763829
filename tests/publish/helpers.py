"""Publishing tests: a home pointed at the local peers, subscribers, a clock that sleeps instantly.

    env = point_at_peers(home, x=x, telegram=telegram, smtp=smtp)  # edits config/bot.toml
    cli.env.update(env)  # the secrets, as staff would set them
    people = add_subscribers(app.engine, ["en", "en", "my"])

With the Python API, `use_peers(app, monkeypatch, …)` does the same and reloads the settings,
and `send(app, channels, clock=Clock())` runs the sender with an instant, recorded sleep.
Tests that kill or starve a real `bot` process run `bot_command(…)` with `bot_env(…)`.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
import os
import random
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import App
from bot.channels.spec import Wiring
from bot.compose.drafts import Draft, Failure, occasion_for
from bot.config.settings import load_settings
from bot.publish.outbox import publish
from bot.publish.sender import Report
from bot.runtime import build_runtime
from bot.store.schema import deliveries, subscribers
from bot.store.sealing import sealer_of
from tests.conftest import FIXED_NOW, ROOT
from tests.peers.smtp_server import SmtpPeer
from tests.peers.telegram_server import FakeTelegram
from tests.peers.x_server import XServer

CHAT = "@aapp_burma"
SENDER = "AAPP <statements@aappb.org>"
UNSUBSCRIBE = "https://aappb.org/unsubscribe/"
DKIM_DOMAIN = "aappb.org"
DKIM_SELECTOR = "s1"
X_KEYS = {
    "BOT_X_CONSUMER_KEY": "xck-test-consumer-key",
    "BOT_X_CONSUMER_SECRET": "xcs-test-consumer-secret",
    "BOT_X_ACCESS_TOKEN": "xat-test-access-token",
    "BOT_X_ACCESS_TOKEN_SECRET": "xas-test-access-secret",
}
TELEGRAM_TOKEN = {"BOT_TELEGRAM_TOKEN": "123456789:AAH-test-telegram-token"}
ALL_SECRET_NAMES = (
    *X_KEYS,
    *TELEGRAM_TOKEN,
    "BOT_SMTP_HOST",
    "BOT_SMTP_USERNAME",
    "BOT_SMTP_PASSWORD",
    "BOT_DKIM_PRIVATE_KEY",
)


# config/bot.toml ----------------------------------------------------------------------------


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def set_toml(home: Path, section: str, **values: object) -> None:
    """Set `key = value` in `[section]` of the home's config/bot.toml (added if missing)."""
    path = home / "config" / "bot.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = f"[{section}]"
    if header not in lines:
        lines += ["", header]
    start = lines.index(header) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("[")),
        len(lines),
    )
    for key, value in values.items():
        line = f"{key} = {_toml(value)}"
        found = [i for i in range(start, end) if re.match(rf"{re.escape(key)}\s*=", lines[i])]
        if found:
            lines[found[0]] = line
        else:
            lines.insert(end, line)
            end += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def point_at_peers(
    home: Path,
    *,
    x: XServer | None = None,
    telegram: FakeTelegram | None = None,
    smtp: SmtpPeer | None = None,
    secrets: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> dict[str, str]:
    """Point the home's channels at the local peers; returns the secrets to put in the env.

    Only the channels given get secrets, so the others fall back to the outbox folder.
    `secrets` replaces any of the default values (e.g. distinctive ones, or a password).
    """
    env: dict[str, str] = {}
    if x is not None:
        set_toml(home, "channels.x", base_url=x.base_url, timeout_seconds=timeout)
        env.update(X_KEYS)
    if telegram is not None:
        set_toml(
            home,
            "channels.telegram",
            base_url=telegram.base_url,
            chat=CHAT,
            timeout_seconds=timeout,
        )
        env.update(TELEGRAM_TOKEN)
    if smtp is not None:
        set_toml(
            home,
            "channels.email",
            port=smtp.port,
            security="none",
            sender=SENDER,
            unsubscribe_base_url=UNSUBSCRIBE,
            timeout_seconds=timeout,
        )
        env["BOT_SMTP_HOST"] = f"127.0.0.1:{smtp.port}"
        if smtp.auth is not None:
            env["BOT_SMTP_USERNAME"], env["BOT_SMTP_PASSWORD"] = smtp.auth
    for name, value in (secrets or {}).items():
        env[name] = value
    return env


@dataclass(frozen=True)
class DkimKey:
    """A DKIM private key (PEM) and the TXT record that publishes its public half."""

    pem: str
    record: bytes

    def dns(self, name: bytes, timeout: int = 5) -> bytes | None:
        """A `dnsfunc` for dkim.verify that knows only our selector's record."""
        wanted = f"{DKIM_SELECTOR}._domainkey.{DKIM_DOMAIN}.".encode()
        return self.record if name == wanted else None


@functools.cache
def dkim_key() -> DkimKey:
    """One RSA key per test session (generating one takes a while)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKey(pem.decode("ascii"), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))


def configure_dkim(home: Path, key: DkimKey) -> dict[str, str]:
    """Turn DKIM signing on in the home; returns the env var holding the key."""
    set_toml(home, "channels.email.dkim", domain=DKIM_DOMAIN, selector=DKIM_SELECTOR)
    return {"BOT_DKIM_PRIVATE_KEY": key.pem}


def no_secrets() -> dict[str, str | None]:
    """For `Cli.env`: every secret variable unset, whatever the machine running the tests has."""
    return {name: None for base in ALL_SECRET_NAMES for name in (base, f"{base}_FILE")}


# A real `bot` process -----------------------------------------------------------------------


def bot_env(home: Path, db_url: str, secrets: Mapping[str, str]) -> dict[str, str]:
    """The environment of a `bot` subprocess: this machine's, less any BOT_ variable or secret."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BOT_") and name not in ALL_SECRET_NAMES
    }
    env.update(secrets)
    env.update(
        BOT_HOME=str(home),
        BOT_DATABASE_URL=db_url,
        BOT_USER="crash-test",
        PYTHONPATH=str(ROOT),
    )
    return env


def bot_command(*args: str) -> list[str]:
    """`bot ARGS…` run by this interpreter, so the subprocess uses the code under test."""
    return [sys.executable, "-m", "bot", *args]


def crash_seed() -> int:
    """A seed for random kill points: BOT_TEST_CRASH_SEED=… repeats a run; printed either way."""
    value = int(os.environ.get("BOT_TEST_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"BOT_TEST_CRASH_SEED={value}")  # shown by pytest when the test fails
    return value


# The database -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    """A subscriber as inserted."""

    id: int
    email: str
    lang: str
    token: str


def add_subscribers(
    engine: sa.Engine, langs: Sequence[str], status: str = "active"
) -> list[Subscriber]:
    """One subscriber per language given, with a unique address and a random token."""
    with engine.begin() as conn:
        first = int(conn.execute(sa.select(sa.func.count()).select_from(subscribers)).scalar_one())
        rows = [
            {
                "address": f"reader{first + n}.{lang}@example.org",
                "lang": lang,
                "status": status,
                "token": secrets.token_urlsafe(18),
                "created_at": FIXED_NOW,
            }
            for n, lang in enumerate(langs, 1)
        ]
        if rows:
            conn.execute(subscribers.insert(), rows)
        found = conn.execute(
            sa.select(
                subscribers.c.id, subscribers.c.address, subscribers.c.lang, subscribers.c.token
            )
            .where(
                subscribers.c.address_hash.in_(
                    [sealer_of(engine).lookup(str(r["address"])) for r in rows]
                )
            )
            .order_by(subscribers.c.id)
        ).all()
    return [Subscriber(*row) for row in found]


def delivery_rows(engine: sa.Engine, publication_id: int | None = None) -> list[Any]:
    """Every delivery (of one publication), oldest first."""
    query = sa.select(deliveries).order_by(deliveries.c.id)
    if publication_id is not None:
        query = query.where(deliveries.c.publication_id == publication_id)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


# The Python API, with an injected clock and sleep -------------------------------------------


class Clock:
    """A clock that moves only when the code under test 'sleeps'; every sleep is recorded."""

    def __init__(self, start: dt.datetime = FIXED_NOW) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping."""
        self.now += dt.timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Return at once, as if `seconds` had passed."""
        self.slept.append(seconds)
        self.advance(seconds)


def reload_settings(app: App) -> None:
    """Read config/bot.toml again (after `point_at_peers`), as a new process would."""
    app.settings = load_settings(app.settings.home)
    app.__dict__.pop("composer", None)  # built from the old settings


def use_peers(app: App, monkeypatch: pytest.MonkeyPatch, **peers: Any) -> dict[str, str]:
    """`point_at_peers` for the Python API: the secrets go into os.environ for the test."""
    env = point_at_peers(app.settings.home, **peers)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reload_settings(app)
    return env


def publish_occasion(
    app: App,
    message: str,
    on: str,
    channels: list[str],
    langs: list[str] | None = None,
    again: bool = False,
) -> int:
    """Compose and record a publication the way `post-now` does; returns its id."""
    found = app.composer.message(message)
    occasion = occasion_for(app.settings, found, dt.date.fromisoformat(on), app.today())
    editions = app.composer.compose(found, occasion, langs, channels)
    failures = [e for e in editions if isinstance(e, Failure)]
    assert not failures, failures
    created = publish(
        app.engine,
        occasion,
        [e for e in editions if isinstance(e, Draft)],
        build_runtime(app).targets(channels),
        now=app.clock(),
        created_by="tester",
        again=again,
    )
    return created.publication_id


def send(
    app: App,
    channels: list[str],
    publication_id: int | None = None,
    *,
    clock: Clock | None = None,
    max_wait_seconds: float = 600,
) -> Report:
    """Run the sender once over the wired channels, sleeping through `clock` (no real wait):
    the sender's waits, and the Telegram queue's (its pace and a flood wait sat out)."""
    wiring = None
    if clock is not None:
        wiring = Wiring(clock=app.clock, monotonic=lambda: clock.now.timestamp(), sleep=clock.sleep)
    runtime = build_runtime(app, wiring, sleep=clock.sleep if clock else _no_sleep)
    wired = runtime.connect(channels)

    async def go() -> Report:
        try:
            sender = runtime.sender(wired, max_wait_seconds=max_wait_seconds)
            return await sender.run(publication_id)
        finally:
            await wired.close()

    return asyncio.run(go())


async def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the sender tried to sleep {seconds} s without a test clock")


def carried_token(home: Path, header: str) -> str:
    """The stored subscriber token that a List-Unsubscribe header's signed link carries."""
    from bot.config.settings import load_settings
    from bot.subscribers.tokens import tokens_for

    url = header.strip().split(",")[0].strip().strip("<>")
    tokens = tokens_for(load_settings(home), lambda: FIXED_NOW)
    return tokens.read_unsubscribe(url.rsplit("/", 1)[-1])

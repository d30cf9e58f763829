"""`config/bot.toml`: the organisation, time zone, languages, storage and channels."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from bot.config.model import Localized as Localized
from bot.config.model import Strict
from bot.config.model import describe_validation_error as describe_validation_error
from bot.config.tomlfile import load_toml
from bot.errors import ConfigError, Problems

Language = Literal["en", "my"]
_LANGUAGES: tuple[Language, ...] = ("en", "my")


class Organisation(Strict):
    name: Localized
    short_name: str
    website: str
    email: str = ""
    links: dict[str, str] = Field(default_factory=dict)


class Event(Strict):
    """A dated event whose anniversaries and day counts the messages mark."""

    date: dt.date
    name: Localized


def _channel_tables() -> type[BaseModel]:
    # `[channels.NAME]`, one table per channel of the registry, each declared by its module.
    from bot.channels.registry import REGISTRY

    fields: dict[str, Any] = {
        spec.name: (spec.settings_model, spec.settings_model()) for spec in REGISTRY
    }
    return create_model("Channels", __base__=Strict, **fields)


if TYPE_CHECKING:
    # Each table's own type is its channel's (e.g. `X.config(settings)` is an XSettings).
    Channels = Any
else:
    Channels = _channel_tables()


class SignupLimits(Strict):
    """Sign-ups accepted per window, counted in the database (shared by every web process)."""

    # Per client: one IPv4 address, or one IPv6 /64 (what one household or phone holds).
    per_client_per_hour: int = Field(default=5, ge=1)
    # Per address, however it is written (case, +tags, dots in a Gmail address).
    per_address_per_day: int = Field(default=3, ge=1)
    # Per recipient domain: one mail provider cannot be made to see a flood from us.
    per_domain_per_hour: int = Field(default=30, ge=1)
    # Confirmation emails in all, per hour: a cap no spread of clients and addresses passes.
    mails_per_hour: int = Field(default=200, ge=1)


class Challenge(Strict):
    """The optional proof-of-work check on sign-up (bot/web/challenge.py), served from the site."""

    enabled: bool = False
    # The secret number is drawn from 0..max_number: a browser tries about half on average.
    max_number: int = Field(default=100_000, ge=1, le=10_000_000)
    # A challenge must be solved and sent within this many seconds of being issued.
    expires_seconds: int = Field(default=600, ge=30, le=86_400)


class Web(Strict):
    # Loopback by default: put a reverse proxy with TLS in front to publish it.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The reverse proxies whose X-Forwarded-For is believed (comma-separated addresses, or "*").
    # The sign-up form limits each visitor's address; behind a proxy on another host, without
    # this every visitor looks like the proxy.
    forwarded_allow_ips: str = "127.0.0.1"
    # `bot run` serves the page too (the one-command set-up); false when `bot web` serves it.
    serve: bool = True
    # Open connections at most; one more is answered 503 and closed.
    max_connections: int = Field(default=100, ge=1, le=10_000)
    # A request's head and body must arrive within this many seconds of the connection (or of
    # the previous answer): a client trickling bytes cannot hold a connection open.
    request_timeout_seconds: float = Field(default=10, gt=0, le=300)
    # An idle kept-alive connection is closed after this many seconds.
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    # The request line and headers together, in bytes.
    max_header_bytes: int = Field(default=8192, ge=1024, le=65536)
    limits: SignupLimits = SignupLimits()
    challenge: Challenge = Challenge()


class Retention(Strict):
    """How long people's data is kept (bot/subscribers/retention.py); counts are kept."""

    # Days an unsubscribed (or refused) person is kept before being deleted; 0: at once.
    unsubscribed_days: int = Field(default=30, ge=0, le=3650)
    # Days a finished delivery keeps its target (address or chat id) before it is blanked.
    delivery_targets_days: int = Field(default=90, ge=1, le=3650)


class Database(Strict):
    url: str = "sqlite:///var/bot.sqlite3"


class Outbox(Strict):
    dir: str = "var/outbox"


# An account name on the machine (POSIX-style logins, as useradd accepts them).
ACCOUNT = r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$"


class StaffMember(Strict):
    """How the bot knows one member of staff: on Telegram, and in a terminal on its machine."""

    # Their numeric Telegram user id: a username can change hands, the id cannot.
    telegram: int | None = None
    # Their operating-system account (the one they run sudo from), for `bot` commands.
    account: str | None = Field(default=None, pattern=ACCOUNT)


class SettingsFile(Strict):
    organisation: Organisation
    timezone: str = "Asia/Yangon"
    languages: list[Language] = Field(default_factory=lambda: list(_LANGUAGES), min_length=1)
    events: dict[str, Event] = Field(default_factory=dict)
    database: Database = Database()
    outbox: Outbox = Outbox()
    web: Web = Web()
    retention: Retention = Retention()
    channels: Channels = Field(default_factory=lambda: Channels())
    # Staff: their name (as records show it) = their numeric Telegram user id, or
    # { telegram = ID, account = "login" } to be recognised in a terminal too (bot/staff.py).
    staff: dict[str, StaffMember] = Field(default_factory=dict)
    # Validated by the scheduler's own loader; kept here so one file holds the settings.
    schedule: dict[str, Any] = Field(default_factory=dict)

    @field_validator("staff", mode="before")
    @classmethod
    def _staff_forms(cls, value: Any) -> Any:
        # `"Aye Aye" = 123456789`, the first form, is a Telegram id alone.
        if not isinstance(value, dict):
            return value
        out = {}
        for name, given in value.items():
            if isinstance(given, int) and not isinstance(given, bool):
                given = {"telegram": given}
            elif not isinstance(given, dict):
                raise ValueError(
                    f'{name}: write "{name}" = 123456789 (their Telegram id) or "{name}" = '
                    '{ telegram = 123456789, account = "login" }'
                )
            out[name] = given
        return out

    @field_validator("staff")
    @classmethod
    def _staff_ids(cls, value: dict[str, StaffMember]) -> dict[str, StaffMember]:
        for name, member in value.items():
            if not name.strip() or len(name) > 60:
                raise ValueError(f"staff name {name!r} must be 1 to 60 characters")
            if member.telegram is None and member.account is None:
                raise ValueError(f"{name}: give their telegram id, their account, or both")
            if member.telegram is not None and member.telegram <= 0:
                raise ValueError(
                    f"{name}: {member.telegram} is not a Telegram user id (a positive number; a "
                    "person can learn theirs by sending /whoami to the bot)"
                )
        for kind in ("telegram", "account"):
            seen: dict[object, str] = {}
            for name, member in value.items():
                key = getattr(member, kind)
                if key is not None and key in seen:
                    raise ValueError(f"{seen[key]} and {name} have the same {kind} {key}")
                seen[key] = name
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Asia/Yangon')") from None
        return value


@dataclass(frozen=True)
class Settings:
    """Validated settings plus the folders they refer to, resolved against the home folder."""

    file: SettingsFile
    home: Path
    database_url: str

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.file.timezone)

    @property
    def config_dir(self) -> Path:
        """Where bot.toml and figures.toml live."""
        return self.home / "config"

    @property
    def messages_dir(self) -> Path:
        """Where the message templates live."""
        return self.home / "messages"

    def channel(self, name: str) -> Any:
        """The settings of channel `name` (`[channels.NAME]`)."""
        return getattr(self.file.channels, name)

    @property
    def outbox_dir(self) -> Path:
        """Where posts for unconfigured channels are written."""
        return self.home / self.file.outbox.dir


def home_dir() -> Path:
    """The folder holding config/, messages/ and var/: BOT_HOME, else the current folder."""
    return Path(os.environ.get("BOT_HOME", ".")).resolve()


def load_settings(home: Path | None = None) -> Settings:
    """Load and validate `config/bot.toml`; BOT_DATABASE_URL overrides the database URL."""
    home = (home or home_dir()).resolve()
    toml = load_toml(home / "config" / "bot.toml")
    try:
        parsed = SettingsFile.model_validate(toml.data)
    except ValidationError as exc:
        raise Problems(describe_validation_error(toml, exc)) from None
    url = os.environ.get("BOT_DATABASE_URL") or parsed.database.url
    return Settings(parsed, home, _resolve_sqlite(url, home))


def _resolve_sqlite(url: str, home: Path) -> str:
    # A relative SQLite path means "inside the home folder", wherever the command runs from.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(home / url[len(prefix) :])
    return url


__all__ = ["ConfigError", "Settings", "load_settings"]

"""`config/bot.toml`: the organisation, time zone, languages, storage and channels."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from bot.config.model import Strict
from bot.config.tomlfile import TomlFile, load_toml
from bot.errors import ConfigError, Problems

Language = Literal["en", "my"]
_LANGUAGES: tuple[Language, ...] = ("en", "my")


class Localized(Strict):
    en: str
    my: str

    def get(self, lang: str) -> str:
        """The text in `lang`."""
        return self.my if lang == "my" else self.en


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


class Web(Strict):
    # Loopback by default: put a reverse proxy with TLS in front to publish it.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The reverse proxies whose X-Forwarded-For is believed (comma-separated addresses, or "*").
    # The sign-up form limits each visitor's address; behind a proxy on another host, without
    # this every visitor looks like the proxy.
    forwarded_allow_ips: str = "127.0.0.1"


class Database(Strict):
    url: str = "sqlite:///var/bot.sqlite3"


class Outbox(Strict):
    dir: str = "var/outbox"


class SettingsFile(Strict):
    organisation: Organisation
    timezone: str = "Asia/Yangon"
    languages: list[Language] = Field(default_factory=lambda: list(_LANGUAGES), min_length=1)
    events: dict[str, Event] = Field(default_factory=dict)
    database: Database = Database()
    outbox: Outbox = Outbox()
    web: Web = Web()
    channels: Channels = Field(default_factory=lambda: Channels())
    # Staff who may control the bot from Telegram: their name (as records show it) = their
    # numeric Telegram user id. Usernames can be changed and taken over; ids cannot.
    staff: dict[str, int] = Field(default_factory=dict)
    # Validated by the scheduler's own loader; kept here so one file holds the settings.
    schedule: dict[str, Any] = Field(default_factory=dict)

    @field_validator("staff")
    @classmethod
    def _staff_ids(cls, value: dict[str, int]) -> dict[str, int]:
        for name, user_id in value.items():
            if not name.strip() or len(name) > 60:
                raise ValueError(f"staff name {name!r} must be 1 to 60 characters")
            if user_id <= 0:
                raise ValueError(
                    f"{name}: {user_id} is not a Telegram user id (a positive number; a person "
                    "can learn theirs by sending /whoami to the bot)"
                )
        seen: dict[int, str] = {}
        for name, user_id in value.items():
            if user_id in seen:
                raise ValueError(f"{seen[user_id]} and {name} have the same Telegram id {user_id}")
            seen[user_id] = name
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


def describe_validation_error(toml: TomlFile, exc: ValidationError) -> list[str]:
    """One `file:line: field: reason` line per pydantic error."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "(top)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        elif error["type"] == "missing":
            message = "required setting is missing"
        message = message.removeprefix("Value error, ")
        problems.append(f"{toml.at(*loc)}: {field}: {message}")
    return problems


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

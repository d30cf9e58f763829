"""What every settings table shares: strict models, and secrets read from the environment.

Kept apart from settings.py so that a channel's module can declare its own table
(`[channels.NAME]`) without importing the file that assembles them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.config.tomlfile import TomlFile
from bot.errors import ConfigError


class Strict(BaseModel):
    # A misspelt key must be reported, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Strict):
    en: str
    my: str

    def get(self, lang: str) -> str:
        """The text in `lang`."""
        return self.my if lang == "my" else self.en


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


def secret(name: str) -> str | None:
    """The secret in environment variable `name`, or in the file named by `name`_FILE."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE names {path}, which cannot be read: {exc.strerror}"
            ) from None
    return None

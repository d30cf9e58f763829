"""What every settings table shares: strict models, and secrets read from the environment.

Kept apart from settings.py so that a channel's module can declare its own table
(`[channels.NAME]`) without importing the file that assembles them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bot.errors import ConfigError


class Strict(BaseModel):
    # A misspelt key must be reported, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


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

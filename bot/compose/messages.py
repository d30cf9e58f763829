"""Message families in `messages/`: their settings and which template serves each edition."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels import registry
from bot.config.settings import describe_validation_error
from bot.config.tomlfile import load_toml
from bot.errors import ConfigError, Problems

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class MessageSettings(BaseModel):
    """`messages/NAME/message.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    # For anniversary messages: the key of the event in bot.toml whose anniversary it marks.
    event: str | None = None
    channels: list[str] = Field(default_factory=lambda: list(registry.NAMES), min_length=1)
    # How old the newest figures may be when the message is posted, in days.
    max_figure_age_days: int | None = Field(default=None, ge=0)
    # Which subscribers receive it: those who chose this topic.
    topic: Literal["statements", "weekly-digest", "daily-briefing"] = "statements"
    # How many staff members must approve each occasion's editions before they go out (0: none).
    approval: int = Field(default=0, ge=0, le=2)
    # How long before its occasion the draft is sent to the admins for approval, in hours.
    approval_ask_hours: float = Field(default=24, gt=0, le=24 * 14)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        return registry.known(value)


@dataclass(frozen=True)
class Message:
    """A message family: its folder, settings and the templates it has."""

    name: str
    folder: Path
    settings: MessageSettings

    def template(self, part: str, lang: str, ext: str) -> str | None:
        """The loader name of `part.lang.ext.j2`, if the family has it."""
        filename = f"{part}.{lang}.{ext}.j2"
        return f"{self.name}/{filename}" if (self.folder / filename).is_file() else None

    def text_template(self, lang: str) -> str:
        """The canonical plain-text template for `lang` (required)."""
        name = self.template("text", lang, "txt")
        if name is None:
            raise ConfigError(
                f"{self.folder}/text.{lang}.txt.j2: missing; every message needs one per language"
            )
        return name

    def templates(self) -> list[Path]:
        """Every template file of the family."""
        return sorted(self.folder.glob("*.j2"))


def list_messages(messages_dir: Path) -> list[str]:
    """Names of the message families (folders with a message.toml)."""
    if not messages_dir.is_dir():
        return []
    return sorted(
        path.parent.name
        for path in messages_dir.glob("*/message.toml")
        if _NAME.match(path.parent.name)
    )


def load_message(messages_dir: Path, name: str) -> Message:
    """Load one message family; an unknown name gets a did-you-mean."""
    known = list_messages(messages_dir)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown message {name!r}{hint}; the messages are: {', '.join(known) or 'none'}"
        )
    folder = messages_dir / name
    toml = load_toml(folder / "message.toml")
    try:
        settings = MessageSettings.model_validate(toml.data)
    except ValidationError as exc:
        raise Problems(describe_validation_error(toml, exc)) from None
    return Message(name, folder, settings)

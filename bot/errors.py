"""The error tree. Every message names the bad value and where it came from."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot reports to a person instead of a traceback."""


class ConfigError(BotError):
    """A settings, figure-definition or schedule file is wrong."""


class TemplateError(BotError):
    """A message template cannot be loaded or rendered."""


class FigureError(BotError):
    """Figures given by staff (command line, CSV, JSON) are refused."""


class MissingFigure(TemplateError):
    """A template asked for a figure that has no value for the occasion."""


class FitError(BotError):
    """A draft cannot be made to fit a channel's limits."""


class ChannelError(BotError):
    """A channel refused or failed a publish."""


class Problems(BotError):
    """Several problems found at once, each on its own line."""

    def __init__(self, problems: list[str], title: str = "Refused, nothing was changed") -> None:
        self.problems = problems
        self.title = title
        super().__init__("\n".join(problems))

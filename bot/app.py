"""The composition root: settings, figure book, database and composer, built on demand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import sqlalchemy as sa

from bot.compose.drafts import Composer
from bot.config.figuredefs import FigureBook, load_figure_book
from bot.config.settings import Settings, load_settings
from bot.occasions import local_date
from bot.store.db import open_database

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """What commands need, each part built the first time it is used."""

    settings: Settings
    clock: Clock = field(default=system_clock)

    @cached_property
    def book(self) -> FigureBook:
        """The figure definitions from config/figures.toml."""
        return load_figure_book(self.settings.config_dir / "figures.toml")

    @cached_property
    def engine(self) -> sa.Engine:
        """The database, migrated."""
        return open_database(self.settings.database_url)

    @cached_property
    def composer(self) -> Composer:
        """Renders drafts from the stored figures."""
        return Composer(self.settings, self.book, self.engine)

    def close(self) -> None:
        """Release database connections, if any were opened."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def today(self) -> dt.date:
        """Today's date in the configured time zone."""
        return local_date(self.clock(), self.settings.tz)


def build_app(home: Path | None = None, clock: Clock = system_clock) -> App:
    """Load the settings from `home` (BOT_HOME or the current folder) and wire the parts."""
    return App(load_settings(home), clock)

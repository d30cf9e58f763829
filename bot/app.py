"""The composition root: settings, figure book, database and composer, built on demand."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
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
from bot.store.sealing import Sealer, sealer_of

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """What commands need, each part built the first time it is used."""

    settings: Settings
    clock: Clock = field(default=system_clock)
    # A rehearsal runs on a shifted clock; it must never reach a real platform.
    rehearsal: bool = False

    @cached_property
    def book(self) -> FigureBook:
        """The figure definitions from config/figures.toml."""
        return load_figure_book(self.settings.config_dir / "figures.toml")

    @cached_property
    def engine(self) -> sa.Engine:
        """The database, migrated, with the data key that seals addresses bound to it."""
        from bot.store.reseal import attach

        engine = open_database(self.settings.database_url)
        try:
            attach(engine, os.environ, self.settings.home / "var")
        except BaseException:
            engine.dispose()
            raise
        return engine

    @property
    def sealer(self) -> Sealer:
        """Seals and opens subscribers' addresses and chat ids (bot/store/sealing.py)."""
        return sealer_of(self.engine)

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


def build_app(home: Path | None = None, clock: Clock | None = None) -> App:
    """Load the settings from `home` (BOT_HOME or the current folder) and wire the parts.

    BOT_CLOCK_START=2025-02-01T08:59+06:30 starts the clock at that moment (a rehearsal):
    time then runs on from there, and every channel writes to the outbox folder.
    """
    settings = load_settings(home)
    _guard(settings)
    if clock is not None:
        return App(settings, clock)
    start = os.environ.get("BOT_CLOCK_START")
    if not start:
        return App(settings, system_clock)
    return App(settings, _shifted(start), rehearsal=True)


def _guard(settings: Settings) -> None:
    """Logs without people's data, and `var/` (and the outbox folder) private to this account."""
    from bot import log_guard
    from bot.store.files import private_folder

    log_guard.install()
    for folder in (settings.home / "var", settings.outbox_dir):
        # A read-only home still answers `bot config check`; writing will say what is wrong.
        with contextlib.suppress(OSError):
            if folder == settings.home / "var" or folder.exists():
                private_folder(folder)


def _shifted(start: str) -> Clock:
    from bot.errors import ConfigError

    try:
        moment = dt.datetime.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"BOT_CLOCK_START={start!r} is not a date and time") from None
    if moment.tzinfo is None:
        raise ConfigError("BOT_CLOCK_START needs a zone, e.g. 2025-02-01T08:59+06:30")
    offset = moment - system_clock()
    return lambda: system_clock() + offset

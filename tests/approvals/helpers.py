"""A home whose anniversary needs two approvals, with three staff members."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App
from bot.figures.entries import Entry, enter
from tests.compose.helpers import SEED_TOTALS, SEED_YEAR, SOURCE

YANGON = ZoneInfo("Asia/Yangon")
ANNIVERSARY = dt.datetime(2024, 2, 1, 9, 0, tzinfo=YANGON)
KEY = "anniversary/coup/2024-02-01"
STAFF = {"Aye": 5550000111, "Min": 5550000222, "Kyaw": 5550000333}
# Their accounts on the machine: a terminal's user is known by the account running `bot`.
ACCOUNTS = {"Aye": "aye", "Min": "min", "Kyaw": "kyaw"}
ADMIN_CHAT = -1009876543210


def require_approval(home: Path, needed: int = 2, ask_hours: int = 48) -> None:
    """Turn on the approval gate for the anniversary, and name the staff."""
    toml = home / "messages" / "anniversary" / "message.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + f"approval = {needed}\napproval_ask_hours = {ask_hours}\n",
        encoding="utf-8",
    )
    settings = home / "config" / "bot.toml"
    text = settings.read_text(encoding="utf-8")
    staff = "".join(
        f'"{name}" = {{ telegram = {user}, account = "{ACCOUNTS[name]}" }}\n'
        for name, user in STAFF.items()
    )
    settings.write_text(text.replace("[staff]\n", "[staff]\n" + staff), encoding="utf-8")
    schedule = home / "config" / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    schedule.write_text(
        text.replace('telegram_chat = ""', f'telegram_chat = "{ADMIN_CHAT}"'), encoding="utf-8"
    )


def enter_figures(app: App, by: str, totals: dict[str, int] | None = None) -> None:
    """The third-anniversary figures (or `totals` on top), entered by `by`."""
    # Fresh totals are as of the anniversary itself: running totals only rise, so no correction.
    day = dt.date(2024, 2, 1) if totals else dt.date(2024, 1, 31)
    values = totals or SEED_TOTALS
    entries = [Entry(k, v, day, None, SOURCE, f"{k}={v}") for k, v in values.items()]
    if totals is None:
        start = dt.date(2023, 2, 1)
        entries += [Entry(k, v, day, start, SOURCE, f"{k}={v}") for k, v in SEED_YEAR.items()]
    enter(app.engine, app.book, entries, entered_by=by, now=app.clock(), origin="test")

"""`bot subscribers export` cannot be made to run a formula in the spreadsheet that opens it.

Anyone can sign up with an address a spreadsheet reads as a formula (`=1+1@example.org` is a
valid address); staff open the export on their own machine. Cells starting with =, +, -, @, a
tab or a carriage return are written with a leading apostrophe, so they show as text.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.app import App
from bot.cli.subscribers_cmd import spreadsheet_safe
from bot.subscribers import store
from tests.conftest import Cli

HOSTILE = (
    "=1+1@example.org",
    "+cmd@example.org",
    "-2+3@example.org",
    "=HYPERLINK(x)@example.org",
)


def test_formula_cells_are_written_as_text(cli: Cli, app: App, tmp_path: Path) -> None:
    for address in (*HOSTILE, "plain@example.org"):
        store.add(app.engine, "email", address, "en", store.TOPICS, app.clock(), confirmed=True)
    out = tmp_path / "people.csv"

    result = cli("subscribers", "export", "--channel", "email", str(out))

    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as stream:
        written = [row["address"] for row in csv.DictReader(stream)]
    assert sorted(written) == sorted(["'" + a for a in HOSTILE] + ["plain@example.org"])
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in written)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1@example.org", "a=1@example.org"),
        ("", ""),
        ("2024-02-01", "2024-02-01"),
    ],
)
def test_which_cells_are_escaped(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe

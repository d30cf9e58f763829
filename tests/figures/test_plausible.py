"""Figures that cannot be true are refused before anything is stored (issue 15, reproduction 4).

A date after today (in the organisation's time zone) is refused, so it cannot block correct
entries later; a value outside its figure's bounds is refused as impossible; a change faster
than the figure's `max_change_per_day` needs --correction or a second member of staff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.schema import figure_snapshots
from tests.conftest import Cli, dump_database
from tests.figures.helpers import seed

SOURCE = ("--source", "https://aappb.org/?p=27322")
# 01:00 on March 1 in Yangon, still February 28 in UTC: "today" is the organisation's date.
CLOCK = {"BOT_CLOCK_START": "2025-03-01T01:00:00+06:30"}
TABLES = ("figure_snapshots", "figure_values", "control")


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli.env.update(CLOCK)
    seed(cli)  # killed=4474 as of 2024-01-31
    return cli


def test_a_date_after_today_is_refused_and_blocks_nothing(seeded: Cli, db_url: str) -> None:
    before = dump_database(db_url, TABLES)
    future = seeded("figures", "set", "killed=4491", "--as-of", "2031-01-01", *SOURCE)
    assert future.exit_code == 1
    assert "killed as of 2031-01-01 is dated after today (2025-03-01)" in future.output
    assert dump_database(db_url, TABLES) == before
    # Today in Yangon is accepted, and the correct entry is not blocked by the refused one.
    today = seeded("figures", "set", "killed=4490", "--as-of", "2025-03-01", *SOURCE)
    assert today.exit_code == 0, today.output
    tomorrow = seeded("figures", "set", "killed=4491", "--as-of", "2025-03-02", *SOURCE)
    assert tomorrow.exit_code == 1 and "dated after today" in tomorrow.output
    span = seeded("figures", "set", "sentenced=3", "--period", "2025-02-01..2025-03-31", *SOURCE)
    assert span.exit_code == 1 and "sentenced for 2025-02-01..2025-03-31 is dated after" in (
        span.output
    )


def test_an_imported_row_dated_after_today_names_its_line(
    seeded: Cli, db_url: str, tmp_path: Path
) -> None:
    rows = "date,figure,value,source\n2025-02-01,killed,4480,https://x\n2031-01-01,killed,4491,x\n"
    (tmp_path / "f.csv").write_text(rows, encoding="utf-8")
    before = dump_database(db_url, TABLES)
    result = seeded("figures", "import", str(tmp_path / "f.csv"))
    assert result.exit_code == 1
    assert re.search(r"f\.csv:3\b.*dated after today", result.output), result.output
    assert dump_database(db_url, TABLES) == before


def test_an_impossible_value_is_refused_not_offered(seeded: Cli, db_url: str) -> None:
    before = dump_database(db_url, TABLES)
    result = seeded("figures", "set", "killed=60000000", "--as-of", "2024-02-01", *SOURCE)
    assert result.exit_code == 1
    assert "killed=60000000 is above the largest possible value of killed, 1000000" in (
        result.output
    )
    assert re.search(r"config/figures\.toml:\d+", result.output)
    # Not kept for a second person either: nobody can confirm the impossible.
    assert "wait as" not in result.output
    assert dump_database(db_url, TABLES) == before
    corrected = seeded(
        "figures", "set", "killed=60000000", "--as-of", "2024-02-01", *SOURCE,
        "--correction", "sure",
    )  # fmt: skip
    assert corrected.exit_code == 1 and "largest possible" in corrected.output


def _code(output: str) -> str:
    found = re.search(r"They wait as ([A-Z0-9]{6}) until", output)
    assert found, output
    return found.group(1)


def test_an_unbelievable_change_waits_for_a_second_person(seeded: Cli, db_url: str) -> None:
    before = dump_database(db_url, TABLES[:2])
    typed = seeded("figures", "set", "killed=5200", "--as-of", "2024-02-01", *SOURCE)
    assert typed.exit_code == 1
    assert "killed rises by 726 in 1 day, from 4474" in typed.output
    assert "more than the 500 a day believable (max_change_per_day" in typed.output
    code = _code(typed.output)
    assert dump_database(db_url, TABLES[:2]) == before
    listed = seeded("figures", "confirm")
    assert code in listed.output and "typed by tester" in listed.output
    # The person who typed it cannot confirm it.
    self_confirmed = seeded("figures", "confirm", code, "--yes")
    assert self_confirmed.exit_code == 1 and "someone else must confirm" in self_confirmed.output
    seeded.env["BOT_USER"] = "Ko Min"
    asked = seeded("figures", "confirm", code, input="n\n")
    assert asked.exit_code == 1 and "nothing was stored" in asked.output
    confirmed = seeded("figures", "confirm", code, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "entered by tester and confirmed by Ko Min" in confirmed.output
    history = seeded("figures", "history", "killed").output
    assert re.search(r"2024-02-01 +5200 .* tester ", history), history
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        origins = conn.execute(sa.select(figure_snapshots.c.origin)).scalars().all()
    engine.dispose()
    assert "figures set; confirmed by Ko Min" in origins
    again = seeded("figures", "confirm", code, "--yes")
    assert again.exit_code == 1 and f"as '{code}'" in again.output


def test_a_correction_lets_one_person_through_with_the_reason(seeded: Cli) -> None:
    result = seeded(
        "figures", "set", "killed=5200", "--as-of", "2024-02-01", *SOURCE,
        "--correction", "a mass killing in Sagaing, verified",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "killed rises by 726 in 1 day" in result.output  # shown under the correction


def test_a_change_within_the_limit_passes(seeded: Cli) -> None:
    result = seeded("figures", "set", "killed=4974", "--as-of", "2024-02-01", *SOURCE)
    assert result.exit_code == 0, result.output

"""`bot config check` passes on the shipped files and names the file and line of each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli


def test_shipped_configuration_passes(cli: Cli) -> None:
    result = cli("config", "check")
    assert result.exit_code == 0, result.output
    assert "Configuration OK." in result.output


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# (file, text to replace, replacement, expected message after "file:line: ")
MISTAKES = [
    pytest.param(
        "messages/anniversary/text.en.txt.j2",
        "figures.killed |",
        "figures.kiled |",
        "unknown figure figures.kiled (did you mean 'killed'?)",
        id="figure-typo",
    ),
    pytest.param(
        "messages/anniversary/text.my.txt.j2",
        "year.sagaing.killed",
        "year.sagaing.kiled",
        "unknown figure year.sagaing.kiled (did you mean 'sagaing.killed'?)",
        id="regional-figure-typo",
    ),
    pytest.param(
        "messages/daily-briefing/text.en.txt.j2",
        "figures.detained",
        "figurs.detained",
        "unknown name 'figurs' (did you mean 'figures'?)",
        id="variable-typo",
    ),
    pytest.param(
        "messages/anniversary/x.en.txt.j2",
        "{% set n = anniversary.number %}",
        "{% set n = anniversary.number + %}",
        "template syntax",
        id="syntax-error",
    ),
    pytest.param(
        "messages/weekly-digest/text.en.txt.j2",
        "figures.arrested | count",
        "figures.arrested | cont",
        "No filter named 'cont'",
        id="filter-typo",
    ),
    pytest.param(
        "messages/daily-briefing/subject.en.txt.j2",
        "figures.killed | num",
        "figures.killed | ordinal(2)",
        "TypeError",
        id="render-error",
    ),
    pytest.param(
        "config/bot.toml",
        'timezone = "Asia/Yangon"',
        'timezone = "Asia/Yangoon"',
        "timezone: unknown time zone 'Asia/Yangoon'",
        id="bad-timezone",
    ),
    pytest.param(
        "config/bot.toml",
        'languages = ["en", "my"]',
        'languges = ["en", "my"]',
        "languges: unknown setting",
        id="setting-typo",
    ),
    pytest.param(
        "config/figures.toml",
        'kind = "current"',
        'kind = "curent"',
        "figure.3.kind: Input should be 'cumulative', 'current' or 'period'",
        id="bad-kind",
    ),
    pytest.param(
        "config/figures.toml",
        'check = "killed_in_custody <= killed"',
        'check = "killed_in_custody <= kiled"',
        "unknown figure 'kiled'",
        id="bad-relation",
    ),
    pytest.param(
        "config/bot.toml",
        "[database]",
        "[database",
        "Expected ']'",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), MISTAKES)
def test_a_mistake_is_reported_with_file_and_line(
    cli: Cli, home: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = home / file
    line = _line_of(path, old)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = cli("config", "check")
    assert result.exit_code == 1
    reported = [row.strip() for row in result.output.splitlines() if f"{file}:{line}:" in row]
    assert reported, f"nothing names {file}:{line} in:\n{result.output}"
    assert any(expected in row for row in reported), result.output
    assert "Traceback" not in result.output


def test_a_missing_language_template_is_named(cli: Cli, home: Path) -> None:
    (home / "messages/weekly-digest/text.my.txt.j2").unlink()
    result = cli("config", "check")
    assert result.exit_code == 1
    assert "messages/weekly-digest/text.my.txt.j2: missing" in result.output

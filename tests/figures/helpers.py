"""Reading what `bot figures …` prints, the way a member of staff reads it."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import Result

from tests.conftest import Cli, dump_database

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CSV = REPO / "config" / "sample-figures.csv"
_AAPP_CSV = REPO.parent / "shared" / "data" / "aapp-figures.csv"
# The organisation's published figures; in a checkout without shared/ beside the repository,
# the shipped sample holds the same rows (plus the third-anniversary period rows).
AAPP_CSV = _AAPP_CSV if _AAPP_CSV.exists() else SAMPLE_CSV

LATIN_DIGIT = re.compile(r"[0-9]")
SEED = ("killed=4474", "arrested=25931", "detained=19993", "--as-of", "2024-01-31")


def seed(cli: Cli) -> None:
    """Enter a few good figures so that a refused command has something to leave alone."""
    result = cli("figures", "set", *SEED, "--source", "https://x")
    assert result.exit_code == 0, result.output


def backend(db_url: str) -> str:
    """'sqlite' or 'postgres', for cases that behave differently on one of them."""
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


def table(output: str) -> list[list[str]]:
    """The rows of the first table printed (header and dashes skipped), columns split."""
    lines = output.splitlines()
    for index in range(len(lines) - 1):
        under = lines[index + 1].replace(" ", "")
        if under and set(under) == {"-"}:
            rows = []
            for line in lines[index + 2 :]:
                if not line.strip():
                    break
                rows.append(re.split(r" {2,}", line.strip()))
            return rows
    raise AssertionError(f"no table in the output:\n{output}")


def shown(cli: Cli, *args: str) -> dict[str, list[str]]:
    """`bot figures show ARGS` as {figure: [label, value, as of, source]}."""
    result = cli("figures", "show", *args)
    assert result.exit_code == 0, result.output
    return {row[0]: [*row[1:], "", "", ""][:4] for row in table(result.output)}


def history(cli: Cli, figure: str) -> list[list[str]]:
    """`bot figures history FIGURE` as rows [when, value, source, by, entered, note]."""
    result = cli("figures", "history", figure)
    assert result.exit_code == 0, result.output
    if result.output.startswith("No values entered"):
        return []
    return [[*row, "", ""][:6] for row in table(result.output)]


def assert_refused(result: Result, *fragments: str) -> None:
    """Exit status 1, a message (never a traceback) that names every fragment."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.output.startswith(("Refused, nothing was changed", "Error: ")), result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def write(folder: Path, name: str, content: str | bytes | None) -> Path:
    """A file staff would import (None: no file at all)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    elif content is not None:
        path.write_bytes(content)
    return path


def import_any(home: Path, tmp_path: Path, content: bytes, suffix: str) -> Result:
    """`bot figures import` of arbitrary bytes: never a traceback, and a refusal changes nothing."""
    url = f"sqlite:///{tmp_path / 'property.sqlite3'}"
    cli = Cli(home, url)
    if not (tmp_path / "property.sqlite3").exists():
        assert cli("figures", "show").exit_code == 0  # create the tables before comparing
    path = tmp_path / f"random{suffix}"
    path.write_bytes(content)
    before = dump_database(url)
    result = cli("figures", "import", str(path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert dump_database(url) == before
    return result

"""docs/ARCHITECTURE.md lists every module under bot/, and only modules that exist.

The module table has one row per package or top-level module. A package row (`bot/store/`)
lists its modules by file name in its description (`schema.py` (tables), `db.py` …); a row may
name several top-level modules (`bot/lang.py`, `bot/occasions.py`). A name with a folder in it
(`store/db.py`, in another package's row) refers to bot/store/db.py: it must exist, but it lists
the module only in its own package's row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
TABLE_HEADING = "## Modules"
# Alembic's revisions are data, one file per schema change; the table names their folder.
NOT_LISTED = ("bot/migrations/versions/",)

_CODE = re.compile(r"`([^`]+)`")
_PY = re.compile(r"[\w./]+\.py\b")


@dataclass
class Table:
    """What the module table says: modules it lists, and every module file it names."""

    listed: set[str] = field(default_factory=set)
    # Each named path with the row it is named in (the row's first cell), for messages.
    named: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)


def modules() -> set[str]:
    """Every module under bot/ as `bot/x/y.py`, without `__init__.py` and the revisions."""
    found = set()
    for path in (ROOT / "bot").rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" or name.startswith(NOT_LISTED):
            continue
        found.add(name)
    return found


def _rows() -> list[tuple[str, str]]:
    """(first cell, description) of each row of the table under `## Modules`."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    assert TABLE_HEADING in lines, f"{DOC}: no {TABLE_HEADING!r} section"
    rows = []
    for line in lines[lines.index(TABLE_HEADING) + 1 :]:
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|", 1)]
        if len(cells) < 2 or set(cells[0]) <= {"-", " ", ":"} or "`" not in cells[0]:
            continue  # the separator, or the header row (`| module | what it owns |`)
        rows.append((cells[0], cells[1]))
    assert rows, f"{DOC}: the table under {TABLE_HEADING!r} has no rows"
    return rows


def read_table() -> Table:
    """The modules the table lists, as `bot/x/y.py`."""
    table = Table()
    for first, description in _rows():
        heads = _CODE.findall(first)
        for head in heads:
            if head.endswith("/"):
                table.packages[head] = first
            else:
                table.listed.add(head)
                table.named[head] = first
        packages = [head for head in heads if head.endswith("/")]
        for code in _CODE.findall(description):
            for name in _PY.findall(code):
                if name.startswith("bot/"):
                    table.named[name] = first
                    continue
                if "/" in name or not packages:
                    # Another package's module (`store/db.py`), or one named in a module's row.
                    table.named[f"bot/{name}"] = first
                    continue
                for package in packages:
                    table.listed.add(f"{package}{name}")
                    table.named[f"{package}{name}"] = first
    return table


def test_every_module_is_listed_in_the_architecture() -> None:
    missing = sorted(modules() - read_table().listed)
    assert not missing, (
        "docs/ARCHITECTURE.md's module table does not list "
        + ", ".join(missing)
        + " (name the file in its package's row, or add a row for a top-level module)"
    )


def test_every_module_the_architecture_names_exists() -> None:
    table = read_table()
    gone = sorted(
        f"{name} (row {row})" for name, row in table.named.items() if not (ROOT / name).is_file()
    )
    gone += sorted(
        f"{package} (row {row})"
        for package, row in table.packages.items()
        if not (ROOT / package / "__init__.py").is_file()
    )
    assert not gone, f"docs/ARCHITECTURE.md's module table names what does not exist: {gone}"

"""TOML files that remember where each key was written, so errors can name a line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

# A table header such as `[channels.email]` or `[[figure]]`; quoted parts are kept whole.
_HEADER = re.compile(r"^\s*(\[\[?)\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_\-\".]+?)\s*=")


def _split_dotted(name: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(r'"([^"]*)"|([^.\s]+)', name):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    return parts


@dataclass
class TomlFile:
    """A parsed TOML file plus the line on which each table and key starts."""

    path: Path
    data: dict[str, Any]
    # (table path with array indexes, key) -> line number, both 1-based.
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def line_of(self, *where: str | int) -> int | None:
        """The line of the deepest key along `where` that the file spells out."""
        for end in range(len(where), 0, -1):
            line = self.lines.get(tuple(where[:end]))
            if line is not None:
                return line
        return None

    def at(self, *where: str | int) -> str:
        """`file:line` for a key, or just the file when the key is not written in it."""
        line = self.line_of(*where)
        shown = shown_path(self.path)
        return f"{shown}:{line}" if line else shown


def shown_path(path: Path) -> str:
    """A path as staff would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_toml(path: Path) -> TomlFile:
    """Read a TOML file; a syntax error becomes a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 3, column 7)"; turn it into file:line form.
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = found.group(1) if found else "?"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ConfigError(f"{shown_path(path)}:{line}: {reason}") from None
    return TomlFile(path, data, _index_lines(text))


def _index_lines(text: str) -> dict[tuple[str | int, ...], int]:
    lines: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    array_counts: dict[tuple[str, ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith("#"):
            names = tuple(_split_dotted(header.group("name")))
            if header.group(1) == "[[":
                index = array_counts.get(names, -1) + 1
                array_counts[names] = index
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key and not raw.lstrip().startswith("#"):
            lines.setdefault((*table, *_split_dotted(key.group("key"))), number)
    return lines

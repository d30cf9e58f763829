"""`config/figures.toml`: which figures exist, their labels, kinds and relations."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config.settings import Localized, describe_validation_error
from bot.config.tomlfile import TomlFile, load_toml
from bot.errors import Problems

Kind = Literal["cumulative", "current", "period"]
KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"
_COMPARISONS = ("==", "<=", ">=", "<", ">")


class FigureDef(BaseModel):
    """A defined count: cumulative totals never fall; current ones may; period ones cover a span."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN)
    kind: Kind
    label: Localized
    note: str = ""
    # The range a value can possibly take: outside it, a value is refused as impossible.
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)
    # The largest change per day since the neighbouring value that is believable as typed:
    # beyond it, entering needs --correction "why" or a second member of staff.
    max_change_per_day: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _limits(self) -> FigureDef:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"{self.key}: max ({self.max}) is below min ({self.min})")
        if self.kind == "period" and self.max_change_per_day is not None:
            raise ValueError(
                f"{self.key}: a period figure is counted afresh for each span, so it has no "
                "change per day; give it min and max only"
            )
        return self


class _RelationDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    check: str


class _FiguresFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    figure: list[FigureDef] = Field(min_length=1)
    relation: list[_RelationDef] = Field(default_factory=list)


@dataclass(frozen=True)
class Relation:
    """`left op right`, each side a sum of figures and constants, e.g. `a == b + c`."""

    text: str
    left: tuple[tuple[int, str], ...]  # (sign, figure key)
    op: str
    right: tuple[tuple[int, str], ...]
    where: str

    @property
    def keys(self) -> set[str]:
        """Every figure the relation mentions."""
        return {key for _, key in self.left + self.right}

    def holds(self, values: dict[str, int]) -> bool:
        """Whether the relation holds for these values (all its figures must be present)."""
        left = sum(sign * values[key] for sign, key in self.left)
        right = sum(sign * values[key] for sign, key in self.right)
        return {
            "==": left == right,
            "<=": left <= right,
            ">=": left >= right,
            "<": left < right,
            ">": left > right,
        }[self.op]

    def explain(self, values: dict[str, int]) -> str:
        """The relation with the numbers filled in, for error messages."""

        def side(terms: tuple[tuple[int, str], ...]) -> str:
            out = ""
            for index, (sign, key) in enumerate(terms):
                joiner = ("" if sign > 0 else "-") if index == 0 else (" + " if sign > 0 else " - ")
                out += f"{joiner}{key} ({values[key]})"
            return out

        left = sum(sign * values[key] for sign, key in self.left)
        right = sum(sign * values[key] for sign, key in self.right)
        return f"{side(self.left)} = {left}, {side(self.right)} = {right}"


@dataclass(frozen=True)
class FigureBook:
    """All figure definitions, by key, and the relations between them."""

    figures: dict[str, FigureDef]
    relations: tuple[Relation, ...]
    path: Path
    # `config/figures.toml:12` for each figure's key and limit settings, for error messages.
    lines: dict[tuple[str, str], str] = field(default_factory=dict)

    def where(self, key: str, setting: str) -> str:
        """Where a figure's setting is written (or the figure, if the setting is not)."""
        return self.lines.get((key, setting)) or self.lines.get((key, "key")) or str(self.path)

    def get(self, key: str) -> FigureDef:
        """The definition of `key`, or a FigureError with a did-you-mean."""
        from bot.errors import FigureError

        try:
            return self.figures[key]
        except KeyError:
            raise FigureError(f"unknown figure {key!r}{self.suggest(key)}") from None

    def suggest(self, key: str) -> str:
        """`" (did you mean 'killed'?)"` or an empty string."""
        close = difflib.get_close_matches(key, list(self.figures), n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_side(text: str, known: set[str]) -> tuple[tuple[int, str], ...]:
    terms: list[tuple[int, str]] = []
    tokens = re.findall(r"[+-]|[^\s+-]+", text)
    sign = 1
    expect_term = True
    for token in tokens:
        if token in "+-" and len(token) == 1:
            if expect_term and terms:
                raise ValueError(f"two operators in a row near {token!r}")
            sign = -1 if token == "-" else 1
            expect_term = True
            continue
        if not expect_term:
            raise ValueError(f"missing + or - before {token!r}")
        if token not in known:
            raise ValueError(f"unknown figure {token!r}")
        terms.append((sign, token))
        sign, expect_term = 1, False
    if not terms or expect_term:
        raise ValueError("a side of the comparison is empty")
    return tuple(terms)


def _parse_relation(text: str, known: set[str], where: str) -> Relation:
    for op in _COMPARISONS:
        if op in text:
            left, _, right = text.partition(op)
            return Relation(text, _parse_side(left, known), op, _parse_side(right, known), where)
    raise ValueError("needs one of == <= >= < >")


def load_figure_book(path: Path) -> FigureBook:
    """Load and validate the figure definitions; every problem is reported with its line."""
    toml: TomlFile = load_toml(path)
    try:
        parsed = _FiguresFile.model_validate(toml.data)
    except ValidationError as exc:
        raise Problems(describe_validation_error(toml, exc)) from None
    problems: list[str] = []
    figures: dict[str, FigureDef] = {}
    lines: dict[tuple[str, str], str] = {}
    for index, figure in enumerate(parsed.figure):
        if figure.key in figures:
            problems.append(
                f"{toml.at('figure', index, 'key')}: figure {figure.key!r} is defined twice"
            )
        figures[figure.key] = figure
        for setting in ("key", "min", "max", "max_change_per_day"):
            lines[(figure.key, setting)] = toml.at("figure", index, setting)
    relations: list[Relation] = []
    for index, relation in enumerate(parsed.relation):
        where = toml.at("relation", index, "check")
        try:
            relations.append(_parse_relation(relation.check, set(figures), where))
        except ValueError as exc:
            problems.append(f"{where}: relation {relation.check!r}: {exc}")
    if problems:
        raise Problems(problems)
    return FigureBook(figures, tuple(relations), path, lines)

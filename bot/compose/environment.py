"""The Jinja2 environment templates render in: sandboxed, strict, with language-aware filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot import lang as L
from bot.errors import MissingFigure


def _lang(context: Context) -> str:
    return str(context.get("lang", "en"))


def _as_date(value: Any) -> dt.date:
    if value is None:
        # figures_date is None when no figures are entered on or before the post's date.
        raise MissingFigure("no figures are entered on or before this date")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date, got {value!r}")


def _as_int(value: Any) -> int:
    # bool is an int in Python, but `True | count` is surely a template mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


@pass_context
def f_count(context: Context, value: Any) -> str:
    """The organisation's style for a count: (25931), or (၂၅၉၃၁) in Burmese."""
    return L.count(_as_int(value), _lang(context))


@pass_context
def f_num(context: Context, value: Any, grouped: bool = False) -> str:
    """A number in the language's digits; `grouped=True` adds thousands separators."""
    return L.number(_as_int(value), _lang(context), grouped=grouped)


@pass_context
def f_digits(context: Context, value: Any) -> str:
    """Any text with its digits in the language's script."""
    return L.digits(str(value), _lang(context))


@pass_context
def f_date(context: Context, value: Any) -> str:
    """February 1, 2023 / ၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်."""
    return L.long_date(_as_date(value), _lang(context))


@pass_context
def f_shortdate(context: Context, value: Any) -> str:
    """1 February 2023 / ၁.၂.၂၀၂၃."""
    return L.short_date(_as_date(value), _lang(context))


@pass_context
def f_span(context: Context, start: Any, end: Any) -> str:
    """February 1, 2023 – January 31, 2024, in the language."""
    return L.span(_as_date(start), _as_date(end), _lang(context))


@pass_context
def f_ordinal(context: Context, value: Any) -> str:
    """third / တတိယ."""
    return L.ordinal(_as_int(value), _lang(context))


@pass_context
def f_ordinal_title(context: Context, value: Any) -> str:
    """Third / တတိယ."""
    return L.ordinal_title(_as_int(value), _lang(context))


FILTERS = {
    "count": f_count,
    "num": f_num,
    "digits": f_digits,
    "date": f_date,
    "shortdate": f_shortdate,
    "span": f_span,
    "ordinal": f_ordinal,
    "Ordinal": f_ordinal_title,
}


def _autoescape(name: str | None) -> bool:
    # Only HTML editions are escaped: X and plain-text email must not show &amp;.
    return bool(name) and str(name).endswith((".html.j2", ".html"))


def make_environment(messages_dir: Path) -> ImmutableSandboxedEnvironment:
    """A sandbox that refuses undefined names and escapes HTML editions."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(messages_dir), encoding="utf-8"),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env

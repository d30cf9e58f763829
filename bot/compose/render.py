"""Rendering one template to text, with errors that name the template file and line."""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from bot.errors import BotError, TemplateError
from bot.lang import has_latin_digit

MAX_OUTPUT_CHARS = 200_000


def _location(exc: BaseException, messages_dir: Path) -> str:
    """`messages/x/text.en.txt.j2:12` from a Jinja error or the traceback of a render."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return f"{_relative(exc.filename, messages_dir)}:{exc.lineno}"
    # Jinja rewrites tracebacks so template frames carry the template's file and line.
    tb: TracebackType | None = exc.__traceback__
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{_relative(filename, messages_dir)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _relative(filename: str, messages_dir: Path) -> str:
    path = Path(filename)
    try:
        return str(Path("messages") / path.resolve().relative_to(messages_dir.resolve()))
    except ValueError:
        return filename


def describe(exc: BaseException, messages_dir: Path, fallback: str) -> str:
    """A one-line explanation of a template failure, starting with `file:line:`."""
    where = _location(exc, messages_dir) or fallback
    if isinstance(exc, jinja2.UndefinedError):
        reason = f"undefined name: {exc.message}"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        reason = f"template syntax: {exc.message}"
    elif isinstance(exc, SecurityError):
        reason = f"not allowed in a template: {exc}"
    elif isinstance(exc, jinja2.TemplateNotFound):
        reason = f"template not found: {exc.name}"
    elif isinstance(exc, BotError):
        reason = str(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return f"{where}: {reason}"


def render(env: jinja2.Environment, name: str, context: dict[str, Any], messages_dir: Path) -> str:
    """Render template `name`; any failure becomes a TemplateError naming file and line."""
    try:
        text = env.get_template(name).render(context)
    except RecursionError:
        raise TemplateError(f"messages/{name}: the template calls itself without end") from None
    except (jinja2.TemplateError, BotError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(describe(exc, messages_dir, f"messages/{name}")) from None
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"messages/{name}: renders to {len(text)} characters; is a loop wrong?")
    return tidy(text)


def tidy(text: str) -> str:
    """Trailing spaces removed, runs of blank lines collapsed to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")
_TAG = re.compile(r"<style.*?</style>|<[^>]*>", re.S)


def latin_digits_in_burmese(text: str) -> str | None:
    """The first stretch of Burmese text that shows a Latin digit, ignoring links and markup."""
    visible = _URL.sub(" ", _TAG.sub(" ", text))
    if not has_latin_digit(visible):
        return None
    found = re.search(r".{0,20}[0-9].{0,20}", visible)
    return found.group(0).strip() if found else visible[:40]

"""No subscriber's address, chat id or link token in any log line, whoever writes it.

The bot's own lines mask addresses as they are written, but a library's may not: a database
error quotes the statement's values (SQLAlchemy's `[parameters: …]`, PostgreSQL's
`DETAIL: Key (address)=(…)`), a web server logs a confirmation link's path, and a traceback
repeats all of it. Filters on loggers do not reach records of child loggers, and handlers are
the operator's, so the guard sits where every record is made: the log record factory. Each
record's message, and its traceback when a handler formats it, pass `scrub` first.

Not a parser of everything: it masks what looks like an email address, a Telegram chat id (a
number of six digits or more), a token (a long run of capitals, small letters and digits) and
the value lists databases quote. A figure in the millions in a log line is masked too: the
price of a rule that cannot tell it from a chat id.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType
from typing import Any

from bot.privacy import mask_addresses_in

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLAlchemy's parameters, if an engine was made without hide_parameters.
    (re.compile(r"\[parameters: [^\n]*"), "[parameters hidden]"),
    # PostgreSQL: DETAIL:  Key (channel, address)=(email, a@b.org) already exists.
    (re.compile(r"(Key \([^)]*\)=)\((?:[^()\n]|\([^()\n]*\))*\)"), r"\1(hidden)"),
    (re.compile(r"(Failing row contains )\([^\n]*\)"), r"\1(hidden)"),
    # Telegram bot tokens (`123456:AA…`), whole: the bot's number is part of the secret.
    (re.compile(r"(?<!\d)\d{5,}:[\w-]{20,}(?![\w-])"), "***"),
    # Links that carry a subscriber's token in their path.
    (re.compile(r"(/(?:confirm|unsubscribe)/)[^\s\"'?#]+"), r"\1***"),
    # Tokens: long runs of URL-safe base64 mixing capitals, small letters and digits (names
    # of files, functions and hashes are rarely all three).
    (
        re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[\w-]{20,}(?![\w-])"),
        "***",
    ),
    # Chat ids (a person's is positive, a group's negative): six digits or more.
    (re.compile(r"(?<![\w.])(-?\d)\d{5,}(?![\w.])"), r"\1***"),
)


def scrub(text: str) -> str:
    """`text` with addresses, chat ids, tokens and quoted database values masked."""
    text = mask_addresses_in(text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class _GuardedRecord(logging.LogRecord):
    """A record whose message and traceback text are scrubbed whenever they are read or set."""

    def getMessage(self) -> str:
        return scrub(super().getMessage())

    @property
    def exc_text(self) -> str | None:
        return self.__dict__.get("_exc_text")

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        self.__dict__["_exc_text"] = scrub(value) if value else value

    @property
    def stack_info(self) -> str | None:
        return self.__dict__.get("_stack_info")

    @stack_info.setter
    def stack_info(self, value: str | None) -> None:
        self.__dict__["_stack_info"] = scrub(value) if value else value


_previous = logging.getLogRecordFactory()


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous(*args, **kwargs)
    if type(record) is logging.LogRecord:
        text, stack = record.exc_text, record.stack_info
        record.__class__ = _GuardedRecord
        record.exc_text, record.stack_info = text, stack
    return record


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An uncaught exception is the last line a process logs: scrubbed like the others."""
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, value, tb))))


def install() -> None:
    """Guard every log record made from now on in this process (once; later calls do nothing)."""
    if logging.getLogRecordFactory() is not _factory:
        logging.setLogRecordFactory(_factory)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook

"""Keeping the bot token and subscribers' data out of the log.

The Bot API puts the token in every URL, which httpx logs at INFO and PTB at DEBUG, and PTB's
own `InvalidToken` quotes it. At DEBUG, PTB also logs every request's parameters, every answer
and every update: chat ids, names and message texts of people who may be at risk. Neither
library can be told not to, so a filter on their loggers rewrites each record before any
handler sees it: tokens masked (in the message and the traceback), structured data replaced.
"""

from __future__ import annotations

import logging
import traceback

import httpx

_HIDDEN_TOKEN = "***"
_HIDDEN_DATA = "(hidden)"
# Log arguments of these types are kept; anything else (an Update, a dict of parameters, a list
# of results) may hold people's data.
_PLAIN = (str, int, float, bool, type(None), type)
# Logger filters do not apply to records of child loggers, so each one is named, and the
# loggers that exist once telegram.ext is imported are added in `guard_logs`.
_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "telegram.Bot",
    "telegram.ext",
    "telegram.ext.Application",
    "telegram.ext.ExtBot",
    "telegram.ext.Updater",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
)
_PREFIXES = ("telegram.", "httpx.", "httpcore.", "bot.telegram_bot.")


def scrub(text: str, tokens: set[str]) -> str:
    """`text` with every token in `tokens` masked."""
    for token in tokens:
        text = text.replace(token, _HIDDEN_TOKEN)
    return text


class LogGuard(logging.Filter):
    """Masks tokens and hides structured arguments in every record it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_safe(arg) for arg in record.args)
        elif record.args:
            record.msg, record.args = f"{record.msg} {_HIDDEN_DATA}", None
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A hidden argument under "%d": a log call must never fail because of the guard.
            message = f"{record.msg} {_HIDDEN_DATA}"
        # One line per long poll (every few seconds, for ever) would drown everything else.
        if record.name == "httpx" and record.levelno <= logging.INFO and "/getUpdates" in message:
            return False
        record.msg, record.args = scrub(message, self.tokens), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted once here, masked, and the exception dropped, so that no handler
            # formats it again from the original.
            formatted = "".join(traceback.format_exception(record.exc_info[1]))
            record.exc_text = scrub(formatted.rstrip("\n"), self.tokens)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text, self.tokens)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.tokens)
        return True


def _safe(arg: object) -> object:
    if isinstance(arg, _PLAIN):
        return arg
    if isinstance(arg, httpx.URL):
        return str(arg)  # httpx's request lines: the token in it is masked afterwards
    return _HIDDEN_DATA


GUARD = LogGuard()


def guard_logs(token: str) -> None:
    """Mask `token` and hide people's data in the logs of httpx, PTB and this package."""
    GUARD.tokens.add(token)
    names = set(_LOGGERS)
    # PTB and this package create their loggers at import time; any not listed above is
    # covered too.
    names.update(
        name
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(_PREFIXES)
    )
    for name in names:
        logger = logging.getLogger(name)
        if GUARD not in logger.filters:
            logger.addFilter(GUARD)

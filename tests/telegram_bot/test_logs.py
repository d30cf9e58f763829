"""The log guard: tokens masked everywhere in a record, people's data never formatted in."""

from __future__ import annotations

import logging

import httpx

from bot.telegram_bot.logs import LogGuard

TOKEN = "987654321:AAE-guardTestToken"


def guarded(record: logging.LogRecord) -> tuple[bool, str]:
    guard = LogGuard()
    guard.tokens.add(TOKEN)
    kept = guard.filter(record)
    return kept, logging.Formatter("%(message)s").format(record)


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("telegram.ext.ExtBot", logging.DEBUG, __file__, 1, msg, args, info)


def test_the_token_is_masked_in_message_arguments_and_traceback() -> None:
    try:
        raise ValueError(f"The token `{TOKEN}` was rejected by the server.")
    except ValueError as exc:
        caught = exc
    url = httpx.URL(f"https://api.telegram.org/bot{TOKEN}/getMe")

    kept, text = guarded(record("GET %s for " + TOKEN, url, exc=caught))

    assert kept
    assert TOKEN not in text
    assert "https://api.telegram.org/bot***/getMe" in text
    assert "The token `***` was rejected" in text
    assert "Traceback" in text


def test_structured_arguments_are_hidden() -> None:
    params = {"chat_id": 7710001234, "text": "a person's words"}

    _, text = guarded(record("Calling `%s` with `%s` and %r", "sendMessage", params, [1, 2]))

    assert text == "Calling `sendMessage` with `(hidden)` and '(hidden)'"


def test_a_mismatched_format_never_breaks_the_log_call() -> None:
    _, text = guarded(record("%d updates", {"update_id": 1}))

    assert text == "%d updates (hidden)"


def test_the_long_poll_lines_of_httpx_are_dropped() -> None:
    line = 'HTTP Request: %s %s "%s %d %s"'
    url = httpx.URL(f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    poll = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, line, ("POST", url, "HTTP/1.1", 200, "OK"), None
    )
    send = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        line,
        ("POST", url.copy_with(path="/bot1/sendMessage"), "HTTP/1.1", 200, "OK"),
        None,
    )

    assert guarded(poll)[0] is False
    assert guarded(send)[0] is True


def test_stack_info_is_masked() -> None:
    found = record("here")
    found.stack_info = f"Stack (most recent call last):\n  bot{TOKEN}"

    _, text = guarded(found)

    assert TOKEN not in text

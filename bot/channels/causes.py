"""The chain of causes inside an HTTP library's error, for the channels that classify them.

requests and urllib3 wrap the real cause in `reason` (MaxRetryError), in the arguments
(ConnectionError(MaxRetryError), ProtocolError(msg, RemoteDisconnected)) or in `__cause__`;
Mastodon.py raises its own error inside `except`, so there the requests error is the context.
"""

from __future__ import annotations

from collections.abc import Iterator

# A bound, in case a library makes a cycle.
DEPTH = 12


def causes(exc: BaseException, *, context: bool = True) -> Iterator[BaseException]:
    """`exc`, then what it wraps, outermost first.

    `context=False` leaves out what was merely being handled when an error was raised: for a
    "was anything sent?" decision, an earlier failed connection in the context must not make a
    later error look like one that happened before sending.
    """
    current: BaseException | None = exc
    for _ in range(DEPTH):
        if current is None:
            return
        yield current
        reason = getattr(current, "reason", None)
        inner = [a for a in current.args if isinstance(a, BaseException)]
        if isinstance(reason, BaseException):
            current = reason
        elif inner:
            current = inner[0]
        else:
            current = current.__cause__ or (current.__context__ if context else None)


def innermost(exc: BaseException, *, context: bool = True) -> str:
    """The deepest cause as "Type: message", what a person can search for."""
    last = list(causes(exc, context=context))[-1]
    return f"{type(last).__name__}: {last}"

"""What a failed request to a Mastodon instance means, and how a lost post is recognised.

Kept apart from mastodon_api.py, which makes the calls: these are pure functions of an
exception, of an answer's rate-limit headers or of a status's HTML.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
import socket
import ssl
from collections.abc import Callable
from typing import Final

from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from bot.channels.base import CredentialsRefused, Rejected, TemporaryFailure, Uncertain
from bot.channels.causes import causes, innermost
from bot.errors import ChannelError

_TAG: Final = re.compile(r"<[^>]*>")
_BLOCK: Final = re.compile(r"<br\s*/?>|</p\s*>", re.IGNORECASE)
# A remote mention as Mastodon shows it: "@name" for "@name@example.social".
_REMOTE_MENTION: Final = re.compile(
    r"(^|[^/\w])@([a-z0-9_]+)@[a-z0-9\.\-]+[a-z0-9]+", re.IGNORECASE
)


# Mastodon's window for its 300 requests per access token, for a 429 that names no reset.
DEFAULT_RETRY_SECONDS = 5 * 60


class MayHaveLanded(Uncertain):
    """A post's answer was lost after it may have been stored: look before deciding."""


def network_error(
    url: str, settings: str, action: str, exc: BaseException, posting: bool
) -> ChannelError:
    """The kind of a request that failed on the way (Mastodon.py's MastodonNetworkError).

    Mastodon.py raises it inside its `except`, so the requests exception is its context.
    """
    chain = list(causes(exc))
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return CredentialsRefused(
            f"cannot find the Mastodon instance {url}: its name does not resolve. Check "
            f"instance_url in {settings}"
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return CredentialsRefused(
            f"nothing answers at {url} (connection refused): check instance_url in {settings}; "
            "if the instance is only down for now, publish again once it is back"
        )
    inner = innermost(exc)
    # Timed out while connecting, or a certificate refused in the handshake: nothing was sent.
    before = (ConnectTimeoutError, NewConnectionError, ssl.SSLCertVerificationError)
    if any(isinstance(e, before) for e in chain):
        return TemporaryFailure(f"could not reach {url} to {action}: {inner}")
    # A read timeout, a connection dropped after sending: the instance may have stored it.
    if not posting:
        return TemporaryFailure(f"no answer from {url} to '{action}': {inner}")
    return MayHaveLanded(f"no answer from {url} after sending '{action}': {inner}")


def same_text(content: str, text: str) -> bool:
    """Whether a status's HTML `content` shows exactly `text` (spaces aside)."""
    shown = html.unescape(_TAG.sub("", _BLOCK.sub(" ", content)))
    return _words(shown) == _words(_REMOTE_MENTION.sub(r"\1@\2", text))


def _words(text: str) -> list[str]:
    return text.split()


def lost_or_temporary(reason: str, posting: bool) -> ChannelError:
    """A post that may have been stored is looked for; any other call is simply tried again."""
    return MayHaveLanded(reason) if posting else TemporaryFailure(reason)


def refused(url: str, env: str, action: str, exc: BaseException, posting: bool) -> ChannelError:
    """The kind of a Mastodon.py API error (args: message, status, reason, error text)."""
    status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
    said = str(exc.args[3] if len(exc.args) > 3 and exc.args[3] else exc.args[-1])
    answer = f"{url} answered {status} to '{action}': {said}"
    if status == 401:
        return CredentialsRefused(
            f"Mastodon refused the access token for {url}: make a new one and set {env} ({said})"
        )
    if status == 403:
        return CredentialsRefused(
            f"Mastodon refused '{action}' for the account on {url}: {said}. Check "
            f"that the account may post and that its access token has the scopes "
            f"write:statuses, write:media and read (make a new one and set {env})"
        )
    if status == 404 and posting:
        return Rejected(f"{answer} (the post it replies to may have been deleted)")
    if status == 503:  # overloaded or in maintenance: refused before anything was done
        return TemporaryFailure(answer)
    if status >= 500:
        return lost_or_temporary(f"{answer}; the post may have gone out", posting)
    return Rejected(answer)


def retry_after(headers: dict[str, str], clock: Callable[[], dt.datetime]) -> float:
    """Seconds until the window in `X-RateLimit-Reset` ends, by the instance's own `Date`."""
    try:
        reset = dt.datetime.fromisoformat(headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return float(DEFAULT_RETRY_SECONDS)
    if reset.tzinfo is None:
        reset = reset.replace(tzinfo=dt.UTC)
    try:  # the instance's own clock, so a skew between the two does not matter
        now = email.utils.parsedate_to_datetime(headers["Date"])
    except (KeyError, TypeError, ValueError, IndexError):
        now = clock()
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return max(1.0, (reset - now).total_seconds())

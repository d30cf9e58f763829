"""What a failed request to a Mastodon instance means, and how a lost post is recognised.

Kept apart from mastodon_api.py, which makes the calls: these are pure functions of an
exception or of a status's HTML, tested on their own.
"""

from __future__ import annotations

import html
import re
import socket
import ssl
from typing import Final

from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from bot.channels.base import CredentialsRefused, TemporaryFailure, Uncertain
from bot.channels.causes import causes, innermost
from bot.errors import ChannelError

_TAG: Final = re.compile(r"<[^>]*>")
_BLOCK: Final = re.compile(r"<br\s*/?>|</p\s*>", re.IGNORECASE)
# A remote mention as Mastodon shows it: "@name" for "@name@example.social".
_REMOTE_MENTION: Final = re.compile(
    r"(^|[^/\w])@([a-z0-9_]+)@[a-z0-9\.\-]+[a-z0-9]+", re.IGNORECASE
)


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

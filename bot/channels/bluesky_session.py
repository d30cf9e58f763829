"""The bot's Bluesky account: logged in once with the app password, the session kept and reused.

A saved session is used as it is (the SDK refreshes its access token when it nears expiry). A
session the server no longer accepts is dropped and the app password used once more; a
password the server refuses is `CredentialsRefused`, remembered for the rest of the run, and
never tried again by the channel on its own: logins are limited to 30 per 5 minutes and 300 a
day, and a loop of refused logins can lock the account out for a day.

Also here: how the SDK's errors read (status, Bluesky's error name, its message).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
from atproto_client import AsyncClient  # type: ignore[import-untyped]
from atproto_client.client.session import Session, SessionEvent  # type: ignore[import-untyped]
from atproto_client.exceptions import (  # type: ignore[import-untyped]
    BadRequestError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.request import AsyncRequest  # type: ignore[import-untyped]

from bot.channels.base import CredentialsRefused, RateLimited, Rejected, TemporaryFailure
from bot.channels.bluesky import BlueskySettings
from bot.channels.bluesky_state import SavedState

# Bluesky's shortest rate-limit window, for a 429 that does not say when it ends.
DEFAULT_RETRY_SECONDS = 300.0
# Errors a PDS gives for a session it no longer accepts (an expired one is a 400, not a 401).
_SESSION_GONE = ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing")
# httpx raises these only while opening a connection, before any byte of the request is sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def status(exc: RequestErrorBase) -> int | None:
    """The HTTP status of the answer, or None when there was no answer."""
    response = exc.response
    return int(response.status_code) if response is not None else None


def error_name(exc: RequestErrorBase) -> str:
    """Bluesky's name for the error ("ExpiredToken", "RecordNotFound"…), or ""."""
    content = exc.response.content if exc.response is not None else None
    return str(getattr(content, "error", "") or "")


def said(exc: RequestErrorBase) -> str:
    """What the server said, as "Name: message", else the status alone."""
    content = exc.response.content if exc.response is not None else None
    name = getattr(content, "error", None)
    message = getattr(content, "message", None)
    if name or message:
        return ": ".join(str(x) for x in (name, message) if x)
    found = status(exc)
    return f"HTTP {found}" if found is not None else type(exc).__name__


def never_sent(exc: BaseException) -> bool:
    """Whether the request failed before it left (refused, unresolvable, connect timeout)."""
    return isinstance(exc, _NOT_SENT) or isinstance(exc.__cause__, _NOT_SENT)


def session_gone(exc: BaseException) -> bool:
    """Whether the server refused the session itself (the call did nothing)."""
    if isinstance(exc, UnauthorizedError):
        return True
    return isinstance(exc, BadRequestError) and error_name(exc) in _SESSION_GONE


def rate_limited(exc: RateLimitExceededError, action: str, now: dt.datetime) -> RateLimited:
    """The wait a 429 asks for: until its `ratelimit-reset`, else `retry-after`, else 5 min."""
    reset = exc.reset_at
    if reset is not None:
        wait = max(1.0, (reset - now).total_seconds())
    else:
        wait = float(exc.retry_after or DEFAULT_RETRY_SECONDS)
    policy = f" ({exc.policy})" if exc.policy else ""
    return RateLimited(
        f"Bluesky's rate limit{policy} is reached for {action}; trying again in {wait:.0f} s", wait
    )


class _Request(AsyncRequest):  # type: ignore[misc]
    """The SDK's requests, with a blob's bytes handed to httpx as `content`.

    The SDK passes an upload's bytes as `data`, which httpx takes only with a deprecation
    warning (and a later httpx not at all).
    """

    async def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if isinstance(kwargs.get("data"), bytes):
            kwargs["content"] = kwargs.pop("data")
        response: httpx.Response = await super()._send_request(method, url, **kwargs)
        return response


class Account:
    """An AsyncClient logged in to the account, made on first use in the running event loop."""

    def __init__(
        self,
        settings: BlueskySettings,
        handle: str,
        password: str,
        state: SavedState,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.handle = handle.strip().removeprefix("@")
        self._password = password
        self.state = state
        self.clock = clock
        self.did = ""
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refused: str | None = None

    def __repr__(self) -> str:
        return f"Account(@{self.handle}, {self.settings.base_url!r}, app password=***)"

    async def client(self) -> Any:
        """The client, logged in (a saved session, else the app password)."""
        if self._refused is not None:
            raise CredentialsRefused(self._refused)
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        # httpx's connections belong to the loop that opened them: a new loop, a new client.
        self._client, self._loop = self._new_client(), loop
        saved = self.state.session
        if saved:
            try:
                await self._client.login(session_string=saved, fetch_bsky_profile=False)
                return self._client
            except (ValueError, TypeError):  # not a session string after all
                self.state.forget_session()
        await self._login()
        return self._client

    async def renew(self) -> Any:
        """The server refused the session: log in again with the app password, once."""
        self.state.forget_session()
        if self._client is None or self._loop is not asyncio.get_running_loop():
            return await self.client()
        await self._login()
        return self._client

    async def close(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.request.close()

    def _new_client(self) -> Any:
        request = _Request(timeout=httpx.Timeout(self.settings.timeout_seconds))
        client = AsyncClient(base_url=self.settings.base_url.rstrip("/"), request=request)
        client.on_session_change(self._session_changed)
        return client

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        self.did = session.did
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self.state.keep_session(session.export())

    async def _login(self) -> None:
        env = self.settings.app_password_env
        try:
            await self._client.login(self.handle, self._password, fetch_bsky_profile=False)
        except UnauthorizedError as exc:
            self._refused = self._refusal(exc, env)
            self.state.forget_session()
            raise CredentialsRefused(self._refused) from None
        except RateLimitExceededError as exc:
            raise rate_limited(exc, f"logging in as @{self.handle}", self.clock()) from None
        except BadRequestError as exc:
            raise Rejected(f"Bluesky refused the login of @{self.handle}: {said(exc)}") from None
        except (RequestErrorBase, httpx.TransportError) as exc:
            # A login posts nothing: whatever went wrong, trying again later is harmless.
            answered = isinstance(exc, RequestErrorBase) and exc.response is not None
            raise TemporaryFailure(
                f"could not log in to Bluesky as @{self.handle} at {self.settings.base_url}: "
                f"{said(exc) if answered else _innermost(exc)}"
            ) from None

    def _refusal(self, exc: RequestErrorBase, env: str) -> str:
        name = error_name(exc)
        if name == "AuthFactorTokenRequired":
            return (
                f"Bluesky asked @{self.handle} for an email code: {env} holds the account's own "
                f"password. Make an app password (Settings → Privacy and security → App "
                f"passwords) and set {env} to it"
            )
        if name in ("AccountTakedown", "AccountDeactivated", "AccountSuspended"):
            return f"Bluesky refused the login of @{self.handle}: {said(exc)}"
        return (
            f"Bluesky refused the app password for @{self.handle}: make a new one and set "
            f"{env} ({said(exc)}; if @{self.handle} is not the account, set "
            f"{self.settings.handle_env})"
        )


def _innermost(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__

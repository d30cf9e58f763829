"""X's API: threads posted with tweepy's v2 Client (OAuth 1.0a), each failure given a kind.

tweepy is synchronous, so every call runs in a worker thread. The mapping follows base.py:
only a failure that surely happened before X received the request may be retried. A payload's
card goes with the thread's first post, uploaded by x_media.py first.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import requests
import tweepy
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bot.cards.card import Card, CardError
from bot.channels.base import Payload, Progress, RateLimited, Rejected, TemporaryFailure, Uncertain
from bot.channels.causes import causes, innermost
from bot.channels.x import XSettings
from bot.channels.x_media import MEMO, Uploaded, XMedia, retry_after
from bot.config.model import secret
from bot.errors import ChannelError

log = logging.getLogger(__name__)

X_HOSTS = ("https://api.x.com", "https://api.twitter.com")
MASK = "****"
# What X accepts as a post's picture's alt text (POST /2/media/metadata).
ALT_LIMIT = 1000
T = TypeVar("T")


class _XAdapter(HTTPAdapter):
    """Gives every request a timeout (tweepy sets none) and sends X's URLs to `base_url`."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__()
        self._base = base_url
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        # tweepy hard-codes https://api.twitter.com (REFERENCE.md 1.6). The OAuth signature
        # stays that of X's URL, which a gateway or a fake does not check.
        url = request.url or ""
        for host in X_HOSTS if self._base else ():
            if url.startswith(host):
                request.url = f"{self._base}{url[len(host) :]}"
        timeout = self._timeout if timeout is None else timeout
        return super().send(request, stream, timeout, verify, cert, proxies)


class XChannel:
    """Posts a payload's parts as a thread on the account the four OAuth 1.0a keys belong to."""

    name: ClassVar[str] = "x"
    via: ClassVar[str] = "platform"

    def __init__(
        self,
        settings: XSettings,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._settings = settings
        self._keys = (consumer_key, consumer_secret, access_token, access_token_secret)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._client: Any = None  # tweepy.Client, made on first use
        # requests.Session is not thread-safe: one call at a time, whichever thread runs it.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: XSettings, clock: Callable[[], datetime] | None = None
    ) -> XChannel | None:
        """The channel with keys from the environment, or None when any of the four is missing."""
        ck, cs, at, ats = (
            secret(settings.consumer_key_env),
            secret(settings.consumer_secret_env),
            secret(settings.access_token_env),
            secret(settings.access_token_secret_env),
        )
        if not (ck and cs and at and ats):
            return None
        return cls(settings, ck, cs, at, ats, clock=clock)

    def __repr__(self) -> str:
        return f"XChannel(base_url={self._settings.base_url!r}, consumer_key={MASK}, ...)"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Post the parts after `done`, each replying to the one before, and return every id."""
        ids = list(done)
        total = len(payload.parts)
        for index in range(len(done), total):
            # The card goes with the first post, uploaded before it is claimed as in flight
            # (an upload posts nothing, so its failures leave the delivery simply unsent).
            media = await self._card(payload.card) if index == 0 and payload.card else None
            await progress.before(index)
            action = f"post part {index + 1} of {total}"
            reply_to = ids[-1] if ids else None
            posted = await self._call(action, self._post, payload.parts[index], reply_to, media)
            log.info("X: part %d of %d posted as %s", index + 1, total, posted)
            ids.append(posted)
            await progress.after(index, posted)
        return ids

    async def _card(self, card: Card) -> str:
        """The media id of the card with its alt text, uploaded now unless it still is."""
        if not card.alt.strip() or len(card.alt) > ALT_LIMIT:
            raise Rejected(
                f"the card {card.sha256[:12]} has {len(card.alt)} characters of alt text; X "
                f"takes 1 to {ALT_LIMIT}, and a card never goes out without it"
            )
        # Media belong to the account that uploads them (its access token), on that server.
        account = f"{self._settings.base_url} {self._keys[2]}"
        held = MEMO.get(account, card.sha256, self._clock())
        if held is None:
            try:
                png = card.png()
            except CardError as exc:
                raise Rejected(str(exc)) from None
            held = await self._call("upload the card", self._upload, png)
            MEMO.put(account, card.sha256, held)
        if not held.described:
            await self._call("give the card its alt text", self._describe, held.media_id, card.alt)
            held.described = True
        return held.media_id

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Delete the posted parts, last first, so no reply is left hanging under a gap."""
        for platform_id in reversed(ids):
            await self._call(f"delete post {platform_id}", self._delete, platform_id)

    async def close(self) -> None:
        """Close the HTTP connections; a later call opens new ones."""
        client, self._client = self._client, None
        if client is not None:
            client.session.close()

    # Worker-thread side.

    def _client_now(self) -> Any:
        if self._client is None:
            ck, cs, at, ats = self._keys
            client = tweepy.Client(
                consumer_key=ck,
                consumer_secret=cs,
                access_token=at,
                access_token_secret=ats,
                # True would sleep inside the call for hours on a 24-hour limit.
                wait_on_rate_limit=False,
            )
            base = self._settings.base_url.rstrip("/")
            adapter = _XAdapter(None if base in X_HOSTS else base, self._settings.timeout_seconds)
            client.session.mount("https://", adapter)
            client.session.mount("http://", adapter)
            # Their DEBUG lines print the OAuth header with the consumer key and access token.
            for name in ("oauthlib", "requests_oauthlib"):
                logger = logging.getLogger(name)
                if logger.getEffectiveLevel() < logging.INFO:
                    logger.setLevel(logging.INFO)
            self._client = client
        return self._client

    def _media(self) -> XMedia:
        client = self._client_now()
        ck, cs, at, ats = self._keys
        auth = tweepy.OAuth1UserHandler(ck, cs, at, ats).apply_auth()
        return XMedia(client.session, auth, self._settings.timeout_seconds, self._clock)

    def _upload(self, png: bytes) -> Uploaded:
        return self._media().upload(png)

    def _describe(self, media_id: str, alt: str) -> None:
        self._media().describe(media_id, alt)

    def _post(self, text: str, reply_to: str | None, media: str | None = None) -> str:
        response = self._client_now().create_tweet(
            text=text, in_reply_to_tweet_id=reply_to, media_ids=[media] if media else None
        )
        data = getattr(response, "data", None)
        if not isinstance(data, dict) or not data.get("id"):
            raise Uncertain(f"X accepted the post but its answer has no post id: {data!r}")
        return str(data["id"])

    def _delete(self, platform_id: str) -> None:
        try:
            self._client_now().delete_tweet(platform_id)
        except tweepy.NotFound:
            log.info("X: post %s was already deleted", platform_id)

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    # Error mapping.

    async def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(self._locked, fn, *args)
        except tweepy.HTTPException as exc:
            error = self._http_error(action, exc)
        except requests.RequestException as exc:
            error = _network_error(action, exc)
        except ChannelError as exc:
            error = exc
        # Without the cause: it holds the signed request, and the message says what matters.
        error.args = (self._mask(str(error)),)
        raise error from None

    def _http_error(self, action: str, exc: Any) -> ChannelError:
        status = int(exc.response.status_code)
        said = "; ".join(str(m) for m in exc.api_messages) or exc.response.reason or "no reason"
        answer = f"X answered {status} to '{action}': {said}"
        if isinstance(exc, tweepy.TooManyRequests):
            wait = self._retry_after(exc)
            return RateLimited(f"X's rate limit is reached; try again in {wait:.0f} s", wait)
        if status == 403 and "duplicate content" in said.lower():
            # X has no idempotency key: this is how a retry of a post that landed looks.
            return Uncertain("X says this text was already posted: it probably went out before")
        if status == 401:
            return Rejected(f"{answer} (check the X keys)")
        if status == 503:
            # Overloaded or down for maintenance: X's front end refused it before handling it.
            return TemporaryFailure(answer)
        if status >= 500:
            # 500/502/504 can come after X's back end stored the post (a gateway timing out,
            # a crash after the write), so a retry could post it twice.
            return Uncertain(f"{answer}; the post may have gone out")
        return Rejected(answer)

    def _retry_after(self, exc: Any) -> float:
        # tweepy reads only the 15-minute window; retry_after looks at the 24-hour ones too.
        return retry_after(exc.response.headers, self._clock(), exc.reset_time)

    def _mask(self, text: str) -> str:
        for key in self._keys:
            text = text.replace(key, MASK)
        return text


def _network_error(action: str, exc: requests.RequestException) -> ChannelError:
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and _never_sent(exc)
    ):
        cause = innermost(exc, context=False)
        return TemporaryFailure(f"could not reach X to {action}: {cause}")
    # A read timeout, a connection dropped after sending, a garbled answer: X may have it.
    why = "no answer in time" if isinstance(exc, requests.Timeout) else "the connection broke"
    cause = innermost(exc, context=False)
    return Uncertain(f"{why} after sending '{action}' to X: it may have gone out ({cause})")


def _never_sent(exc: BaseException) -> bool:
    # Refused, unresolvable, timed out while connecting, or a certificate refused during the
    # handshake: all happen before a byte of the request leaves.
    before = (NewConnectionError, ConnectTimeoutError, ssl.SSLCertVerificationError)
    return any(isinstance(e, before) for e in causes(exc, context=False))

"""Mastodon's API: threads posted with Mastodon.py, never twice, each failure given a kind.

Mastodon.py is synchronous, so every call runs in a worker thread, one at a time. It is made
with `ratelimit_method="throw"`: it must never sleep (its "wait" mode sleeps inside the call,
for minutes); a 429 goes back to the sender as RateLimited with the time the instance gave.

Never twice: every post carries an `Idempotency-Key` made from the delivery, the part and its
text, so the instance answers a repeat with the status it already made. A post whose answer
was lost (a timeout, a dropped connection, a 5xx that may come after the write) is looked for
among the account's latest statuses before anything is decided: found, the part landed; not
found, the delivery is `unknown` for staff, as on the other channels.

A refused token, an instance that is not there, or an instance that allows fewer characters
than the editions were fitted to is CredentialsRefused: the delivery fails with the fix named,
and the admins are told once (see bot/runtime.py). The channel remembers it, so the other
deliveries of the run fail with the same reason without asking the instance again.

Mastodon allows 300 requests per 5 minutes per access token and says how many are left in
every answer (`X-RateLimit-Remaining`, `-Reset`). The channel keeps that count: when the window
is used up it does not send (RateLimited until the reset, by the instance's clock), and a post
leaves RESERVE requests for looking up its own status should its answer be lost.

A figure card goes with the thread's first status: uploaded (POST /api/v2/media, with its alt
text as the description) before that status is claimed as in flight, since an upload posts
nothing. A retry may upload it again, which is harmless: the status carries the same
Idempotency-Key, so the instance never makes a second one. An upload whose status surely did
not go out (a 429, a 503) is used again by the retry for up to an hour; the instance deletes
media left unattached after a day, and an older id might be dropped from the post silently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
)

from bot.cards.alt import ALT_LIMITS
from bot.cards.card import Card, CardError
from bot.channels.base import (
    CredentialsRefused,
    Payload,
    Progress,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.mastodon import MASTODON_LIMIT, MastodonSettings, url_problems
from bot.channels.mastodon_errors import (
    MayHaveLanded,
    lost_or_temporary,
    network_error,
    refused,
    retry_after,
    same_text,
)
from bot.channels.spec import Wiring
from bot.config.model import secret
from bot.errors import ChannelError

log = logging.getLogger(__name__)

SETTINGS = "[channels.mastodon] in config/bot.toml"
# The statuses looked through after a lost answer: a thread's parts and a little more.
TIMELINE = 40
# A status older than the attempt by more than this (the instance's clock against ours) was
# not made by it: the same text posted earlier (`--again`) must not be taken for it.
CLOCK_SLACK = dt.timedelta(minutes=10)
# Requests a post leaves in the window for finding it after a lost answer (who am I, my posts).
RESERVE = 2
MASK = "****"
# Mastodon's limit for a media description (MediaAttachment::MAX_DESCRIPTION_LENGTH).
ALT_LIMIT = ALT_LIMITS["mastodon"]
# How long an uploaded card whose status did not go out is used again by a retry.
MEDIA_KEPT_SECONDS = 60 * 60
T = TypeVar("T")


def idempotency_key(payload: Payload, index: int) -> str | None:
    """The key of part `index` of a delivery: the same on every attempt, and only for it.

    The text is in it too: a database restored from a backup hands out delivery numbers
    again, and the instance keeps keys for an hour; another text must never be taken for a
    repeat (the instance would answer with the old status and post nothing).
    """
    if not payload.key:
        return None
    digest = hashlib.sha256(f"{payload.key}\n{index}\n{payload.parts[index]}".encode())
    return f"spring-bot-{payload.key}-{index + 1}-{digest.hexdigest()[:20]}"


class MastodonChannel:
    """Posts a payload's parts as a thread on the account the access token belongs to."""

    name: ClassVar[str] = "mastodon"
    via: ClassVar[str] = "platform"

    def __init__(self, settings: MastodonSettings, token: str, wiring: Wiring) -> None:
        if not token:
            raise ValueError("a Mastodon access token is required")
        self._settings = settings
        self._token = token
        self._wiring = wiring
        self._url = settings.instance_url.rstrip("/")
        self._client: Any = None  # Mastodon, made on first use
        # requests.Session is not thread-safe: one call at a time, whichever thread runs it.
        self._lock = threading.Lock()
        self._checked = False  # the instance's limit, once per channel
        self._account: str | None = None
        # The last answer's status and rate-limit headers (Mastodon.py keeps no response).
        self._answer: tuple[int, dict[str, str]] = (0, {})
        # The window as the last answer left it: requests left, and when it ends (monotonic).
        self._left: tuple[int, float] | None = None
        # The instance refused the token or is not there: every later call fails the same way.
        self._refusal: CredentialsRefused | None = None
        # (delivery key, card hash) → (media id, when uploaded, monotonic): the card of a first
        # status that has not landed yet.
        self._media: dict[tuple[str, str], tuple[str, float]] = {}

    @classmethod
    def from_settings(cls, settings: MastodonSettings, wiring: Wiring) -> MastodonChannel | None:
        """The channel, or None without an instance or an access token."""
        token = secret(settings.token_env)
        if not (settings.instance_url and token):
            return None
        return cls(settings, token, wiring)

    def __repr__(self) -> str:
        return f"MastodonChannel(instance_url={self._url!r}, token={MASK})"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Post the parts after `done`, each replying to the one before, and return every id."""
        self._refused_before()
        await self._check_instance()
        ids = list(done)
        total = len(payload.parts)
        for index in range(len(done), total):
            card = payload.card if index == 0 else None
            media = await self._card(payload.key, card) if card is not None else None
            await progress.before(index)
            action = f"post part {index + 1} of {total}"
            reply_to = ids[-1] if ids else None
            started = self._wiring.clock()
            key = idempotency_key(payload, index)
            try:
                posted = await self._call(
                    action, self._post, payload.parts[index], reply_to, payload.lang, key, media
                )
            except MayHaveLanded as lost:
                posted = await self._recover(lost, payload.parts[index], reply_to, ids, started)
            if card is not None:
                self._media.pop((payload.key, card.sha256), None)  # attached now
            log.info("Mastodon: part %d of %d posted as %s", index + 1, total, posted)
            ids.append(posted)
            await progress.after(index, posted)
        return ids

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Delete the posted parts, last first; one already gone counts as deleted."""
        self._refused_before()
        for platform_id in reversed(ids):
            try:
                await self._call(f"delete post {platform_id}", self._delete, platform_id)
            except MayHaveLanded as exc:  # deleting twice is harmless: simply try again
                raise TemporaryFailure(str(exc)) from None

    async def close(self) -> None:
        """Close the HTTP connections; a later call opens new ones."""
        client, self._client = self._client, None
        if client is not None:
            client.session.close()

    # -- before posting ---------------------------------------------------------------------

    async def _check_instance(self) -> None:
        """Refuse an unusable URL, an address with no Mastodon, or a limit below the setting."""
        if self._checked:
            return
        bad = url_problems(self._url)
        if bad:
            self._refusal = CredentialsRefused(f"instance_url in {SETTINGS}: {bad[0]}")
            raise self._refusal
        allowed = await self._call("read the instance's limits", self._max_characters)
        wanted = self._settings.max_characters
        if allowed < wanted:
            self._refusal = CredentialsRefused(
                f"{self._url} allows {allowed} characters per post, fewer than max_characters "
                f"= {wanted} in {SETTINGS} that editions are fitted to: set max_characters to "
                f"{allowed} or less, then publish again (`bot post-now … --again`)"
            )
            raise self._refusal
        self._checked = True

    # -- the card ---------------------------------------------------------------------------

    async def _card(self, delivery: str, card: Card) -> str:
        """The media id of the card with its alt text, uploaded now unless just uploaded."""
        if not card.alt.strip() or len(card.alt) > ALT_LIMIT:
            raise Rejected(
                f"the card {card.sha256[:12]} has {len(card.alt)} characters of alt text; "
                f"Mastodon takes 1 to {ALT_LIMIT}, and a card never goes out without it"
            )
        memo = (delivery, card.sha256)
        held = self._media.get(memo)
        if held is not None and self._wiring.monotonic() - held[1] < MEDIA_KEPT_SECONDS:
            return held[0]
        try:
            png = card.png()
        except CardError as exc:
            raise Rejected(str(exc)) from None
        media_id = await self._call("upload the card", self._upload, png, card)
        if delivery:
            self._media[memo] = (media_id, self._wiring.monotonic())
        return media_id

    # -- after a lost answer ----------------------------------------------------------------

    async def _recover(
        self,
        lost: MayHaveLanded,
        text: str,
        reply_to: str | None,
        ids: list[str],
        since: dt.datetime,
    ) -> str:
        """The id of the status a lost request made, if the account shows it; else Uncertain."""
        try:
            found = await self._call(
                "look through the account's latest posts", self._find, text, reply_to, ids, since
            )
        except ChannelError as exc:
            raise Uncertain(
                f"{lost}; looking for it among the account's posts failed too: {exc}"
            ) from None
        if found is None:
            raise Uncertain(
                f"{lost}; it is not among the account's latest posts, but may still appear: "
                "check the account, then `bot deliveries resolve`"
            )
        log.info("Mastodon: the post whose answer was lost is there, as %s", found)
        return found

    # -- worker-thread side -----------------------------------------------------------------

    def _client_now(self) -> Any:
        if self._client is None:
            session = requests.Session()
            session.hooks["response"].append(self._remember)
            self._client = Mastodon(
                access_token=self._token,
                api_base_url=self._url,
                # Never sleep inside a call: a 429 is raised and handed to the sender.
                ratelimit_method="throw",
                request_timeout=self._settings.timeout_seconds,
                # No call to learn the version; nothing here depends on it.
                version_check_mode="none",
                session=session,
                user_agent="spring-bot",
            )
        return self._client

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        names = ("X-RateLimit-Reset", "X-RateLimit-Remaining", "Date")
        headers = {n: response.headers[n] for n in names if n in response.headers}
        self._answer = (response.status_code, headers)
        try:
            left = int(headers["X-RateLimit-Remaining"])
        except (KeyError, ValueError):
            return  # an instance (or a route) without a limit says nothing: keep what we know
        ends = self._wiring.monotonic() + retry_after(headers, self._wiring.clock)
        self._left = (left, ends)

    def _post(
        self, text: str, reply_to: str | None, lang: str, key: str | None, media: str | None
    ) -> str:
        status = self._client_now().status_post(
            text,
            in_reply_to_id=reply_to,
            media_ids=[media] if media else None,
            visibility=self._settings.visibility,
            language=lang,
            idempotency_key=key,
        )
        platform_id = getattr(status, "id", None)
        if not platform_id:
            raise MayHaveLanded(f"{self._url} accepted the post but its answer has no id")
        return str(platform_id)

    def _upload(self, png: bytes, card: Card) -> str:
        # A PNG is processed while the upload is answered (only video and audio are deferred),
        # so its id can go with a status at once. Mastodon.py asks the instance's version once
        # to choose between /api/v2/media and the older /api/v1/media.
        media = self._client_now().media_post(
            png,
            mime_type="image/png",
            description=card.alt,
            file_name=f"card-{card.sha256[:16]}.png",
        )
        media_id = getattr(media, "id", None)
        if not media_id:
            raise TemporaryFailure(f"{self._url} accepted the card but its answer has no id")
        return str(media_id)

    def _delete(self, platform_id: str) -> None:
        try:
            self._client_now().status_delete(platform_id)
        except MastodonNotFoundError:
            log.info("Mastodon: post %s was already deleted", platform_id)

    def _max_characters(self) -> int:
        client = self._client_now()
        try:
            instance = client.instance_v2()
        except MastodonNotFoundError:  # before Mastodon 4.0: only the first version
            try:
                instance = client.instance_v1()
            except MastodonNotFoundError:
                raise CredentialsRefused(
                    f"{self._url} does not answer as a Mastodon instance (404 on "
                    f"/api/v1/instance): check instance_url in {SETTINGS}"
                ) from None
        statuses = (instance.get("configuration") or {}).get("statuses") or {}
        found = statuses.get("max_characters") or instance.get("max_toot_chars")
        return int(found) if found else MASTODON_LIMIT  # a stock instance says nothing else

    def _find(
        self, text: str, reply_to: str | None, known: list[str], since: dt.datetime
    ) -> str | None:
        client = self._client_now()
        if self._account is None:
            self._account = str(client.account_verify_credentials().id)
        for status in client.account_statuses(self._account, limit=TIMELINE, exclude_reblogs=True):
            status_id = str(status.id)
            replied = str(status.in_reply_to_id) if status.in_reply_to_id else None
            made = status.created_at
            if status_id in known or replied != reply_to:
                continue
            if isinstance(made, dt.datetime) and made.tzinfo and made < since - CLOCK_SLACK:
                continue
            if same_text(str(status.content or ""), text):
                return status_id
        return None

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    # -- error mapping ----------------------------------------------------------------------

    def _refused_before(self) -> None:
        if self._refusal is not None:
            raise CredentialsRefused(str(self._refusal))

    def _window_used_up(self, posting: bool) -> RateLimited | None:
        """RateLimited when the instance's window has too few requests left for this call."""
        if self._left is None:
            return None
        left, ends = self._left
        wait = ends - self._wiring.monotonic()
        if wait <= 0:
            self._left = None  # a new window
            return None
        if left > (RESERVE if posting else 0):
            return None
        return RateLimited(
            f"Mastodon's rate limit for this account is nearly reached ({left} requests left "
            f"in this window of 300 per 5 minutes); try again in {wait:.0f} s",
            wait,
        )

    async def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        posting = fn == self._post
        limited = self._window_used_up(posting)
        if limited is not None:
            raise limited  # nothing was sent
        try:
            return await asyncio.to_thread(self._locked, fn, *args)
        except MastodonRatelimitError:
            error = self._rate_limited(action, posting)
        except MastodonNetworkError as exc:
            error = network_error(self._url, SETTINGS, action, exc, posting)
        except MastodonAPIError as exc:
            error = refused(self._url, self._settings.token_env, action, exc, posting)
        except MastodonError as exc:  # an answer that could not be read
            error = lost_or_temporary(
                f"{self._url} gave an unreadable answer to '{action}': {exc}", posting
            )
        except ChannelError as exc:
            error = exc
        # Without the cause (it holds the request), and never the token.
        error.args = (str(error).replace(self._token, MASK),)
        if isinstance(error, CredentialsRefused):
            self._refusal = error
        raise error from None

    def _rate_limited(self, action: str, posting: bool) -> ChannelError:
        code, headers = self._answer
        if code != 429:
            # Mastodon.py raises this too when it cannot read the rate-limit headers of an
            # answer that may have been a success.
            return lost_or_temporary(
                f"{self._url} answered '{action}' with rate-limit headers Mastodon.py could not "
                "read",
                posting,
            )
        wait = retry_after(headers, self._wiring.clock)
        return RateLimited(
            f"Mastodon's rate limit for this account is reached (300 requests in 5 minutes); "
            f"try again in {wait:.0f} s",
            wait,
        )

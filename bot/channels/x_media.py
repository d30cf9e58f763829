"""X's API v2 media upload, which tweepy lacks: a card goes up, then its alt text, then a post.

    POST /2/media/upload    multipart `media` + `media_category=tweet_image` → data.id
    POST /2/media/metadata  {"id": …, "metadata": {"alt_text": {"text": …}}}

Both take the OAuth 1.0a keys the bot already posts with, signed by tweepy's own handler on
tweepy's session (so the adapter that sends X's URLs to `base_url` applies). Neither posts
anything: whatever fails, the post is still unsent, so every failure short of a refusal is
temporary and the upload is simply tried again. An uploaded picture is remembered for as long
as X keeps it (`expires_after_secs`) and reused by the retry of a post that failed after it:
the same card is not uploaded, nor described (a billed call), twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from bot.channels.base import RateLimited, Rejected, TemporaryFailure
from bot.errors import ChannelError

UPLOAD_URL = "https://api.x.com/2/media/upload"
METADATA_URL = "https://api.x.com/2/media/metadata"
# X keeps an unused upload for a day; a post later than this before expiry uploads afresh.
EXPIRY_MARGIN = timedelta(minutes=15)
DEFAULT_EXPIRY = timedelta(hours=1)
DEFAULT_RETRY_SECONDS = 15 * 60


@dataclass
class Uploaded:
    """A picture X holds for the account: its media id, until when, and whether described."""

    media_id: str
    expires_at: datetime
    described: bool = False


class MediaMemo:
    """Pictures uploaded by this process, per account and card, until X forgets them.

    In memory only: the media id is worth nothing after a day, and a process that restarts
    uploads again (uploads are free; the alt text costs one more metadata call).
    """

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], Uploaded] = {}
        self._lock = threading.Lock()

    def get(self, account: str, sha256: str, now: datetime) -> Uploaded | None:
        """The upload of this card still usable at `now`, if any."""
        with self._lock:
            for key in [k for k, v in self._held.items() if v.expires_at - EXPIRY_MARGIN <= now]:
                del self._held[key]
            return self._held.get((account, sha256))

    def put(self, account: str, sha256: str, uploaded: Uploaded) -> None:
        """Remember an upload."""
        with self._lock:
            self._held[(account, sha256)] = uploaded


# One per process: a retry often comes through a channel connected anew (each send connects).
MEMO = MediaMemo()


class XMedia:
    """The two media calls, on a requests session with OAuth 1.0a signing."""

    def __init__(
        self, session: requests.Session, auth: Any, timeout: float, clock: Callable[[], datetime]
    ) -> None:
        self._session = session
        self._auth = auth
        self._timeout = timeout
        self._clock = clock

    def upload(self, png: bytes) -> Uploaded:
        """Upload a PNG as a post picture; the media id and when X drops it."""
        data = self._call(
            "upload the card",
            UPLOAD_URL,
            files={"media": ("card.png", png, "image/png")},
            data={"media_category": "tweet_image", "media_type": "image/png"},
        )
        media_id = data.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise TemporaryFailure(f"X took the card but its answer has no media id: {data!r}")
        seconds = data.get("expires_after_secs")
        lasts = timedelta(seconds=seconds) if isinstance(seconds, int) else DEFAULT_EXPIRY
        return Uploaded(media_id, self._clock() + lasts)

    def describe(self, media_id: str, alt: str) -> None:
        """Give an uploaded picture its alt text."""
        body = {"id": media_id, "metadata": {"alt_text": {"text": alt}}}
        self._call("give the card its alt text", METADATA_URL, json=body)

    def _call(self, action: str, url: str, **body: Any) -> dict[str, Any]:
        try:
            response = self._session.post(url, auth=self._auth, timeout=self._timeout, **body)
        except requests.RequestException as exc:
            # Nothing is posted by these calls: whatever happened, trying again is safe.
            raise TemporaryFailure(f"could not {action} on X: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise self._refusal(action, response)
        try:
            answer = response.json()
        except ValueError:
            raise TemporaryFailure(f"X answered '{action}' with no JSON") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise TemporaryFailure(f"X answered '{action}' without data: {answer!r}")
        return data

    def _refusal(self, action: str, response: requests.Response) -> ChannelError:
        status = response.status_code
        answer = f"X answered {status} to '{action}': {_said(response)}"
        if status == 429:
            wait = retry_after(response.headers, self._clock())
            return RateLimited(f"X's media rate limit is reached; try again in {wait:.0f} s", wait)
        if status == 401:
            return Rejected(f"{answer} (check the X keys)")
        if status == 403:
            return Rejected(f"{answer} (the X app needs write access, with media)")
        if status >= 500 or status == 408:
            return TemporaryFailure(answer)
        return Rejected(answer)


def retry_after(headers: Any, now: datetime, reset: int | None = None) -> float:
    """Seconds until X's rate limit ends, from its headers (the 24-hour windows included)."""
    resets: list[int | None] = [reset if reset is not None else _int(headers, "x-rate-limit-reset")]
    # The 15-minute window is not the only one: an exhausted 24-hour one lasts longer.
    for scope in ("user", "app"):
        if _int(headers, f"x-{scope}-limit-24hour-remaining") == 0:
            resets.append(_int(headers, f"x-{scope}-limit-24hour-reset"))
    known = [r for r in resets if r is not None]
    if not known:
        return float(DEFAULT_RETRY_SECONDS)
    return max(1.0, max(known) - now.timestamp())


def _said(response: requests.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return response.reason or "no reason"
    if isinstance(answer, dict):
        errors = answer.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e.get("message") or e.get("detail") or e) for e in errors)
        if answer.get("detail") or answer.get("title"):
            return str(answer.get("detail") or answer.get("title"))
    return response.reason or "no reason"


def _int(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

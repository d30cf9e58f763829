"""Bluesky: each part of a payload is one post, each replying to the one before (a thread).

Posts are records created in the account's repository through the atproto SDK's AsyncClient,
each under a record key derived from the delivery (bluesky_records.py). That key is what makes
an unclear answer safe: after a timeout or a 5xx the channel asks whether the record is there
(getRecord) and, if it is not, may create it again, since a second create on the same key
fails rather than posting twice. Only a question left without any answer is `Uncertain`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from atproto_client.exceptions import (  # type: ignore[import-untyped]
    RateLimitExceededError,
    RequestErrorBase,
)

from bot.cards.card import CardError
from bot.channels.base import Payload, Progress, Rejected, TemporaryFailure, Uncertain
from bot.channels.bluesky import BlueskySettings
from bot.channels.bluesky_records import (
    IMAGE_BYTES,
    POST,
    Ref,
    image_embed,
    post_record,
    record_key,
    split_uri,
)
from bot.channels.bluesky_session import (
    Account,
    error_name,
    never_sent,
    rate_limited,
    said,
    session_gone,
    status,
)
from bot.channels.bluesky_state import DELETE_POINTS, POST_POINTS, SavedState, WriteBudget
from bot.channels.spec import Wiring
from bot.config.model import secret
from bot.errors import ChannelError

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[Any], Awaitable[T]]


class _Unclear(Exception):
    """A create whose fate is unknown: no answer (`answered` False), or a 5xx."""

    def __init__(self, text: str, answered: bool, code: int | None = None) -> None:
        super().__init__(text)
        self.answered = answered
        self.code = code


class BlueskyChannel:
    """Posts a payload's parts as a thread on the account of the handle and app password."""

    name: ClassVar[str] = "bluesky"
    via: ClassVar[str] = "platform"

    def __init__(self, settings: BlueskySettings, handle: str, password: str, wiring: Wiring):
        self._settings = settings
        self._clock = wiring.clock
        path = Path(settings.session_file)
        if not path.is_absolute():
            path = (wiring.home or Path.cwd()) / path
        account = f"{handle.strip().removeprefix('@')}@{settings.base_url.rstrip('/')}"
        state = SavedState(path, account)
        self._account = Account(settings, handle, password, state, wiring.clock)
        self._budget = WriteBudget(
            state,
            settings.points_per_hour,
            settings.points_per_day,
            lambda: wiring.clock().timestamp(),
        )

    @classmethod
    def from_settings(cls, settings: BlueskySettings, wiring: Wiring) -> BlueskyChannel | None:
        """The channel with its credentials from the environment; None when one is missing."""
        handle, password = secret(settings.handle_env), secret(settings.app_password_env)
        if not (handle and password):
            return None
        return cls(settings, handle, password, wiring)

    def __repr__(self) -> str:
        return f"BlueskyChannel({self._account!r})"

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Post the parts after `done`, each replying to the one before, and return every uri."""
        ids = list(done)
        total = len(payload.parts)
        thread = await self._thread_so_far(ids)
        for index in range(len(done), total):
            # Before the intent is recorded: a wait for the budget is not a post in flight.
            self._budget.check(POST_POINTS)
            await progress.before(index)
            posted = await self._post(payload, index, thread)
            self._budget.spend(POST_POINTS)
            thread = (thread[0] if thread else posted, posted)
            log.info("Bluesky: part %d of %d posted as %s", index + 1, total, posted.uri)
            ids.append(posted.uri)
            await progress.after(index, posted.uri)
        return ids

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Delete the posts, last first, so no reply is left hanging under a gap."""
        for uri in reversed(ids):
            self._budget.check(DELETE_POINTS)
            try:
                await self._guarded(f"deleting {uri}", partial(self._delete, uri=uri))
            except _Unclear as exc:
                # Deleting what is not there is a no-op for the PDS: a repeat is harmless.
                raise TemporaryFailure(f"{exc} to 'deleting {uri}'; try again") from None
            self._budget.spend(DELETE_POINTS)

    async def close(self) -> None:
        """Close the HTTP connections; a later call opens new ones (the session is kept)."""
        await self._account.close()

    # Posting ----------------------------------------------------------------------------

    async def _post(self, payload: Payload, index: int, thread: tuple[Ref, Ref] | None) -> Ref:
        text = payload.parts[index]
        action = f"post part {index + 1} of {len(payload.parts)}"
        # Alerts and staff messages have no delivery behind them, so no key of their own.
        rkey = record_key(payload.key, payload.parts, index) if payload.key else None
        embed = await self._card(payload) if index == 0 and payload.card else None
        record = post_record(text, payload.lang, self._clock(), thread, embed)
        for attempt in (1, 2):
            try:
                return await self._guarded(action, partial(self._create, record=record, rkey=rkey))
            except _Unclear as unclear:
                if rkey is None:
                    raise self._without_key(action, unclear) from None
                found = await self._find(rkey, text, action)
                if found is not None:
                    log.info("Bluesky: %s had landed despite the %s", action, unclear)
                    return found
                if unclear.answered or attempt == 2:
                    # Not there. The same key makes a later try land at most once.
                    raise TemporaryFailure(
                        f"{unclear} to '{action}', and no post under its key: "
                        "it will be tried again"
                    ) from None
                # No answer, and not there (yet): try once more now under the same key.
        raise AssertionError("unreachable")  # pragma: no cover

    async def _card(self, payload: Payload) -> dict[str, Any]:
        """The figure card uploaded, as the first post's image (with its alt text)."""
        card = payload.card
        assert card is not None
        try:
            png = card.png()
        except CardError as exc:
            raise Rejected(str(exc)) from None
        if len(png) > IMAGE_BYTES:
            raise Rejected(
                f"the card is {len(png):,} bytes; Bluesky takes images of up to {IMAGE_BYTES:,}"
            )
        try:
            blob = await self._guarded("uploading the card", partial(self._upload, data=png))
        except _Unclear as exc:  # an unused upload is forgotten by the PDS: try again later
            raise TemporaryFailure(f"{exc} to 'uploading the card'") from None
        return image_embed(blob, card.alt, card.width, card.height)

    async def _upload(self, client: Any, data: bytes) -> dict[str, Any]:
        got = await client.upload_blob(data)
        blob: dict[str, Any] = got.blob.model_dump(mode="json", by_alias=True)
        return blob

    async def _create(self, client: Any, record: dict[str, Any], rkey: str | None) -> Ref:
        data = {"repo": self._account.did, "collection": POST, "record": record}
        if rkey is not None:
            data["rkey"] = rkey
        made = await client.com.atproto.repo.create_record(data)
        return Ref(str(made.uri), str(made.cid))

    async def _delete(self, client: Any, uri: str) -> None:
        try:
            repo, collection, rkey = split_uri(uri)
        except ValueError as exc:
            raise Rejected(str(exc)) from None
        if repo != self._account.did:
            raise Rejected(f"{uri} is not a post of @{self._account.handle}")
        data = {"repo": repo, "collection": collection, "rkey": rkey}
        await client.com.atproto.repo.delete_record(data)

    async def _find(self, rkey: str, text: str, action: str) -> Ref | None:
        """The post under `rkey` if it is there (with our text), None if not; else Uncertain."""
        try:
            found = await self._guarded(f"checking {action}", partial(self._get, rkey=rkey))
        except (_Unclear, TemporaryFailure) as exc:
            raise Uncertain(
                f"no clear answer from Bluesky to '{action}', nor to the check whether it "
                f"landed ({exc}): it may have gone out"
            ) from None
        if found is None:
            return None
        ref, value = found
        if value != text:
            raise Rejected(
                f"Bluesky already holds a different post under the key of {action} ({ref.uri})"
            )
        return ref

    async def _get(self, client: Any, rkey: str) -> tuple[Ref, str] | None:
        params = {"repo": self._account.did, "collection": POST, "rkey": rkey}
        try:
            got = await client.com.atproto.repo.get_record(params)
        except RequestErrorBase as exc:
            if error_name(exc) == "RecordNotFound":
                return None
            raise
        value = got.value
        text = value.get("text") if isinstance(value, dict) else getattr(value, "text", None)
        return Ref(str(got.uri), str(got.cid)), str(text)

    async def _thread_so_far(self, ids: list[str]) -> tuple[Ref, Ref] | None:
        """The root and the last part posted before an interruption, to reply under them."""
        if not ids:
            return None
        refs = []
        for uri in (ids[0], ids[-1]):
            try:
                rkey = split_uri(uri)[2]
            except ValueError as exc:
                raise Rejected(f"cannot continue the thread: {exc}") from None
            try:
                found = await self._guarded(
                    "reading the thread so far", partial(self._get, rkey=rkey)
                )
            except _Unclear as exc:  # a read: nothing was posted, try later
                raise TemporaryFailure(f"{exc} while reading the thread so far") from None
            if found is None:
                raise Rejected(
                    f"{uri}, part of this thread, is no longer on Bluesky: "
                    "the rest cannot be posted under it"
                )
            refs.append(found[0])
        return refs[0], refs[1]

    # Errors -----------------------------------------------------------------------------

    async def _guarded(self, action: str, call: Call[T]) -> T:
        """`call(client)`, logged in; a refused session is renewed once; errors get a kind."""
        try:
            client = await self._account.client()
            try:
                return await call(client)
            except RequestErrorBase as exc:
                if not session_gone(exc):
                    raise
            client = await self._account.renew()
            return await call(client)
        except (RequestErrorBase, httpx.TransportError) as exc:
            raise self._kind(action, exc) from None

    def _kind(
        self, action: str, exc: RequestErrorBase | httpx.TransportError
    ) -> ChannelError | _Unclear:
        if never_sent(exc):
            return TemporaryFailure(f"could not reach Bluesky for '{action}': {_cause(exc)}")
        if isinstance(exc, httpx.TransportError) or status(exc) is None:
            # A timeout after sending, a connection dropped before the answer: it may be there.
            return _Unclear(f"no answer from Bluesky ({_cause(exc)})", answered=False)
        code = status(exc) or 0
        if isinstance(exc, RateLimitExceededError):
            return rate_limited(exc, f"'{action}'", self._clock())
        answer = f"Bluesky answered {code} to '{action}': {said(exc)}"
        if code >= 500 or code in (409,) or "AlreadyExists" in error_name(exc):
            # A 5xx may come after the write (and a duplicate key is a bare 500).
            return _Unclear(f"Bluesky answered {code} ({said(exc)})", answered=True, code=code)
        if session_gone(exc):
            return Rejected(f"{answer} (the session was refused again right after a new login)")
        return Rejected(answer)

    def _without_key(self, action: str, unclear: _Unclear) -> ChannelError:
        if unclear.code == 503:  # overloaded: refused before handling it
            return TemporaryFailure(f"{unclear} to '{action}'")
        return Uncertain(f"{unclear} to '{action}': it may have gone out")


def _cause(exc: BaseException) -> str:
    """The innermost error, named: what actually went wrong on the wire."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

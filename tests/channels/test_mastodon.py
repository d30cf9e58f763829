"""MastodonChannel against a fake instance on loopback: threads, never twice, every failure kind."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mastodon.errors import MastodonNetworkError
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from bot.channels.base import (
    CredentialsRefused,
    Payload,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.mastodon import MastodonSettings
from bot.channels.mastodon_api import MastodonChannel, idempotency_key
from bot.channels.mastodon_errors import MayHaveLanded, network_error
from bot.channels.spec import Wiring
from bot.errors import ChannelError
from tests.peers.mastodon_server import MastodonServer, Reply, render
from tests.peers.ports import free_port

TOKEN = "mstdn-Q7f2kZp9-Wm4rT8vy-access-token"
NOW = dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)
THREAD = (
    "Since the coup, (25931) have been arrested. 1/3",
    "Of them, (19993) are still detained: see https://aappb.org/?p=27322 2/3",
    "Assistance Association for Political Prisoners 3/3",
)
ENV = "BOT_MASTODON_TOKEN"


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    async def before(self, index: int) -> None:
        self.events.append(("before", index, ""))

    async def after(self, index: int, platform_id: str) -> None:
        self.events.append(("after", index, platform_id))


@pytest.fixture
def mastodon() -> Iterator[MastodonServer]:
    with MastodonServer(token=TOKEN) as server:
        yield server


def make(url: str, **changes: Any) -> MastodonChannel:
    values: dict[str, Any] = {"instance_url": url, "timeout_seconds": 5} | changes
    return MastodonChannel(MastodonSettings(**values), TOKEN, Wiring(clock=lambda: NOW))


def payload(*parts: str, key: str = "delivery-7", lang: str = "en") -> Payload:
    return Payload(channel="mastodon", lang=lang, parts=parts or THREAD, key=key)


def publish(
    channel: MastodonChannel, sent: Payload | None = None, done: list[str] | None = None
) -> tuple[list[str], Recorder]:
    progress = Recorder()

    async def run() -> list[str]:
        try:
            return await channel.publish(sent or payload(), list(done or []), progress)
        finally:
            await channel.close()

    return asyncio.run(run()), progress


def failure(channel: MastodonChannel, sent: Payload | None = None) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        publish(channel, sent)
    assert TOKEN not in str(caught.value)
    return caught.value


def retract(channel: MastodonChannel, ids: list[str]) -> None:
    async def run() -> None:
        try:
            await channel.retract(payload(), ids)
        finally:
            await channel.close()

    asyncio.run(run())


def posts(server: MastodonServer) -> list[tuple[str, str, str | None]]:
    return [(s.id, s.text, s.in_reply_to_id) for s in server.posted]


# A thread, and never twice -----------------------------------------------------------------


def test_a_thread_lands_in_order_each_part_replying_to_the_one_before(
    mastodon: MastodonServer,
) -> None:
    ids, progress = publish(make(mastodon.base_url, visibility="unlisted"), payload(lang="my"))

    assert posts(mastodon) == [
        (ids[0], THREAD[0], None),
        (ids[1], THREAD[1], ids[0]),
        (ids[2], THREAD[2], ids[1]),
    ]
    assert {(s.language, s.visibility) for s in mastodon.statuses} == {("my", "unlisted")}
    assert progress.events == [
        ("before", 0, ""),
        ("after", 0, ids[0]),
        ("before", 1, ""),
        ("after", 1, ids[1]),
        ("before", 2, ""),
        ("after", 2, ids[2]),
    ]
    # One key per part, each naming the delivery and the part.
    assert mastodon.keys == [idempotency_key(payload(lang="my"), i) for i in range(3)]
    assert all(
        k and k.startswith(f"spring-bot-delivery-7-{i + 1}-") for i, k in enumerate(mastodon.keys)
    )


def test_a_resumed_thread_replies_to_the_last_part_posted(mastodon: MastodonServer) -> None:
    (first,), _ = publish(make(mastodon.base_url), payload(THREAD[0]))

    ids, progress = publish(make(mastodon.base_url), done=[first])

    assert ids[0] == first and len(ids) == 3
    assert [reply for _, _, reply in posts(mastodon)] == [None, first, ids[1]]
    assert [e[:2] for e in progress.events if e[0] == "before"] == [("before", 1), ("before", 2)]


def test_sending_the_same_delivery_again_gives_back_the_same_posts(
    mastodon: MastodonServer,
) -> None:
    first, _ = publish(make(mastodon.base_url))

    # A retry after staff said "not sent" (it had gone out after all): same delivery, same keys.
    second, _ = publish(make(mastodon.base_url))

    assert second == first
    assert len(mastodon.statuses) == 3
    assert len(mastodon.keys) == 6  # asked twice, made once


def test_another_delivery_of_the_same_text_is_posted_again(mastodon: MastodonServer) -> None:
    first, _ = publish(make(mastodon.base_url), payload(key="delivery-7"))

    second, _ = publish(make(mastodon.base_url), payload(key="delivery-8"))  # `--again`

    assert set(first).isdisjoint(second)
    assert len(mastodon.posted) == 6


def test_the_key_changes_with_the_text_so_a_reused_delivery_number_is_not_a_repeat() -> None:
    before = payload("The figures of 2024. 1/1", key="delivery-3")
    after = payload("The figures of 2025. 1/1", key="delivery-3")  # a restored database

    assert idempotency_key(before, 0) != idempotency_key(after, 0)
    assert idempotency_key(Payload("mastodon", "en", ("x",)), 0) is None  # no delivery, no key


# The instance, checked before posting ------------------------------------------------------


def test_the_instance_is_asked_for_its_limit_once(mastodon: MastodonServer) -> None:
    channel = make(mastodon.base_url)

    async def run() -> None:
        try:
            await channel.publish(payload(key="delivery-1"), [], Recorder())
            await channel.publish(payload(key="delivery-2"), [], Recorder())
        finally:
            await channel.close()

    asyncio.run(run())

    assert mastodon.requests.count(("GET", "/api/v2/instance")) == 1
    assert len(mastodon.posted) == 6


def test_an_instance_allowing_fewer_characters_than_the_setting_is_refused(
    mastodon: MastodonServer,
) -> None:
    error = failure(make(mastodon.base_url, max_characters=1000))

    assert type(error) is CredentialsRefused
    assert (
        f"{mastodon.base_url} allows 500 characters per post, fewer than max_characters = 1000"
        in str(error)
    )
    assert "set max_characters to 500 or less" in str(error)
    assert "[channels.mastodon] in config/bot.toml" in str(error)
    assert mastodon.statuses == [] and mastodon.keys == []


def test_an_instance_allowing_more_takes_longer_posts() -> None:
    with MastodonServer(token=TOKEN, max_characters=5000) as big:
        long = "word " * 900 + "1/1"

        ids, _ = publish(make(big.base_url, max_characters=5000), payload(long))

    assert len(ids) == 1


def test_an_instance_older_than_mastodon_4_is_read_through_the_first_api(
    mastodon: MastodonServer,
) -> None:
    mastodon.instance_paths = ("/api/v1/instance",)

    ids, _ = publish(make(mastodon.base_url))

    assert len(ids) == 3
    assert ("GET", "/api/v1/instance") in mastodon.requests


def test_a_server_that_is_not_mastodon_is_refused_and_named(mastodon: MastodonServer) -> None:
    mastodon.instance_paths = ()

    error = failure(make(mastodon.base_url))

    assert type(error) is CredentialsRefused
    assert f"{mastodon.base_url} does not answer as a Mastodon instance" in str(error)
    assert "check instance_url in [channels.mastodon]" in str(error)
    assert ("POST", "/api/v1/statuses") not in mastodon.requests


def test_plain_http_to_another_machine_is_refused_before_any_request() -> None:
    error = failure(make("http://mastodon.example"))

    assert type(error) is CredentialsRefused
    assert "plain http" in str(error) and "access token in clear" in str(error)


def test_nothing_listening_at_the_address_is_refused_and_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    error = failure(make(url))

    assert type(error) is CredentialsRefused
    assert f"nothing answers at {url} (connection refused)" in str(error)
    assert "check instance_url" in str(error)


# Refusals ----------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_credentials_naming_the_fix(mastodon: MastodonServer) -> None:
    mastodon.revoked = True

    error = failure(make(mastodon.base_url))

    assert type(error) is CredentialsRefused
    assert str(error) == (
        f"Mastodon refused the access token for {mastodon.base_url}: make a new one and set "
        f"{ENV} (The access token was revoked)"
    )
    assert mastodon.statuses == []
    assert mastodon.requests.count(("POST", "/api/v1/statuses")) == 1  # not tried again


def test_a_refused_token_is_not_tried_again_by_the_same_channel(
    mastodon: MastodonServer,
) -> None:
    mastodon.revoked = True
    channel = make(mastodon.base_url)

    async def run() -> list[ChannelError]:
        errors = []
        try:
            for key in ("delivery-1", "delivery-2"):  # the English and the Burmese edition
                try:
                    await channel.publish(payload(key=key), [], Recorder())
                except ChannelError as exc:
                    errors.append(exc)
            try:
                await channel.retract(payload(), ["111"])
            except ChannelError as exc:
                errors.append(exc)
        finally:
            await channel.close()
        return errors

    errors = asyncio.run(run())

    assert [type(e) for e in errors] == [CredentialsRefused] * 3
    assert len({str(e) for e in errors}) == 1
    assert mastodon.requests.count(("POST", "/api/v1/statuses")) == 1
    assert not any(method == "DELETE" for method, _ in mastodon.requests)


@pytest.mark.parametrize(
    ("reply", "kind", "says"),
    [
        (
            Reply.refuse(403, "This action is outside the authorized scopes"),
            CredentialsRefused,
            "has the scopes write:statuses, write:media and read",
        ),
        (
            Reply.refuse(422, "Validation failed: Text character limit of 500 exceeded"),
            Rejected,
            "answered 422 to 'post part 1 of 3': Validation failed: Text character limit",
        ),
        (Reply.refuse(404, "Record not found"), Rejected, "replies to may have been deleted"),
        (Reply.refuse(503, "Service Unavailable"), TemporaryFailure, "answered 503"),
    ],
    ids=["403", "422", "404", "503"],
)
def test_refusals_map_to_error_kinds(
    mastodon: MastodonServer, reply: Reply, kind: type[ChannelError], says: str
) -> None:
    mastodon.queue("post", reply)

    error = failure(make(mastodon.base_url))

    assert type(error) is kind
    assert says in str(error)
    assert mastodon.statuses == []


def test_a_text_too_long_for_the_instance_is_rejected_by_it(mastodon: MastodonServer) -> None:
    error = failure(make(mastodon.base_url), payload("x" * 501))

    assert type(error) is Rejected
    assert "Text character limit of 500 exceeded" in str(error)


def test_a_rate_limit_says_when_the_window_ends_by_the_instances_clock(
    mastodon: MastodonServer,
) -> None:
    # The instance's clock is a year off ours: only its own Date and Reset count.
    theirs = NOW + dt.timedelta(days=365)
    mastodon.queue("post", Reply.rate_limited(theirs + dt.timedelta(seconds=90), now=theirs))

    error = failure(make(mastodon.base_url))

    assert isinstance(error, RateLimited)
    assert error.retry_after == pytest.approx(90)
    assert "300 requests in 5 minutes" in str(error)
    assert mastodon.statuses == []


def test_a_rate_limit_without_a_reset_waits_the_whole_window(mastodon: MastodonServer) -> None:
    mastodon.queue("post", Reply.refuse(429, "Too many requests"))

    error = failure(make(mastodon.base_url))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 300


class VirtualTime:
    """The instance's clock and the channel's steady clock, moved together by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def clock(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()


def test_the_window_of_300_requests_is_kept_without_meeting_a_429() -> None:
    time = VirtualTime()
    wiring = Wiring(clock=time.clock, monotonic=time.monotonic)
    with MastodonServer(token=TOKEN, per_window=5, clock=time.clock) as small:
        channel = MastodonChannel(MastodonSettings(instance_url=small.base_url), TOKEN, wiring)
        # The instance's limits (1), part 1 (2), part 2 (3): part 3 would leave one request,
        # fewer than a post keeps for finding itself after a lost answer (two).
        with pytest.raises(RateLimited) as caught:
            publish(channel)
        done = [s.id for s in small.statuses]
        assert len(done) == 2
        assert caught.value.retry_after == pytest.approx(300)
        assert "try again in 300 s" in str(caught.value)

        time.now += dt.timedelta(seconds=300)  # the window has turned
        ids, _ = publish(channel, done=done)

        assert ids == [s.id for s in small.statuses] and len(ids) == 3
        assert small.too_many == 0  # the instance never had to refuse


def test_a_window_the_channel_knows_nothing_of_is_not_waited_for(
    mastodon: MastodonServer,
) -> None:
    # An instance that sends no rate-limit headers: nothing to keep, nothing refused.
    ids, _ = publish(make(mastodon.base_url))

    assert len(ids) == 3


# A lost answer: look before deciding -------------------------------------------------------


@pytest.mark.parametrize(
    "lost",
    [Reply.accept_then_wait(5), Reply.accept_then_drop(), Reply(500, "oops", accept=True)],
    ids=["timeout", "dropped", "500-after-storing"],
)
def test_a_post_whose_answer_was_lost_is_found_on_the_account_and_not_posted_again(
    mastodon: MastodonServer, lost: Reply
) -> None:
    mastodon.queue("post", Reply(), lost)  # part 1 lands, part 2's answer is lost

    ids, progress = publish(make(mastodon.base_url, timeout_seconds=0.3))

    assert len(mastodon.statuses) == 3  # part 2 once
    assert ids == [s.id for s in mastodon.statuses]
    assert posts(mastodon)[2][2] == ids[1]  # part 3 follows the part that was found
    assert ("after", 1, ids[1]) in progress.events
    assert ("GET", "/api/v1/accounts/verify_credentials") in mastodon.requests


@pytest.mark.parametrize(
    "lost",
    [Reply(502, "Bad Gateway"), Reply(500, "late and failed", delay=5)],
    ids=["502", "timeout-without-post"],
)
def test_a_lost_post_that_is_not_on_the_account_is_uncertain(
    mastodon: MastodonServer, lost: Reply
) -> None:
    mastodon.queue("post", lost)

    error = failure(make(mastodon.base_url, timeout_seconds=0.3))

    assert type(error) is Uncertain
    assert "not among the account's latest posts" in str(error)
    assert "bot deliveries resolve" in str(error)
    assert mastodon.statuses == []
    assert mastodon.requests.count(("POST", "/api/v1/statuses")) == 1  # never re-sent blindly


def test_an_older_post_of_the_same_text_is_not_taken_for_the_lost_one(
    mastodon: MastodonServer,
) -> None:
    mastodon.seed(THREAD[0], created_at=NOW - dt.timedelta(days=2))  # the same text, earlier
    mastodon.queue("post", Reply(502, "Bad Gateway"))

    error = failure(make(mastodon.base_url))

    assert type(error) is Uncertain
    assert len(mastodon.statuses) == 1


def test_a_lost_post_stays_uncertain_when_the_account_cannot_be_read(
    mastodon: MastodonServer,
) -> None:
    mastodon.queue("post", Reply.accept_then_drop())
    mastodon.queue("statuses", Reply(503, "Service Unavailable"))

    error = failure(make(mastodon.base_url))

    assert type(error) is Uncertain
    assert "looking for it among the account's posts failed too" in str(error)
    assert len(mastodon.statuses) == 1  # it is there; staff decide


def test_a_lost_answer_and_its_retry_make_one_post(mastodon: MastodonServer) -> None:
    # The answer is lost and the account does not show it yet (the instance is slow); staff
    # resolve it as not sent, and the retry carries the same key: the instance gives back the
    # status it made instead of a second one.
    mastodon.queue("post", Reply(accept=True, status=504, error="Gateway Timeout"))
    mastodon.queue("statuses", Reply(503, "Service Unavailable"))
    with pytest.raises(Uncertain):
        publish(make(mastodon.base_url), payload(THREAD[0]))

    ids, _ = publish(make(mastodon.base_url), payload(THREAD[0]))

    assert [s.id for s in mastodon.statuses] == ids
    assert mastodon.keys[0] == mastodon.keys[1]


def test_the_html_of_a_status_is_compared_as_text() -> None:
    from bot.channels.mastodon_errors import same_text

    text = "Figures:\n\nsee https://aappb.org/?p=27322&lang=en — (25931) <arrested> 1/2"
    assert same_text(render(text), text)
    assert not same_text(render(text), text.replace("25931", "25932"))
    assert same_text("<p>hi <span>@bob</span></p>", "hi @bob@example.social")


# Retract -----------------------------------------------------------------------------------


def test_retract_deletes_every_part_last_first_and_a_missing_one_is_fine(
    mastodon: MastodonServer,
) -> None:
    ids, _ = publish(make(mastodon.base_url))
    mastodon.queue("delete", Reply(), Reply.refuse(404, "Record not found"))

    retract(make(mastodon.base_url), ids)

    # The middle one answered 404 (someone deleted it already): counted as deleted.
    assert [s.id for s in mastodon.posted] == [ids[1]]
    assert [p for m, p in mastodon.requests if m == "DELETE"] == [
        f"/api/v1/statuses/{i}" for i in reversed(ids)
    ]
    retract(make(mastodon.base_url), ids)  # all gone by now: still fine
    assert mastodon.requests.count(("GET", "/api/v2/instance")) == 1  # only when posting


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply.refuse(401, "The access token was revoked"), CredentialsRefused),
        (Reply.rate_limited(NOW + dt.timedelta(minutes=30), now=NOW), RateLimited),
        (Reply(accept=True, drop=True), TemporaryFailure),
    ],
    ids=["401", "429", "dropped"],
)
def test_retract_failures_map_to_kinds(
    mastodon: MastodonServer, reply: Reply, kind: type[ChannelError]
) -> None:
    ids, _ = publish(make(mastodon.base_url))
    mastodon.queue("delete", reply)

    with pytest.raises(kind):
        retract(make(mastodon.base_url), ids)


# Secrets -----------------------------------------------------------------------------------


def test_no_token_in_repr_errors_or_debug_logs(
    mastodon: MastodonServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = make(mastodon.base_url)
    publish(channel, payload(THREAD[0]))
    mastodon.revoked = True
    error = failure(make(mastodon.base_url), payload(THREAD[1], key="delivery-9"))

    shown = repr(channel) + str(error) + caplog.text
    assert "token=****" in repr(channel)
    assert TOKEN not in shown
    assert "POST /api/v1/statuses" in caplog.text  # the capture saw the requests


def test_from_settings_needs_an_instance_and_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wiring = Wiring(clock=lambda: NOW)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv(f"{ENV}_FILE", raising=False)
    with_url = MastodonSettings(instance_url="https://mastodon.social")
    assert MastodonChannel.from_settings(with_url, wiring) is None

    monkeypatch.setenv(ENV, TOKEN)
    assert MastodonChannel.from_settings(MastodonSettings(), wiring) is None
    assert MastodonChannel.from_settings(with_url, wiring) is not None

    monkeypatch.delenv(ENV)
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv(f"{ENV}_FILE", str(tmp_path / "token"))
    assert MastodonChannel.from_settings(with_url, wiring) is not None


# Failures on the way, as Mastodon.py raises them ------------------------------------------

URL = "https://mastodon.example"


def _raised_by_mastodon_py(cause: Exception) -> MastodonNetworkError:
    """MastodonNetworkError as Mastodon.py raises it: inside `except`, so with a context."""
    try:
        try:
            raise cause
        except Exception as e:
            raise MastodonNetworkError(f"Could not complete request: {e}")  # noqa: B904
    except MastodonNetworkError as made:
        return made


def _max_retries(reason: Exception) -> MaxRetryError:
    return MaxRetryError(None, f"{URL}/api/v1/statuses", reason)  # type: ignore[arg-type]


def _refused() -> NewConnectionError:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as e:
            raise NewConnectionError(None, "Failed to establish a new connection") from e  # type: ignore[arg-type]
    except NewConnectionError as made:
        return made


@pytest.mark.parametrize(
    ("cause", "posting", "kind", "says"),
    [
        (
            requests.ConnectionError(
                _max_retries(NameResolutionError("mastodon.example", None, OSError()))  # type: ignore[arg-type]
            ),
            True,
            CredentialsRefused,
            "cannot find the Mastodon instance https://mastodon.example: its name does not resolve",
        ),
        (
            requests.ConnectionError(_max_retries(_refused())),
            True,
            CredentialsRefused,
            "nothing answers at https://mastodon.example (connection refused)",
        ),
        (
            requests.ConnectTimeout(_max_retries(ConnectTimeoutError("timed out"))),
            True,
            TemporaryFailure,
            "could not reach",
        ),
        (
            requests.exceptions.SSLError(
                _max_retries(ssl.SSLCertVerificationError("certificate verify failed"))
            ),
            True,
            TemporaryFailure,
            "could not reach",
        ),
        (
            requests.ReadTimeout(ReadTimeoutError(None, URL, "read timed out")),  # type: ignore[arg-type]
            True,
            MayHaveLanded,
            "no answer from https://mastodon.example after sending",
        ),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
            True,
            MayHaveLanded,
            "after sending",
        ),
        (
            requests.ReadTimeout(ReadTimeoutError(None, URL, "read timed out")),  # type: ignore[arg-type]
            False,
            TemporaryFailure,
            "no answer from",
        ),
    ],
    ids=[
        "dns",
        "refused",
        "connect-timeout",
        "certificate",
        "read-timeout",
        "reset",
        "read-timeout-delete",
    ],
)
def test_network_failures_map_to_kinds(
    cause: Exception, posting: bool, kind: type[ChannelError], says: str
) -> None:
    error = network_error(
        URL,
        "[channels.mastodon] in config/bot.toml",
        "post part 1 of 1",
        _raised_by_mastodon_py(cause),
        posting,
    )

    assert type(error) is kind
    assert says in str(error)

"""XChannel against a fake X API on loopback: threads, resuming, every failure kind, costs."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    ProtocolError,
    ReadTimeoutError,
)

from bot.channels.base import Payload, RateLimited, Rejected, TemporaryFailure, Uncertain
from bot.channels.x import X, XSettings, has_link
from bot.channels.x_api import XChannel, _network_error
from bot.errors import ChannelError
from tests.peers.ports import free_port
from tests.peers.x_server import Reply, XServer

NOW = datetime(2024, 2, 1, 1, 0, tzinfo=UTC)
EPOCH_NOW = int(NOW.timestamp())
KEYS = {
    "consumer_key": "ck-Q7f2kZp9",
    "consumer_secret": "cs-Wm4rT8vy",
    "access_token": "at-1234-Hn5sLx",
    "access_token_secret": "as-Jd6cBq3e",
}
THREAD = ("First part 1/3", "Second part 2/3", "Third part 3/3")


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    async def before(self, index: int) -> None:
        self.events.append(("before", index, ""))

    async def after(self, index: int, platform_id: str) -> None:
        self.events.append(("after", index, platform_id))


@pytest.fixture
def x() -> Iterator[XServer]:
    with XServer() as server:
        yield server


def make(base_url: str, timeout: float = 5.0) -> XChannel:
    settings = XSettings(base_url=base_url, timeout_seconds=timeout)
    return XChannel(settings, **KEYS, clock=lambda: NOW)


def payload(*parts: str) -> Payload:
    return Payload(channel="x", lang="en", parts=parts)


def publish(
    channel: XChannel, parts: tuple[str, ...], done: list[str] | None = None
) -> tuple[list[str], Recorder]:
    progress = Recorder()

    async def run() -> list[str]:
        try:
            return await channel.publish(payload(*parts), list(done or []), progress)
        finally:
            await channel.close()

    return asyncio.run(run()), progress


def retract(channel: XChannel, ids: list[str]) -> None:
    async def run() -> None:
        try:
            await channel.retract(payload(*THREAD), ids)
        finally:
            await channel.close()

    asyncio.run(run())


def failure(channel: XChannel, parts: tuple[str, ...] = ("Hello",)) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        publish(channel, parts)
    assert not any(key in str(caught.value) for key in KEYS.values())
    return caught.value


def test_a_thread_lands_in_order_each_part_replying_to_the_one_before(x: XServer) -> None:
    ids, progress = publish(make(x.base_url), THREAD)

    assert [(p.id, p.text) for p in x.posts] == list(zip(ids, THREAD, strict=True))
    assert [p.reply_to for p in x.posts] == [None, ids[0], ids[1]]
    assert progress.events == [
        ("before", 0, ""),
        ("after", 0, ids[0]),
        ("before", 1, ""),
        ("after", 1, ids[1]),
        ("before", 2, ""),
        ("after", 2, ids[2]),
    ]


def test_a_resumed_thread_replies_to_the_last_part_posted(x: XServer) -> None:
    (first,), _ = publish(make(x.base_url), THREAD[:1])

    ids, progress = publish(make(x.base_url), THREAD, done=[first])

    assert ids == [p.id for p in x.posts]
    assert [(p.text, p.reply_to) for p in x.posts] == [
        (THREAD[0], None),
        (THREAD[1], first),
        (THREAD[2], ids[1]),
    ]
    assert [e[:2] for e in progress.events if e[0] == "before"] == [("before", 1), ("before", 2)]


def test_a_thread_that_fails_midway_stops_and_resumes_from_the_part_that_landed(
    x: XServer,
) -> None:
    x.queue("POST", Reply(), Reply.unavailable())
    progress = Recorder()
    channel = make(x.base_url)

    async def run() -> list[str]:
        try:
            return await channel.publish(payload(*THREAD), [], progress)
        finally:
            await channel.close()

    with pytest.raises(TemporaryFailure):
        asyncio.run(run())
    first = x.posts[0].id
    assert progress.events == [("before", 0, ""), ("after", 0, first), ("before", 1, "")]

    ids, _ = publish(make(x.base_url), THREAD, done=[first])
    assert [p.reply_to for p in x.posts] == [None, first, ids[1]]


@pytest.mark.parametrize(
    ("reply", "kind", "says"),
    [
        (Reply.duplicate(), Uncertain, "already posted"),
        (Reply.unauthorized(), Rejected, "check the X keys"),
        (Reply.bad_request("text is too long"), Rejected, "400 to 'post part 1 of 1': text is"),
        (Reply.problem(403, "Forbidden", "You are not permitted"), Rejected, "not permitted"),
        (Reply.unavailable(), TemporaryFailure, "503"),
        (Reply.problem(500, "Internal Error", "oops"), Uncertain, "may have gone out"),
        (Reply.problem(504, "Gateway Timeout", "late"), Uncertain, "may have gone out"),
    ],
    ids=["duplicate", "401", "400", "403", "503", "500", "504"],
)
def test_refusals_map_to_error_kinds(
    x: XServer, reply: Reply, kind: type[ChannelError], says: str
) -> None:
    x.queue("POST", reply)

    error = failure(make(x.base_url))

    assert type(error) is kind
    assert says in str(error)
    assert x.posts == []


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({}, 90),
        # The 24-hour user limit is exhausted too: its later reset wins.
        (
            {
                "x_user_limit_24hour_remaining": "0",
                "x_user_limit_24hour_reset": str(EPOCH_NOW + 7200),
            },
            7200,
        ),
        # A 24-hour limit with posts left does not matter.
        (
            {
                "x_app_limit_24hour_remaining": "5",
                "x_app_limit_24hour_reset": str(EPOCH_NOW + 7200),
            },
            90,
        ),
    ],
    ids=["15-minute", "24-hour-exhausted", "24-hour-left"],
)
def test_rate_limit_says_when_to_retry(
    x: XServer, headers: dict[str, str], retry_after: float
) -> None:
    x.queue("POST", Reply.rate_limited(EPOCH_NOW + 90, **headers))

    error = failure(make(x.base_url))

    assert isinstance(error, RateLimited)
    assert error.retry_after == pytest.approx(retry_after)
    assert x.posts == []


def test_a_reset_time_already_past_still_waits_a_second(x: XServer) -> None:
    x.queue("POST", Reply.rate_limited(EPOCH_NOW - 30))

    error = failure(make(x.base_url))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 1


def test_a_timeout_after_x_accepted_is_uncertain(x: XServer) -> None:
    x.queue("POST", Reply.accept_then_wait(1.0))

    error = failure(make(x.base_url, timeout=0.3))

    assert isinstance(error, Uncertain)
    assert len(x.posts) == 1


def test_a_connection_dropped_after_x_accepted_is_uncertain(x: XServer) -> None:
    x.queue("POST", Reply.accept_then_drop())

    error = failure(make(x.base_url))

    assert isinstance(error, Uncertain)
    assert len(x.posts) == 1


def test_a_refused_connection_is_temporary() -> None:
    error = failure(make(f"http://127.0.0.1:{free_port()}"))

    assert isinstance(error, TemporaryFailure)
    assert "could not reach X" in str(error)


URL = "http://127.0.0.1:1/2/tweets"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (
            requests.ConnectTimeout(MaxRetryError(None, URL, ConnectTimeoutError("timed out"))),  # type: ignore[arg-type]
            TemporaryFailure,
        ),
        (
            requests.ConnectionError(
                MaxRetryError(None, URL, NameResolutionError("api.x.com", None, OSError()))  # type: ignore[arg-type]
            ),
            TemporaryFailure,
        ),
        (
            requests.exceptions.SSLError(
                MaxRetryError(None, URL, ssl.SSLCertVerificationError("bad certificate"))  # type: ignore[arg-type]
            ),
            TemporaryFailure,
        ),
        (requests.ReadTimeout(ReadTimeoutError(None, URL, "read timed out")), Uncertain),  # type: ignore[arg-type]
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
            Uncertain,
        ),
        (requests.exceptions.ChunkedEncodingError("truncated answer"), Uncertain),
    ],
    ids=["connect-timeout", "dns", "certificate", "read-timeout", "reset", "truncated"],
)
def test_network_failures_are_temporary_only_before_sending(
    exc: requests.RequestException, kind: type[ChannelError]
) -> None:
    assert type(_network_error("post part 1 of 1", exc)) is kind


def test_retract_deletes_every_part_last_first_and_a_missing_one_is_fine(x: XServer) -> None:
    ids, _ = publish(make(x.base_url), THREAD)
    x.queue("DELETE", Reply(), Reply.problem(404, "Not Found Error", "gone"))

    retract(make(x.base_url), ids)

    assert x.deleted == [ids[2], ids[0]]  # the middle one answered 404: counted as deleted
    assert [path for method, path in x.requests if method == "DELETE"] == [
        f"/2/tweets/{i}" for i in reversed(ids)
    ]
    retract(make(x.base_url), ids)  # all gone by now: still fine


def test_retract_with_bad_keys_is_rejected(x: XServer) -> None:
    x.queue("DELETE", Reply.unauthorized())

    with pytest.raises(Rejected, match="check the X keys"):
        retract(make(x.base_url), ["1"])


@pytest.mark.parametrize(
    ("parts", "posts", "usd"),
    [
        (("one", "two", "three"), 3, 0.045),
        (("Report at https://aappb.org/?p=1 today", "two"), 2, 0.215),
        (("Figures on aappb.org", "see www.aappb.org/en", "plain 3.5 text"), 3, 0.415),
        (("version 1.2.3 and file.txt are not links",), 1, 0.015),
    ],
    ids=["plain", "url", "bare-domains", "no-link"],
)
def test_cost_counts_posts_and_charges_more_for_links(
    parts: tuple[str, ...], posts: int, usd: float
) -> None:
    count, price = X.cost(XSettings(), payload(*parts))

    assert count == posts
    assert price == pytest.approx(usd)


def test_has_link_follows_xs_linker() -> None:
    assert has_link("aappb.org")
    assert not has_link("no link, 42.5%")


def test_no_secret_in_repr_or_debug_logs(x: XServer, caplog: pytest.LogCaptureFixture) -> None:
    channel = make(x.base_url)
    caplog.set_level(logging.DEBUG)

    publish(channel, THREAD[:1])

    shown = repr(channel) + str(channel) + caplog.text
    assert "consumer_key=****" in repr(channel)
    assert not any(key in shown for key in KEYS.values())


ENVS = {
    "consumer_key": "BOT_X_CONSUMER_KEY",
    "consumer_secret": "BOT_X_CONSUMER_SECRET",
    "access_token": "BOT_X_ACCESS_TOKEN",
    "access_token_secret": "BOT_X_ACCESS_TOKEN_SECRET",
}


@pytest.mark.parametrize("missing", [None, *ENVS])
def test_from_settings_needs_all_four_keys(
    monkeypatch: pytest.MonkeyPatch, missing: str | None
) -> None:
    for key, env in ENVS.items():
        monkeypatch.delenv(f"{env}_FILE", raising=False)
        if key == missing:
            monkeypatch.delenv(env, raising=False)
        else:
            monkeypatch.setenv(env, KEYS[key])

    channel = XChannel.from_settings(XSettings(), clock=lambda: NOW + timedelta(0))

    assert (channel is None) == (missing is not None)

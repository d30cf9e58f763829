"""BlueskyChannel against a local PDS on loopback: threads, links, keys, every failure kind.

The PDS (tests/peers/bluesky_server.py) validates each record as the lexicon does, so a post
that lands there has a text within Bluesky's limits, facets inside it and reply refs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.base import (
    CredentialsRefused,
    Payload,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Uncertain,
)
from bot.channels.bluesky import BlueskySettings
from bot.channels.bluesky_api import BlueskyChannel
from bot.channels.bluesky_records import POST, TID_SYNTAX, record_key, split_uri
from bot.channels.spec import Wiring
from tests.peers.bluesky_server import BlueskyServer, Record, Reply
from tests.peers.ports import free_port

NOW = dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)
CREATE = "com.atproto.repo.createRecord"
GET = "com.atproto.repo.getRecord"
LOGIN = "com.atproto.server.createSession"
THREAD = ("First part 1/3", "Second part 2/3", "Third part 3/3")
BURMESE = "နိုင်ငံရေးအကျဉ်းသားများ အချက်အလက် https://aappb.org/?p=27322 တွင်ကြည့်ပါ။ ၁/၁"


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    async def before(self, index: int) -> None:
        self.events.append(("before", index, ""))

    async def after(self, index: int, platform_id: str) -> None:
        self.events.append(("after", index, platform_id))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def pds() -> Iterator[BlueskyServer]:
    with BlueskyServer() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(
    pds: BlueskyServer | str,
    home: Path,
    clock: Clock,
    password: str | None = None,
    **settings: object,
) -> BlueskyChannel:
    base_url = pds if isinstance(pds, str) else pds.base_url
    settings = {"timeout_seconds": 2, **settings}
    config = BlueskySettings(base_url=base_url, **settings)
    secret = password or (pds.password if isinstance(pds, BlueskyServer) else "abcd-efgh-ijkl-mnop")
    return BlueskyChannel(config, "@aapp.bsky.social", secret, Wiring(clock=clock, home=home))


def payload(*parts: str, lang: str = "en", key: str = "delivery-7") -> Payload:
    return Payload(channel="bluesky", lang=lang, parts=parts, key=key)


def refs(post: Record) -> tuple[tuple[str, str], tuple[str, str]]:
    """(root, parent) of a reply, each as (uri, cid)."""
    reply = post.value["reply"]
    return tuple((reply[end]["uri"], reply[end]["cid"]) for end in ("root", "parent"))  # type: ignore[return-value]


def publish(
    channel: BlueskyChannel, sent: Payload, done: list[str] | None = None
) -> tuple[list[str], Recorder]:
    progress = Recorder()

    async def run() -> list[str]:
        try:
            return await channel.publish(sent, list(done or []), progress)
        finally:
            await channel.close()

    return asyncio.run(run()), progress


def retract(channel: BlueskyChannel, ids: list[str]) -> None:
    async def run() -> None:
        try:
            await channel.retract(payload(), ids)
        finally:
            await channel.close()

    asyncio.run(run())


# A thread -----------------------------------------------------------------------------------


def test_a_thread_lands_in_order_each_part_replying_under_the_first(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    ids, progress = publish(make(pds, tmp_path, clock), payload(*THREAD))

    first, second, third = pds.posts
    assert [p.text for p in pds.posts] == list(THREAD)
    assert ids == [p.uri for p in pds.posts]
    assert "reply" not in first.value
    assert refs(second) == ((first.uri, first.cid), (first.uri, first.cid))
    assert refs(third) == ((first.uri, first.cid), (second.uri, second.cid))
    assert all(p.value["langs"] == ["en"] for p in pds.posts)
    assert all(p.value["createdAt"] == "2024-02-01T02:30:00.000Z" for p in pds.posts)
    # Record keys are the bot's own, TIDs, in the thread's order.
    keys = [p.rkey for p in pds.posts]
    assert all(TID_SYNTAX.match(k) for k in keys) and keys == sorted(keys)
    assert keys == [record_key("delivery-7", THREAD, i) for i in range(3)]
    assert progress.events == [
        ("before", 0, ""),
        ("after", 0, ids[0]),
        ("before", 1, ""),
        ("after", 1, ids[1]),
        ("before", 2, ""),
        ("after", 2, ids[2]),
    ]


def test_a_link_after_burmese_text_is_clickable_over_its_exact_bytes(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload(BURMESE, lang="my"))

    [post] = pds.posts
    assert post.value["langs"] == ["my"]
    [facet] = post.value["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert BURMESE.encode()[start:end].decode() == "https://aappb.org/?p=27322"
    assert start == len(BURMESE[: BURMESE.index("https")].encode())  # bytes, not characters
    assert start != BURMESE.index("https")
    [feature] = facet["features"]
    assert feature["$type"] == "app.bsky.richtext.facet#link"
    assert feature["uri"] == "https://aappb.org/?p=27322"


def test_a_bare_domain_is_linked_too_and_plain_text_gets_no_facets(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("More at aappb.org. 1/2", "No link here 2/2"))

    first, second = pds.posts
    [facet] = first.value["facets"]
    assert facet["features"][0]["uri"] == "https://aappb.org"
    assert "facets" not in second.value


def test_the_pds_refuses_a_post_over_300_graphemes_and_the_channel_says_why(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    with pytest.raises(Rejected, match="must not be longer than 300 graphemes"):
        publish(make(pds, tmp_path, clock), payload("a" * 301))
    assert pds.posts == []


def test_a_thread_stopped_midway_continues_under_its_first_part(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply(), Reply.server_error(503))  # part 2 refused before handling it
    channel = make(pds, tmp_path, clock)
    with pytest.raises(TemporaryFailure, match="503"):
        publish(channel, payload(*THREAD))
    assert len(pds.posts) == 1
    first = pds.posts[0]

    ids, progress = publish(make(pds, tmp_path, clock), payload(*THREAD), done=[first.uri])

    assert [p.text for p in pds.posts] == list(THREAD)
    _, second, third = pds.posts
    assert refs(second) == ((first.uri, first.cid), (first.uri, first.cid))
    assert refs(third) == ((first.uri, first.cid), (second.uri, second.cid))
    assert ids == [p.uri for p in pds.posts]
    assert progress.events[0] == ("before", 1, "")


def test_a_thread_whose_first_part_was_deleted_is_not_continued(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    ids, _ = publish(make(pds, tmp_path, clock), payload(THREAD[0]))
    retract(make(pds, tmp_path, clock), ids)

    with pytest.raises(Rejected, match="no longer on Bluesky"):
        publish(make(pds, tmp_path, clock), payload(*THREAD), done=ids)
    assert len(pds.posts) == 1


# Never twice ---------------------------------------------------------------------------------


def test_a_timeout_after_the_write_is_found_by_its_key_not_posted_again(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply.accept_then_wait(30))  # written, the answer never comes in time

    ids, _ = publish(make(pds, tmp_path, clock, timeout_seconds=0.3), payload(*THREAD))

    assert [p.text for p in pds.posts] == list(THREAD)
    assert ids == [p.uri for p in pds.posts]
    assert len(pds.calls_to(GET)) == 1  # the check found it


def test_a_timeout_before_the_write_is_checked_then_created_once(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply(504, "UpstreamTimeout", "", delay=30))  # nothing written, no answer

    ids, _ = publish(make(pds, tmp_path, clock, timeout_seconds=0.3), payload("Only part"))

    assert [p.text for p in pds.posts] == ["Only part"]
    assert len(pds.calls_to(CREATE)) == 2 and len(pds.calls_to(GET)) == 1
    assert ids == [pds.posts[0].uri]


def test_a_timeout_whose_check_gets_no_answer_either_is_uncertain(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply.accept_then_wait(30))
    pds.queue(GET, Reply(delay=30))

    with pytest.raises(Uncertain, match="it may have gone out"):
        publish(make(pds, tmp_path, clock, timeout_seconds=0.3), payload("Only part"))
    assert len(pds.posts) == 1


def test_a_500_after_the_write_is_found_by_its_key(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply.accept_then_fail(500))

    ids, _ = publish(make(pds, tmp_path, clock), payload("Only part"))

    assert len(pds.posts) == 1 and ids == [pds.posts[0].uri]


def test_a_500_without_a_write_is_retried_later_under_the_same_key(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(CREATE, Reply.server_error(500))

    with pytest.raises(TemporaryFailure, match="no post under its key"):
        publish(make(pds, tmp_path, clock), payload("Only part"))
    assert pds.posts == []
    first_key = pds.calls_to(CREATE)[0]["rkey"]

    publish(make(pds, tmp_path, clock), payload("Only part"))
    assert [p.rkey for p in pds.posts] == [first_key]


def test_sending_a_delivery_again_finds_its_posts_instead_of_duplicating_them(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    # As after `bot deliveries resolve N --not-sent` when it had in fact gone out.
    first, _ = publish(make(pds, tmp_path, clock), payload(*THREAD))
    again, _ = publish(make(pds, tmp_path, clock), payload(*THREAD))

    assert again == first
    assert len(pds.posts) == 3
    # The PDS answered each second create with a bare 500, as live hosts do.
    assert len(pds.calls_to(CREATE)) == 6


def test_another_post_under_the_key_is_refused_not_taken_for_ours(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("Someone else's words", key="other"))
    taken = pds.posts[0]
    # Plant it under the key this delivery will use.
    pds.records.pop((POST, taken.rkey))
    rkey = record_key("delivery-7", ("Our words",), 0)
    pds.records[(POST, rkey)] = type(taken)(taken.uri, taken.cid, rkey, taken.value)

    with pytest.raises(Rejected, match="different post under the key"):
        publish(make(pds, tmp_path, clock), payload("Our words"))


def test_a_payload_without_a_delivery_key_lets_the_pds_choose_and_a_500_is_uncertain(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("An alert", key=""))
    assert "rkey" not in pds.calls_to(CREATE)[0]

    pds.queue(CREATE, Reply.server_error(500))
    with pytest.raises(Uncertain, match="may have gone out"):
        publish(make(pds, tmp_path, clock), payload("Another", key=""))
    assert pds.calls_to(GET) == []  # nothing to look for without a key


# Rate limits and budget ------------------------------------------------------------------------


def test_a_429_waits_until_its_reset(pds: BlueskyServer, tmp_path: Path, clock: Clock) -> None:
    reset = int(NOW.timestamp()) + 120
    pds.queue(CREATE, Reply.rate_limited(reset=reset))

    with pytest.raises(RateLimited) as caught:
        publish(make(pds, tmp_path, clock), payload("Only part"))
    assert caught.value.retry_after == pytest.approx(120)
    assert "5000;w=3600" in str(caught.value)
    assert pds.posts == []


def test_the_write_budget_holds_posts_until_points_free_up_across_runs(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock, points_per_hour=7), payload("One 1/2", "Two 2/2"))
    clock.now = NOW + dt.timedelta(minutes=10)

    # A new run (a new channel) knows the 6 points spent: a third post would make 9.
    with pytest.raises(RateLimited, match="6 of 7 points an hour") as caught:
        publish(make(pds, tmp_path, clock, points_per_hour=7), payload("Three"))
    assert caught.value.retry_after == pytest.approx(50 * 60)
    assert len(pds.posts) == 2

    clock.now = NOW + dt.timedelta(hours=1, seconds=1)
    publish(make(pds, tmp_path, clock, points_per_hour=7), payload("Three"))
    assert len(pds.posts) == 3


# Login and session ------------------------------------------------------------------------------


def test_the_login_is_kept_and_reused_by_the_next_run(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("First"))
    saved = tmp_path / "var" / "bluesky-session.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert pds.password not in saved.read_text()

    publish(make(pds, tmp_path, clock), payload("Second"))

    assert len(pds.calls_to(LOGIN)) == 1
    assert [p.text for p in pds.posts] == ["First", "Second"]


def test_an_access_token_near_its_expiry_is_refreshed_without_a_new_login(
    tmp_path: Path, clock: Clock
) -> None:
    with BlueskyServer(access_seconds=60) as pds:  # the SDK refreshes 15 minutes ahead
        publish(make(pds, tmp_path, clock), payload("First"))
        saved = (tmp_path / "var" / "bluesky-session.json").read_text()

        publish(make(pds, tmp_path, clock), payload("Second"))

        assert len(pds.calls_to(LOGIN)) == 1
        assert len(pds.calls_to("com.atproto.server.refreshSession")) >= 1
        assert len(pds.posts) == 2
        # The refreshed session is what the next run will use.
        assert (tmp_path / "var" / "bluesky-session.json").read_text() != saved


def test_a_session_the_server_no_longer_accepts_is_replaced_by_one_login(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("First"))
    pds.expire_access()  # the server says ExpiredToken, though the token's own date is later

    publish(make(pds, tmp_path, clock), payload("Second"))

    assert len(pds.calls_to(LOGIN)) == 2
    assert [p.text for p in pds.posts] == ["First", "Second"]


def test_a_revoked_app_password_is_refused_once_with_the_fix_and_not_tried_again(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    publish(make(pds, tmp_path, clock), payload("First"))
    old = pds.password
    pds.revoke()
    channel = make(pds, tmp_path, clock, password=old)

    async def twice() -> list[BaseException]:
        errors: list[BaseException] = []
        for text in ("Second", "Third"):
            try:
                await channel.publish(payload(text), [], Recorder())
            except CredentialsRefused as exc:
                errors.append(exc)
        await channel.close()
        return errors

    errors = asyncio.run(twice())

    assert len(errors) == 2 and str(errors[0]) == str(errors[1])
    assert str(errors[0]).startswith(
        "Bluesky refused the app password for @aapp.bsky.social: make a new one and set "
        "BOT_BLUESKY_APP_PASSWORD"
    )
    # The saved session was refused, then one login with the password; nothing after that.
    assert len(pds.calls_to(LOGIN)) == 2
    assert len(pds.calls_to(CREATE)) == 2  # the first post, and the one the old session tried
    assert len(pds.posts) == 1
    assert "session" not in (tmp_path / "var" / "bluesky-session.json").read_text()


def test_the_accounts_own_password_with_two_factor_is_told_apart(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    pds.queue(LOGIN, Reply(401, "AuthFactorTokenRequired", "A sign in code has been sent"))

    with pytest.raises(CredentialsRefused, match=r"[Mm]ake an app password"):
        publish(make(pds, tmp_path, clock), payload("First"))


def test_a_refused_login_never_shows_the_password_or_tokens(
    pds: BlueskyServer, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    publish(make(pds, tmp_path, clock), payload("First"))
    token = (tmp_path / "var" / "bluesky-session.json").read_text().split(":::")[2]
    pds.revoke()
    channel = make(pds, tmp_path, clock, password="abcd-efgh-ijkl-mnop")

    with pytest.raises(CredentialsRefused) as caught:
        publish(channel, payload("Second"))

    shown = f"{caught.value} {channel!r} {caplog.text}"
    assert "abcd-efgh-ijkl-mnop" not in shown and token not in shown
    assert "POST" in caplog.text  # the HTTP log was captured, so the check is not vacuous


def test_a_server_that_cannot_be_reached_is_a_temporary_failure(
    tmp_path: Path, clock: Clock
) -> None:
    with pytest.raises(TemporaryFailure, match="could not log in to Bluesky"):
        publish(make(f"http://127.0.0.1:{free_port()}", tmp_path, clock), payload("x"))


# Retract ------------------------------------------------------------------------------------------


def test_retract_deletes_the_thread_last_first_and_a_repeat_is_harmless(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    ids, _ = publish(make(pds, tmp_path, clock), payload(*THREAD))

    retract(make(pds, tmp_path, clock), ids)
    assert pds.deleted == list(reversed(ids)) and pds.live() == []

    retract(make(pds, tmp_path, clock), ids)
    assert pds.deleted == list(reversed(ids))


def test_retract_refuses_a_post_of_another_account(
    pds: BlueskyServer, tmp_path: Path, clock: Clock
) -> None:
    ids, _ = publish(make(pds, tmp_path, clock), payload("Ours"))
    other = f"at://did:plc:someoneelse000000000000/{POST}/{split_uri(ids[0])[2]}"

    with pytest.raises(Rejected, match=re.escape("is not a post of @aapp.bsky.social")):
        retract(make(pds, tmp_path, clock), [other])
    with pytest.raises(Rejected, match="not the at:// address"):
        retract(make(pds, tmp_path, clock), ["/var/outbox/bluesky/post.txt"])
    assert pds.live() == pds.posts

"""MastodonChannel against mastodon-mock, a Mastodon API written by others (FastAPI, SQLite).

Our own peer (tests/peers/mastodon_server.py) injects the faults; this one checks that what
the channel sends and reads is what another implementation of the API speaks too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.base import CredentialsRefused, Payload
from bot.channels.mastodon import MastodonSettings
from bot.channels.mastodon_api import MastodonChannel
from bot.channels.spec import Wiring

mock_server = pytest.importorskip("mastodon_mock.testing.server")

TOKEN = "alice_token"  # the mock's seeded account
THREAD = ("Since the coup, (25931) arrested. 1/2", "Still detained: (19993). 2/2")


class _Quiet:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


@pytest.fixture(scope="module")
def instance() -> Iterator[Any]:
    with mock_server.MockServer() as server:  # about a second to start: once for the file
        yield server


def _channel(url: str, token: str = TOKEN) -> MastodonChannel:
    settings = MastodonSettings(instance_url=url, timeout_seconds=10)
    return MastodonChannel(settings, token, Wiring(clock=lambda: dt.datetime.now(dt.UTC)))


def _run(channel: MastodonChannel, work: Any) -> Any:
    async def go() -> Any:
        try:
            return await work(channel)
        finally:
            await channel.close()

    return asyncio.run(go())


def test_a_thread_posted_twice_with_the_same_keys_is_there_once_and_retracts(
    instance: Any,
) -> None:
    sent = Payload("mastodon", "my", THREAD, key="delivery-41")
    client = instance.client("alice")

    ids = _run(_channel(instance.base_url), lambda c: c.publish(sent, [], _Quiet()))
    again = _run(_channel(instance.base_url), lambda c: c.publish(sent, [], _Quiet()))

    assert again == ids
    first, second = (client.status(i) for i in ids)
    assert str(second.in_reply_to_id) == ids[0] and first.in_reply_to_id is None
    assert first.language == "my" and "(25931)" in first.content
    mine = [str(s.id) for s in client.account_statuses(client.me().id, limit=40)]
    assert sorted(i for i in mine if i in ids) == sorted(ids)

    _run(_channel(instance.base_url), lambda c: c.retract(sent, ids))

    left = [str(s.id) for s in client.account_statuses(client.me().id, limit=40)]
    assert not set(ids) & set(left)


def test_a_token_the_instance_does_not_know_is_refused_with_the_fix(instance: Any) -> None:
    sent = Payload("mastodon", "en", THREAD[:1], key="delivery-42")

    with pytest.raises(CredentialsRefused, match="make a new one and set BOT_MASTODON_TOKEN"):
        _run(_channel(instance.base_url, "not-a-token"), lambda c: c.publish(sent, [], _Quiet()))

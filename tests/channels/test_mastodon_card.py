"""The figure card on Mastodon: uploaded with its alt text, on the thread's first status, once.

Against the fake instance on loopback (tests/peers/mastodon_server.py), which keeps every
upload and which status it is attached to.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App
from bot.cards.card import Card
from bot.channels.base import Payload, Rejected, TemporaryFailure, Uncertain
from tests.channels.test_mastodon import (
    THREAD,
    TOKEN,
    Recorder,
    failure,
    make,
    publish,
)
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.peers.mastodon_server import MastodonServer, Reply
from tests.publish.helpers import delivery_rows, set_toml

ALT = "Since the coup, 1 February 2021 to 31 January 2024. 25,931 arrested; 19,993 detained."


@pytest.fixture
def mastodon() -> Iterator[MastodonServer]:
    with MastodonServer(token=TOKEN) as server:
        yield server


def a_card(home: Path, alt: str = ALT) -> Card:
    """A small real PNG, kept in its content-addressed file as the outbox keeps cards."""
    out = io.BytesIO()
    Image.new("RGB", (160, 90), (200, 30, 40)).save(out, format="PNG")
    card = Card.of(out.getvalue(), alt, 160, 90, home, "")
    card.save()
    return Card.from_json(card.to_json())  # as read back from a stored payload: from its file


def with_card(card: Card, *parts: str, key: str = "delivery-7") -> Payload:
    return Payload("mastodon", "en", parts or THREAD, key=key, card=card)


def test_the_card_goes_with_the_first_status_described_by_its_alt_text(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    card = a_card(tmp_path)

    ids, progress = publish(make(mastodon.base_url), with_card(card))

    [media] = mastodon.media
    assert media.path == "/api/v2/media"
    assert hashlib.sha256(media.data).hexdigest() == card.sha256
    assert media.mime_type == "image/png"
    assert media.description == ALT
    first, *rest = mastodon.posted
    assert first.id == ids[0] and first.media == (media,)
    assert all(status.media == () for status in rest)
    assert [s.id for s in mastodon.posted] == ids
    # Uploaded before the first status is claimed as in flight: a failed upload posts nothing.
    assert mastodon.requests.index(("POST", "/api/v2/media")) < mastodon.requests.index(
        ("POST", "/api/v1/statuses")
    )
    assert progress.events[0] == ("before", 0, "")


def test_a_resumed_thread_does_not_upload_the_card_again(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    first = mastodon.seed(THREAD[0], created_at=mastodon.clock())

    ids, _ = publish(make(mastodon.base_url), with_card(a_card(tmp_path)), done=[first.id])

    assert mastodon.media == []
    assert ids[0] == first.id and len(ids) == len(THREAD)


@pytest.mark.parametrize("alt", ["", "  ", "x" * 1501])
def test_a_card_without_usable_alt_text_never_goes_out(
    mastodon: MastodonServer, tmp_path: Path, alt: str
) -> None:
    error = failure(make(mastodon.base_url), with_card(a_card(tmp_path, alt)))

    assert isinstance(error, Rejected)
    assert f"{len(alt)} characters of alt text" in str(error) and "1 to 1500" in str(error)
    assert mastodon.media == [] and mastodon.statuses == []


def test_an_altered_card_file_is_refused_and_nothing_is_posted(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    card = a_card(tmp_path)
    Path(card.path).write_bytes(b"not the approved picture")

    error = failure(make(mastodon.base_url), with_card(card))

    assert isinstance(error, Rejected) and "was altered" in str(error)
    assert mastodon.media == [] and mastodon.statuses == []


def test_a_failed_upload_is_temporary_and_posts_nothing(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    mastodon.queue("media", Reply.refuse(503, "Service Unavailable"))
    progress = Recorder()
    channel = make(mastodon.base_url)

    async def run() -> None:
        try:
            await channel.publish(with_card(a_card(tmp_path)), [], progress)
        finally:
            await channel.close()

    with pytest.raises(TemporaryFailure, match="503"):
        asyncio.run(run())
    assert mastodon.statuses == [] and progress.events == []


def test_a_retry_after_a_refused_status_uses_the_same_upload(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    card = a_card(tmp_path)
    channel = make(mastodon.base_url)
    mastodon.queue("post", Reply.refuse(503, "Service Unavailable"))

    assert isinstance(failure(channel, with_card(card)), TemporaryFailure)
    ids, _ = publish(channel, with_card(card))

    [media] = mastodon.media  # uploaded once, attached by the retry
    assert mastodon.posted[0].id == ids[0] and mastodon.posted[0].media == (media,)
    assert len(mastodon.posted) == len(THREAD)


def test_a_lost_answer_then_a_new_process_never_posts_the_card_twice(
    mastodon: MastodonServer, tmp_path: Path
) -> None:
    card = a_card(tmp_path)
    # The first status lands but its answer is lost, and the account cannot be read to find it.
    mastodon.queue("post", Reply.accept_then_drop())
    mastodon.queue("statuses", Reply.refuse(503, "Service Unavailable"))
    assert isinstance(failure(make(mastodon.base_url), with_card(card)), Uncertain)
    assert len(mastodon.posted) == 1

    # Staff send it again from a new process: the card is uploaded anew (harmless), but the
    # status carries the same Idempotency-Key, so the instance answers with the one it made.
    ids, _ = publish(make(mastodon.base_url), with_card(card))

    assert len(mastodon.media) == 2
    first = mastodon.posted[0]
    assert ids[0] == first.id and first.media == (mastodon.media[0],)
    assert mastodon.media[1].status_id is None
    assert [s.text for s in mastodon.posted] == list(THREAD)


def test_the_anniversary_goes_out_on_mastodon_with_its_card_in_each_language(
    cli: Cli, home: Path, app: App, mastodon: MastodonServer
) -> None:
    enter_seed(app)
    set_toml(home, "channels.mastodon", instance_url=mastodon.base_url)
    cli.env.update({"BOT_MASTODON_TOKEN": TOKEN})

    result = cli("post-now", "anniversary", "--on", "2024-02-01", "--channels", "mastodon", "--yes")

    assert result.exit_code == 0, result.output
    assert {row.state for row in delivery_rows(app.engine)} == {"sent"}
    assert len(mastodon.media) == 2  # one card per language
    firsts = [s for s in mastodon.posted if s.in_reply_to_id is None]
    assert sorted(s.language or "" for s in firsts) == ["en", "my"]
    for status in firsts:
        [media] = status.media
        assert media.description and len(media.description) <= 1500
        assert media.data.startswith(b"\x89PNG")
        if status.language == "my":
            assert "၂၀၂၁" in media.description or "၂၀၂၄" in media.description
    assert all(s.media == () for s in mastodon.posted if s.in_reply_to_id is not None)

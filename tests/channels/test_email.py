"""EmailChannel against a real SMTP server on loopback (tests/peers/smtp_server.py)."""

from __future__ import annotations

import asyncio
import base64
import email
import logging
import re
import time
from collections.abc import Iterator
from email.policy import default as default_policy
from typing import Any

import aiosmtplib
import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.channels.base import Payload, Rejected, TemporaryFailure, Uncertain
from bot.channels.email import DkimSettings, EmailSettings
from bot.channels.email_message import render_for_folder
from bot.channels.smtp import EmailChannel
from bot.errors import ChannelError, ConfigError
from bot.privacy import mask_address
from tests.peers.ports import free_port
from tests.peers.smtp_server import SmtpPeer

SENDER = "news@example.org"
URL = "https://example.org/unsubscribe/"
BURMESE = "မြန်မာနိုင်ငံ လူ့အခွင့်အရေး အစီရင်ခံစာ — ၂၀၂၄ ခုနှစ် ဖေဖော်ဝါရီ"


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as running:
        yield running


class Recorder:
    """A Progress that remembers the calls, and when they came by the channel's clock."""

    def __init__(self, clock: Any = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.clock = clock

    async def before(self, index: int) -> None:
        self.calls.append(("before", index, self.clock() if self.clock else None))

    async def after(self, index: int, platform_id: str) -> None:
        self.calls.append(("after", index, platform_id))


def settings(**changes: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "sender": f"Spring Bot <{SENDER}>",
        "security": "none",
        "timeout_seconds": 5,
        "unsubscribe_mailto": "unsubscribe@example.org",
        "list_id": "Spring updates <updates.example.org>",
    }
    return EmailSettings(**{**values, **changes})


def channel(
    peer: SmtpPeer, user: str | None = None, password: str | None = None, **kw: Any
) -> EmailChannel:
    extra = {k: kw.pop(k) for k in ("dkim_key", "clock", "sleep") if k in kw}
    return EmailChannel(settings(**kw), f"127.0.0.1:{peer.port}", user, password, **extra)


def payload(to: str, subject: str = "Figures for February", **changes: Any) -> Payload:
    values: dict[str, Any] = {
        "channel": "email",
        "lang": "en",
        "parts": ("Killed: 4,512\nArrested: 26,000\n",),
        "subject": subject,
        "html": "<p>Killed: <b>4,512</b></p>",
        "target": to,
        "extra": {"unsubscribe_url": f"{URL}token-{to.partition('@')[0]}"},
    }
    return Payload(**{**values, **changes})


def send(ch: EmailChannel, *payloads: Payload, progress: Recorder | None = None) -> list[Any]:
    """Publish concurrently; each result is the list of ids or the exception."""

    async def main() -> list[Any]:
        try:
            return await asyncio.gather(
                *(ch.publish(p, [], progress or Recorder()) for p in payloads),
                return_exceptions=True,
            )
        finally:
            await ch.close()

    return asyncio.run(main())


def _bot_logs(caplog: pytest.LogCaptureFixture) -> str:
    # The server's own log (aiosmtpd's "mail.log") shows addresses; ours must not.
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))


def test_one_message_has_the_expected_shape(peer: SmtpPeer) -> None:
    progress = Recorder()
    [ids] = send(channel(peer), payload("alice@example.org"), progress=progress)

    [got] = peer.messages
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ("alice@example.org",)
    msg = got.message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in msg.iter_parts()] == ["utf-8", "utf-8"]
    text, html = (p.get_content() for p in msg.iter_parts())
    assert "Killed: 4,512" in text
    assert "<b>4,512</b>" in html
    assert msg["To"] == "alice@example.org"
    assert msg["From"] == f"Spring Bot <{SENDER}>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Content-Language"] == "en"
    assert msg["Date"].datetime is not None
    assert ids == [msg["Message-ID"]] and msg["Message-ID"].endswith("@example.org>")
    assert msg["List-Unsubscribe"] == (
        f"<{URL}token-alice>, <mailto:unsubscribe@example.org?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == "Spring updates <updates.example.org>"
    assert msg["Cc"] is None and msg["Bcc"] is None
    assert progress.calls == [("before", 0, None), ("after", 0, ids[0])]


def test_mail_without_an_unsubscribe_url_or_html(peer: SmtpPeer) -> None:
    send(channel(peer), payload("alice@example.org", extra={}, html=None))
    msg = peer.messages[0].message()
    assert msg.get_content_type() == "text/plain"
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None


def test_burmese_subject_survives_the_round_trip(peer: SmtpPeer) -> None:
    send(channel(peer), payload("alice@example.org", subject=BURMESE, lang="my"))
    got = peer.messages[0]
    assert got.headers.isascii()  # RFC 2047 on the wire
    assert got.message()["Subject"] == BURMESE
    assert got.message()["Content-Language"] == "my"


def test_fan_out_keeps_every_recipient_alone(
    peer: SmtpPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    people = [f"person{i}@example{i % 3}.org" for i in range(50)]
    results = send(channel(peer, connections=4), *(payload(p) for p in people))

    assert all(isinstance(r, list) for r in results)
    assert len({r[0] for r in results}) == 50  # unique Message-IDs
    assert sorted(m.rcpt_tos[0] for m in peer.messages) == sorted(people)
    for got in peer.messages:
        [own] = got.rcpt_tos
        msg = got.message()
        assert msg["To"] == own
        assert f"<{URL}token-{own.partition('@')[0]}>" in msg["List-Unsubscribe"]
        found = set(re.findall(rb"person\d+@example\d\.org", got.data))
        assert found == {own.encode()}
    assert peer.connections == 4  # the pool was used in full, and never exceeded
    assert not any(p in _bot_logs(caplog) for p in people)


@pytest.fixture(scope="module")
def dkim_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_dkim_signature_verifies_and_covers_one_click(
    peer: SmtpPeer, dkim_key: tuple[bytes, bytes]
) -> None:
    pem, record = dkim_key

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"s1._domainkey.example.org." else None

    ch = channel(peer, dkim=DkimSettings(domain="example.org", selector="s1"), dkim_key=pem)
    send(ch, payload("alice@example.org", subject=BURMESE, lang="my"))

    data = peer.messages[0].data
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=dns)
    signature = peer.messages[0].message()["DKIM-Signature"]
    signed = {h.strip() for h in re.search(r"h=([^;]+)", signature)[1].split(":")}  # type: ignore[index]
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to", "subject"} <= signed
    # Another recipient's unsubscribe link cannot be swapped in without breaking it.
    assert not dkim.verify(data.replace(b"token-alice", b"token-mallory"), dnsfunc=dns)


def test_dkim_configured_without_a_key_is_a_config_error(peer: SmtpPeer) -> None:
    with pytest.raises(ConfigError, match="BOT_DKIM_PRIVATE_KEY"):
        channel(peer, dkim=DkimSettings(domain="example.org", selector="s1"))
    with pytest.raises(ConfigError, match="DKIM private key"):
        channel(peer, dkim=DkimSettings(domain="example.org", selector="s1"), dkim_key=b"junk")


@pytest.mark.parametrize(
    ("script", "kind", "expected"),
    [
        (
            lambda p: p.refuse("alice@example.org", "550 5.1.1 <alice@example.org>: unknown"),
            Rejected,
            "refused the recipient a***@example.org: 550 5.1.1 <a***@example.org>: unknown",
        ),
        (lambda p: p.defer("alice@example.org"), TemporaryFailure, "451 4.3.0 Try again later"),
        (lambda p: p.drop_after_data("alice@example.org"), Uncertain, "may have been delivered"),
    ],
    ids=["550-rejected", "451-temporary", "dropped-after-data-uncertain"],
)
def test_server_answers_map_to_error_kinds(
    peer: SmtpPeer,
    caplog: pytest.LogCaptureFixture,
    script: Any,
    kind: type[ChannelError],
    expected: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    script(peer)
    progress = Recorder()
    [error] = send(channel(peer), payload("alice@example.org"), progress=progress)
    assert type(error) is kind
    assert expected in str(error)
    assert "alice@" not in str(error) and "alice@" not in _bot_logs(caplog)
    assert progress.calls == [("before", 0, None)]
    assert peer.messages == []


def test_reply_timeout_after_data_is_uncertain(peer: SmtpPeer) -> None:
    peer.data_delay = 3
    [error] = send(channel(peer, timeout_seconds=0.3), payload("alice@example.org"))
    assert isinstance(error, Uncertain)


def test_the_pool_reconnects_after_a_dropped_connection(peer: SmtpPeer) -> None:
    peer.drop_after_data("lost@example.org")
    ch = channel(peer, connections=1)

    async def main() -> list[Any]:
        results: list[Any] = []
        for to in ("bob@example.org", "lost@example.org", "carol@example.org"):
            try:
                results.append(await ch.publish(payload(to), [], Recorder()))
            except ChannelError as exc:
                results.append(exc)
        await ch.close()
        return results

    _, lost, _ = asyncio.run(main())
    assert isinstance(lost, Uncertain)
    assert [m.rcpt_tos for m in peer.dropped] == [("lost@example.org",)]
    assert [m.rcpt_tos for m in peer.messages] == [("bob@example.org",), ("carol@example.org",)]
    assert peer.connections == 2


def test_connection_refused_is_temporary() -> None:
    port = free_port()  # nothing listens there
    ch = EmailChannel(settings(port=port), "127.0.0.1", None, None)
    [error] = send(ch, payload("alice@example.org"))
    assert isinstance(error, TemporaryFailure)
    assert f"127.0.0.1:{port}" in str(error)


@pytest.mark.parametrize(
    "bad",
    [
        payload("alice@example.org\r\nBcc: eve@example.org"),
        payload("alice@example.org\n"),
        payload("alice@example.org, eve@example.org"),
        payload("Alice <alice@example.org>"),
        payload("alice@example.org>\r\nRCPT TO:<eve@example.org"),
        payload("älice@example.org"),
        payload("alice"),
        payload("alice@example.org", subject="Hi\r\nBcc: eve@example.org"),
        payload("alice@example.org", subject="Hi\nthere"),
        payload("alice@example.org", subject=""),
        payload("alice@example.org", extra={"unsubscribe_url": f"{URL}x\r\nBcc: eve@x.org"}),
        payload("alice@example.org", extra={"unsubscribe_url": f"{URL}x>, <https://evil.org"}),
        payload("alice@example.org", extra={"unsubscribe_url": "javascript:alert(1)"}),
        payload("alice@example.org", lang="en\r\nBcc: eve@example.org"),
        payload("alice@example.org", parts=()),
    ],
    ids=lambda p: repr((p.target, p.subject, p.extra, p.lang))[:60],
)
def test_injection_is_rejected_before_anything_is_sent(peer: SmtpPeer, bad: Payload) -> None:
    progress = Recorder()
    [error] = send(channel(peer), bad, progress=progress)
    assert isinstance(error, Rejected)
    assert "eve@" not in str(error) and "alice@" not in str(error)
    assert progress.calls == []
    assert peer.messages == [] and peer.connections == 0


def test_login_with_the_right_and_the_wrong_password() -> None:
    with SmtpPeer(auth=("bot", "s3cret-pass")) as peer:
        assert isinstance(
            send(channel(peer, "bot", "s3cret-pass"), payload("a@example.org"))[0], list
        )
        assert len(peer.messages) == 1

        ch = channel(peer, "bot", "wrong-pass")
        assert "wrong-pass" not in repr(ch)
        [error] = send(ch, payload("b@example.org"))
        assert isinstance(error, Rejected)
        assert "535" in str(error) and "BOT_SMTP_USERNAME/BOT_SMTP_PASSWORD" in str(error)
        assert "wrong-pass" not in str(error)

        [error] = send(channel(peer), payload("c@example.org"))  # no login at all
        assert isinstance(error, Rejected) and "530" in str(error)
        assert len(peer.messages) == 1


def test_rate_limit_spaces_sends_without_sleeping(peer: SmtpPeer) -> None:
    now = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def clock() -> float:
        return now[0]

    progress = Recorder(clock)
    ch = channel(peer, rate_per_second=2, clock=clock, sleep=fake_sleep)
    started = time.monotonic()
    send(ch, *(payload(f"p{i}@example.org") for i in range(5)), progress=progress)

    assert time.monotonic() - started < 2  # five sends at 2/s would take 2 s for real
    starts = sorted(c[2] for c in progress.calls if c[0] == "before")
    assert starts == [100.0, 100.5, 101.0, 101.5, 102.0]
    assert len(peer.messages) == 5


def test_same_content_reuses_the_encoded_body(peer: SmtpPeer) -> None:
    send(
        channel(peer),
        payload("alice@example.org"),
        payload("bob@example.org"),
        payload("carol@example.org", subject="Something else"),
    )
    got = {m.rcpt_tos[0]: m for m in peer.messages}
    alice, bob, carol = got["alice@example.org"], got["bob@example.org"], got["carol@example.org"]

    def boundary(got: object) -> str:
        return str(got.message().get_boundary())  # type: ignore[attr-defined]

    # One skeleton encoded once (same MIME boundary); each copy has only its own link in it.
    assert boundary(alice) == boundary(bob) != boundary(carol)
    assert alice.body != bob.body
    alice_text = alice.message().get_body(("plain",)).get_content()
    assert "To unsubscribe:" in alice_text and "bob" not in alice_text
    assert alice.headers != bob.headers


def test_already_sent_and_retract() -> None:
    ch = EmailChannel(settings(), "127.0.0.1:1", None, None)

    async def main() -> None:
        assert await ch.publish(payload("a@example.org"), ["<id@example.org>"], Recorder()) == [
            "<id@example.org>"
        ]
        with pytest.raises(Rejected, match="cannot be recalled"):
            await ch.retract(payload("a@example.org"), ["<id@example.org>"])
        await ch.close()

    asyncio.run(main())


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_SMTP_HOST", "BOT_SMTP_USERNAME", "BOT_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    assert EmailChannel.from_settings(settings()) is None
    monkeypatch.setenv("BOT_SMTP_HOST", "mail.example.org:2525")
    assert EmailChannel.from_settings(settings(sender="")) is None
    ch = EmailChannel.from_settings(settings())
    assert ch is not None and "'mail.example.org', port=2525" in repr(ch)
    monkeypatch.setenv("BOT_SMTP_HOST", "mail.example.org:nope")
    with pytest.raises(ConfigError, match="BOT_SMTP_HOST"):
        EmailChannel.from_settings(settings())


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alice@example.org", "a***@example.org"),
        ("a@example.org", "a***@example.org"),
        ("@example.org", "***@example.org"),
        ("no-at-sign", "***"),
        ("x@bad\r\ndomain", "x***@***"),
    ],
)
def test_mask_address(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_render_for_folder_gives_the_bytes_the_channel_would_send() -> None:
    render = render_for_folder(settings(sender=""))
    msg = email.message_from_bytes(render(payload("alice@example.org")), policy=default_policy)
    assert msg["To"] == "alice@example.org"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with pytest.raises(Rejected):
        render(payload("alice@example.org, eve@example.org"))


def test_a_connection_closed_while_idle_is_reopened_and_the_message_sent(peer: SmtpPeer) -> None:
    ch = channel(peer, connections=1)

    async def main() -> list[str]:
        await ch.publish(payload("bob@example.org"), [], Recorder())
        # The server hung up between messages, noticed only when MAIL is written.
        [client] = ch._clients
        real_mail = client.mail
        calls = 0

        async def mail_once_broken(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            return await real_mail(*args, **kwargs)

        client.mail = mail_once_broken  # type: ignore[method-assign]
        try:
            return await ch.publish(payload("carol@example.org"), [], Recorder())
        finally:
            await ch.close()

    assert asyncio.run(main())
    assert [m.rcpt_tos for m in peer.messages] == [("bob@example.org",), ("carol@example.org",)]
    assert peer.connections == 2

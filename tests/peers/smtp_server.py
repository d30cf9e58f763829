"""A real SMTP server on loopback (aiosmtpd) that records every envelope and can be scripted.

    with SmtpPeer(auth=("bot", "secret")) as peer:
        peer.refuse("gone@example.org")            # 550 at RCPT
        peer.defer("busy@example.org")             # 451 at RCPT
        peer.drop_after_data("lost@example.org")   # takes the data, closes without answering
        peer.on_message(7, lambda got: ...)        # the 7th message: keep it, act, never answer
        peer.hold_replies(from_message=101)        # DATA 101 on waits for release_replies()
        ... send to 127.0.0.1:peer.port ...
        peer.messages[0].message()                 # parsed with the default policy

The server runs in its own thread and loop (aiosmtpd's Controller), so the code under test
can use `asyncio.run` freely.
"""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from types import TracebackType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.peers.ports import free_port

HOST = "127.0.0.1"  # not "localhost": aiosmtpd would pick ::1


@dataclass(frozen=True)
class Received:
    """One envelope as the server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        """The data parsed as any mail client would."""
        return email.message_from_bytes(self.data, policy=default_policy)

    @property
    def headers(self) -> bytes:
        """The header block, up to the first blank line."""
        return self.data.partition(b"\r\n\r\n")[0]

    @property
    def body(self) -> bytes:
        """Everything after the first blank line."""
        return self.data.partition(b"\r\n\r\n")[2]


class _Controller(Controller):
    def __init__(self, peer: SmtpPeer, **kwargs: Any) -> None:
        super().__init__(_Handler(peer), hostname=HOST, port=free_port(), **kwargs)
        self._peer = peer

    def factory(self) -> SMTP:
        # Called once per accepted connection: the count of connections the client opened.
        self._peer._connection_opened()
        return SMTP(self.handler, **self.SMTP_kwargs)  # what Controller.factory does


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self._peer = peer

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Checked here rather than with auth_required=True, which warns on plain connections.
        if self._peer.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._peer._rcpt_replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        peer = self._peer
        received = Received(
            str(envelope.mail_from),
            tuple(envelope.rcpt_tos),
            bytes(envelope.original_content or b""),
        )
        with peer._lock:
            peer._data_seen += 1
            number_seen = peer._data_seen
            action = peer._on_message.pop(peer._data_seen, None)
        if action is not None:
            # Kept as delivered (the data arrived whole), then the client never hears back.
            with peer._lock:
                peer.messages.append(received)
            action(received)
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            await asyncio.Event().wait()  # cancelled by connection_lost; never answers
        if any(rcpt.lower() in peer._drop for rcpt in received.rcpt_tos):
            with peer._lock:
                peer.dropped.append(received)
            # abort(), not close(): close() would still flush the reply written after it.
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            await asyncio.Event().wait()  # cancelled by connection_lost; never answers
        if number_seen >= peer._hold_from:
            await peer._wait_for_release()
        if peer.data_delay:
            await asyncio.sleep(peer.data_delay)
        with peer._changed:
            peer.messages.append(received)
            number = len(peer.messages)
            peer._changed.notify_all()
        return f"250 2.0.0 OK queued as {number}"


def _authenticator(peer: SmtpPeer) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert peer.auth is not None
        user, password = peer.auth
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == user.encode() and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)

    return authenticate


class SmtpPeer:
    """A local SMTP server; see the module docstring."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.host = HOST
        self.messages: list[Received] = []
        self.dropped: list[Received] = []
        # Seconds to wait before answering the end of DATA (for client timeouts).
        self.data_delay = 0.0
        self._rcpt_replies: dict[str, str] = {}
        self._drop: set[str] = set()
        # Actions by message number (1, 2, … over all connections), and DATA commands seen.
        self._on_message: dict[int, Callable[[Received], None]] = {}
        self._data_seen = 0
        # Re-entrant, so a wait_for predicate may call to() while the condition holds it.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._connections = 0
        self._counting = False
        # Replies to DATA from this message number on wait until released (see hold_replies).
        self._hold_from = 2**63
        self._released = threading.Event()
        self._held = 0
        kwargs: dict[str, Any] = {"server_hostname": "peer.test"}
        if auth is not None:
            # Plain connections in tests: AUTH must be offered without TLS.
            kwargs.update(auth_require_tls=False, authenticator=_authenticator(self))
        self._controller = _Controller(self, **kwargs)
        self.port: int = self._controller.port

    # Scripting --------------------------------------------------------------------------

    def reply_to_rcpt(self, address: str, reply: str) -> None:
        """Answer RCPT TO:<address> with `reply` (e.g. "552 5.2.2 Mailbox full")."""
        self._rcpt_replies[address.lower()] = reply

    def refuse(self, address: str, reply: str = "550 5.1.1 User unknown") -> None:
        """Refuse the recipient for good."""
        self.reply_to_rcpt(address, reply)

    def defer(self, address: str, reply: str = "451 4.3.0 Try again later") -> None:
        """Refuse the recipient for now."""
        self.reply_to_rcpt(address, reply)

    def drop_after_data(self, address: str) -> None:
        """Take the whole message for `address`, then close the connection without answering."""
        self._drop.add(address.lower())

    def on_message(self, number: int, action: Callable[[Received], None]) -> None:
        """When the data of message `number` (counted over all connections) has arrived, keep
        the message, call `action(received)` (in the server's thread) and close the connection
        without answering: the client cannot tell whether it was taken (e.g. `action` kills
        the sending process, as a crash mid-DATA would)."""
        self._on_message[number] = action

    def hold_replies(self, from_message: int) -> None:
        """Keep each message from number `from_message` on (counted as for `on_message`), but
        answer it only after `release_replies()`: the client sits waiting on the wire."""
        with self._lock:
            self._released.clear()
            self._hold_from = from_message

    def release_replies(self) -> None:
        """Answer the held messages, and every one after, at once."""
        with self._lock:
            self._hold_from = 2**63
            self._released.set()

    async def _wait_for_release(self) -> None:
        with self._changed:
            self._held += 1
            self._changed.notify_all()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait)
        finally:
            with self._lock:
                self._held -= 1

    # Observation ------------------------------------------------------------------------

    @property
    def held(self) -> int:
        """Messages whose reply is being held right now."""
        with self._lock:
            return self._held

    @property
    def connections(self) -> int:
        """Connections accepted since the server started."""
        with self._lock:
            return self._connections

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        """Block until `predicate()` holds after a message arrives or is held (no polling), or
        time out."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def to(self, address: str) -> list[Received]:
        """The messages whose envelope names `address`."""
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def clear(self) -> None:
        """Forget what was received (the script stays)."""
        with self._lock:
            self.messages.clear()
            self.dropped.clear()
            self._connections = 0

    def _connection_opened(self) -> None:
        with self._lock:
            if self._counting:  # the Controller's own start-up probe is not a client
                self._connections += 1

    # Lifecycle --------------------------------------------------------------------------

    def start(self) -> SmtpPeer:
        self._controller.start()
        with self._lock:
            self._counting = True
        return self

    def stop(self) -> None:
        self.release_replies()  # a held reply would keep the server's loop from stopping
        self._controller.stop()

    def __enter__(self) -> SmtpPeer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    """A running SmtpPeer without AUTH, stopped after the test."""
    with SmtpPeer() as peer:
        yield peer

"""Email: one message per recipient over a small pool of persistent SMTP connections.

Each transaction is MAIL, RCPT, DATA step by step (not `sendmail`) so a failure can be told
apart by phase: before DATA nothing can have been delivered (TemporaryFailure), while a drop or
a timeout during DATA may come after the server took the message (Uncertain).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

import aiosmtplib

from bot.channels.base import Payload, Progress, Rejected, TemporaryFailure, Uncertain
from bot.channels.email import EmailSettings
from bot.channels.email_message import Built, DkimSigner, MessageBuilder
from bot.config.model import secret
from bot.errors import ChannelError, ConfigError
from bot.privacy import mask_address, mask_addresses_in

__all__ = ["EmailChannel", "mask_address"]

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_DROPPED = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)


class _Stale(Exception):
    """A reused connection broke before DATA: nothing was sent, so one retry is safe."""


class _RateLimit:
    """A token bucket holding one token: sends start at least 1/rate seconds apart."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    async def wait(self) -> None:
        now = self._clock()
        # The slot is reserved before any await, so concurrent callers each get their own.
        slot = now if self._next is None else max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


class EmailChannel:
    """Sends each payload to its one recipient; see the module docstring for error kinds."""

    name: ClassVar[str] = "email"
    via: ClassVar[str] = "platform"

    def __init__(
        self,
        settings: EmailSettings,
        host: str,
        username: str | None,
        password: str | None,
        dkim_key: bytes | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._settings = settings
        self._host, self._port = _split_host(host, settings.port, settings.host_env)
        signer = None
        if settings.dkim is not None:
            if not dkim_key:
                raise ConfigError(
                    f"email DKIM is configured but {settings.dkim.private_key_env} is not set"
                )
            signer = DkimSigner(settings.dkim.domain, settings.dkim.selector, dkim_key)
        self._builder = MessageBuilder(
            settings.sender, settings.list_id, settings.unsubscribe_mailto, signer
        )
        self._rate = (
            _RateLimit(settings.rate_per_second, clock or time.monotonic, sleep or asyncio.sleep)
            if settings.rate_per_second > 0
            else None
        )
        self._clients = [
            aiosmtplib.SMTP(
                hostname=self._host,
                port=self._port,
                username=username,
                password=password,
                timeout=settings.timeout_seconds,
                use_tls=settings.security == "tls",
                # True, not None: never fall back to plain text when the server omits STARTTLS.
                start_tls=settings.security == "starttls",
            )
            for _ in range(settings.connections)
        ]
        # Each publish borrows one connection, so N callers send in parallel over N sockets.
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for client in self._clients:
            self._idle.put_nowait(client)

    @classmethod
    def from_settings(cls, settings: EmailSettings) -> EmailChannel | None:
        """The channel from the environment's secrets; None when email is not set up."""
        host = secret(settings.host_env)
        if not settings.enabled or not host or not settings.sender:
            return None
        key = None
        if settings.dkim is not None:
            pem = secret(settings.dkim.private_key_env)
            # A PEM pasted into a one-line environment variable often has literal "\n".
            if pem and "\n" not in pem:
                pem = pem.replace("\\n", "\n")
            key = pem.encode("ascii") if pem else None
        return cls(
            settings, host, secret(settings.username_env), secret(settings.password_env), key
        )

    def __repr__(self) -> str:
        # Never the password, nor the user name.
        return (
            f"EmailChannel(host={self._host!r}, port={self._port}, "
            f"sender={self._builder.sender_address!r}, connections={len(self._clients)})"
        )

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Send the one message; returns its Message-ID."""
        if done:  # already sent before an interruption: an email is one part
            return list(done)
        built = self._builder.build(payload)  # Rejected before anything is sent
        if self._rate is not None:
            await self._rate.wait()
        await progress.before(0)
        client = await self._idle.get()
        try:
            await self._send(client, built)
        finally:
            self._idle.put_nowait(client)
        if log.isEnabledFor(logging.DEBUG):  # masking costs more than the check, per message
            log.debug("email %s sent to %s", built.message_id, mask_address(built.recipient))
        await progress.after(0, built.message_id)
        return [built.message_id]

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Email cannot be unsent."""
        raise Rejected("an email cannot be recalled once sent; send a correction instead")

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        for client in self._clients:
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()  # a polite goodbye; the socket is closed regardless
            client.close()

    async def _send(self, client: aiosmtplib.SMTP, built: Built) -> None:
        fresh = not client.is_connected
        if fresh:
            await self._connect(client)
        try:
            try:
                await self._transaction(client, built, fresh)
            except _Stale:
                # The server closed an idle connection under us; reconnect once and try again.
                await self._connect(client)
                await self._transaction(client, built, fresh=True)
        except ChannelError:
            raise  # mapped by _transaction, which left the connection reusable or closed
        except BaseException:
            # Cancelled or unexpected mid-transaction: the connection state is unknown.
            client.close()
            raise

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        where = f"the SMTP server {self._host}:{self._port}"
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.code < 500:
                raise TemporaryFailure(f"{where} could not log in now: {_reply(exc)}") from None
            raise Rejected(
                f"{where} refused the login ({_reply(exc)}); check "
                f"{self._settings.username_env}/{self._settings.password_env}"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"{where} refused the session: {_reply(exc)}") from None
        except (*_DROPPED, aiosmtplib.SMTPConnectError) as exc:
            # STARTTLS raises the certificate error itself, implicit TLS wraps it.
            bad = exc if isinstance(exc, ssl.SSLCertVerificationError) else exc.__cause__
            if isinstance(bad, ssl.SSLCertVerificationError):
                raise Rejected(f"{where} has a TLS certificate that fails: {bad.reason}") from None
            raise TemporaryFailure(f"cannot reach {where}: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # No AUTH offered, no STARTTLS offered: settings and server disagree.
            raise Rejected(f"{where}: {exc.message} (check the email security setting)") from None

    async def _transaction(self, client: aiosmtplib.SMTP, built: Built, fresh: bool) -> None:
        options = [f"SIZE={len(built.data)}"] if client.supports_extension("size") else []
        try:
            await client.mail(self._builder.sender_address, options=options)
            await client.rcpt(built.recipient)
        except aiosmtplib.SMTPRecipientRefused as exc:
            await _reset(client)
            masked = mask_address(built.recipient)
            raise _refusal(f"the SMTP server refused the recipient {masked}", exc) from None
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            raise _refusal("the SMTP server refused the sender", exc) from None
        except _DROPPED as exc:
            client.close()
            if not fresh:
                raise _Stale from None
            raise TemporaryFailure(f"the SMTP connection broke before DATA: {exc}") from None
        try:
            await client.data(built.data)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            masked = mask_address(built.recipient)
            raise _refusal(f"the SMTP server refused the message to {masked}", exc) from None
        except _DROPPED as exc:
            client.close()
            # The whole message may have arrived with only the answer lost: never resend blindly.
            masked = mask_address(built.recipient)
            raise Uncertain(
                f"the SMTP connection broke during DATA for {masked} ({exc}); "
                f"the message {built.message_id} may have been delivered"
            ) from None


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    # Servers echo the refused address in their text; mask it like ours.
    return f"{exc.code} {mask_addresses_in(exc.message)}"


def _refusal(what: str, exc: aiosmtplib.SMTPResponseException) -> Exception:
    if 400 <= exc.code < 500:
        return TemporaryFailure(f"{what} for now: {_reply(exc)}")
    return Rejected(f"{what}: {_reply(exc)}")


async def _reset(client: aiosmtplib.SMTP) -> None:
    # Clear the refused envelope so the connection can carry the next message.
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _split_host(value: str, default_port: int, env: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port`."""
    value = value.strip()
    host, port = value, str(default_port)
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif value.count(":") == 1:
        host, port = value.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{env} must be 'host' or 'host:port', not {value!r}")
    return host, int(port)

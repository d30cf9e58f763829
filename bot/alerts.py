"""Telling staff what needs them: held posts, missed occasions, posts that cannot be composed."""

from __future__ import annotations

import html as html_text
import logging
import re
from collections.abc import Mapping

from markupsafe import Markup, escape

from bot.channels.base import Channel, Payload
from bot.errors import ChannelError

log = logging.getLogger(__name__)


def _plain(text: str) -> str:
    """A text for an email's plain part: Telegram HTML (Markup) without its tags."""
    if isinstance(text, Markup):
        return html_text.unescape(re.sub(r"<[^>]*>", "", str(text)))
    return text


class _NoProgress:
    async def before(self, index: int) -> None:
        return None

    async def after(self, index: int, platform_id: str) -> None:
        return None


class Alerter:
    """Sends a short warning to the admin Telegram chat and/or email address."""

    def __init__(
        self, channels: Mapping[str, Channel], telegram_chat: str, email: str, org: str
    ) -> None:
        self.channels = channels
        self.telegram_chat = telegram_chat
        self.email = email
        self.org = org
        self.sent: list[str] = []

    async def alert(self, text: str, buttons: tuple[tuple[str, str], ...] = ()) -> None:
        """Send `text` to every admin contact; a failure is logged, never raised."""
        log.warning("alert: %s", text)
        self.sent.append(text)
        body = f"⚠ spring-bot ({self.org}): {text}"
        if self.telegram_chat and "telegram" in self.channels:
            payload = Payload(
                "telegram", "en", (str(escape(body)),), target=self.telegram_chat, buttons=buttons
            )
            await self._send("telegram", payload)
        if self.email and "email" in self.channels:
            subject = f"spring-bot needs attention: {text[:80]}"
            html = f"<p>{escape(body)}</p>"
            payload = Payload("email", "en", (body,), subject=subject, html=html, target=self.email)
            await self._send("email", payload)

    async def tell(
        self, subject: str, texts: list[str], buttons: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Several messages in the admin chat (buttons under the last), one email with all."""
        self.sent.append(texts[0])
        if self.telegram_chat and "telegram" in self.channels:
            # A text given as Markup is Telegram HTML already (an approval request's editions).
            parts = tuple(str(escape(text)) for text in texts)
            payload = Payload("telegram", "en", parts, target=self.telegram_chat, buttons=buttons)
            await self._send("telegram", payload)
        if self.email and "email" in self.channels:
            body = "\n\n".join(_plain(text) for text in texts)
            html = "".join(f"<pre>{escape(text)}</pre>" for text in texts)
            payload = Payload("email", "en", (body,), subject=subject, html=html, target=self.email)
            await self._send("email", payload)

    async def close(self) -> None:
        """Close the channels' connections."""
        for channel in self.channels.values():
            await channel.close()

    async def _send(self, name: str, payload: Payload) -> None:
        channel = self.channels[name]
        # Telegram's `tell`: ahead of any fan-out, and tried again after a passing failure.
        tell = getattr(channel, "tell", None)
        try:
            if tell is not None:
                await tell(payload)
            else:
                await channel.publish(payload, [], _NoProgress())
        except ChannelError as exc:
            log.error("could not alert staff by %s: %s", name, exc)

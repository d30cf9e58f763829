"""Telling staff what needs them: held posts, missed occasions, posts that cannot be composed."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from markupsafe import escape

from bot.channels.base import Channel, Payload
from bot.errors import ChannelError

log = logging.getLogger(__name__)


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

    async def alert(self, text: str) -> None:
        """Send `text` to every admin contact; a failure is logged, never raised."""
        log.warning("alert: %s", text)
        self.sent.append(text)
        body = f"⚠ spring-bot ({self.org}): {text}"
        if self.telegram_chat and "telegram" in self.channels:
            payload = Payload("telegram", "en", (str(escape(body)),), target=self.telegram_chat)
            await self._send("telegram", payload)
        if self.email and "email" in self.channels:
            subject = f"spring-bot needs attention: {text[:80]}"
            html = f"<p>{escape(body)}</p>"
            payload = Payload("email", "en", (body,), subject=subject, html=html, target=self.email)
            await self._send("email", payload)

    async def _send(self, name: str, payload: Payload) -> None:
        try:
            await self.channels[name].publish(payload, [], _NoProgress())
        except ChannelError as exc:
            log.error("could not alert staff by %s: %s", name, exc)

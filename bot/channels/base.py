"""The protocol every channel implements, and the errors that tell the outbox what happened.

The outbox decides what to do from the kind of error alone:

- `RateLimited`: surely not posted; try again after `retry_after` seconds.
- `TemporaryFailure`: surely not posted (connection refused, server said 5xx before accepting);
  try again later with backoff.
- `Rejected`: surely not posted and retrying will not help (bad request, bad credentials);
  the delivery fails with the reason.
  `RecipientGone`, a kind of Rejected, also deactivates that subscriber.
- `Uncertain`: the platform may have posted it (timeout after sending, dropped connection,
  X's "duplicate content"); never re-sent blindly, marked `unknown` for a check or for staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from bot.cards.card import Card
from bot.errors import ChannelError


class RateLimited(ChannelError):
    """The platform asked us to slow down; nothing was posted."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class TemporaryFailure(ChannelError):
    """Nothing was posted, and trying again later may work."""


class Rejected(ChannelError):
    """Nothing was posted, and trying again will not help."""


class RecipientGone(Rejected):
    """This one recipient can no longer be reached (blocked the bot, address gone)."""


class CredentialsRefused(Rejected):
    """The platform refused the bot's own login (a revoked app password or token).

    The message names the fix. The delivery fails with it and the channel does not log in
    again on its own (logins are rate-limited); the runtime tells the admins once per run.
    """


class Uncertain(ChannelError):
    """The post may or may not have reached the platform."""


@dataclass(frozen=True)
class Payload:
    """Everything one delivery sends, stored with the delivery so a restart sends the same."""

    channel: str
    lang: str
    parts: tuple[str, ...]
    subject: str | None = None
    html: str | None = None
    # Who receives it: a chat for Telegram, an address for email; empty for an X account.
    target: str = ""
    # Per-recipient extras (email: unsubscribe URL); never logged.
    extra: dict[str, str] = field(default_factory=dict)
    # Telegram inline buttons (label, callback data) under the last part: staff messages only,
    # never stored with a delivery.
    buttons: tuple[tuple[str, str], ...] = ()
    # The delivery's identity ("delivery-31"), the same on every attempt and after a restart:
    # the sender fills it in; a platform that takes an idempotency or record key derives its
    # own from it and the part's index. Empty outside the outbox (alerts); never stored with
    # an edition, which many deliveries share.
    key: str = ""
    # The figure card to attach to the first part, with its alt text: `card.png()` gives the
    # bytes (read from its file and checked, never drawn again), `card.alt` the text. Stored
    # as a reference; a payload stored without one loads with None.
    card: Card | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data: dict[str, Any] = {
            "channel": self.channel,
            "lang": self.lang,
            "parts": list(self.parts),
            "subject": self.subject,
            "html": self.html,
            "target": self.target,
            "extra": dict(self.extra),
        }
        if self.card is not None:
            data["card"] = self.card.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Payload:
        """The payload stored by `to_json`."""
        return cls(
            channel=data["channel"],
            lang=data["lang"],
            parts=tuple(data["parts"]),
            subject=data.get("subject"),
            html=data.get("html"),
            target=data.get("target", ""),
            extra=dict(data.get("extra") or {}),
            card=Card.from_json(data["card"]) if data.get("card") else None,
        )


class Progress(Protocol):
    """Lets a channel record each part before and after it is sent, so a crash can resume."""

    async def before(self, index: int) -> None:
        """Part `index` is about to be sent."""

    async def after(self, index: int, platform_id: str) -> None:
        """Part `index` landed with this id."""


class Channel(Protocol):
    """A platform the bot publishes to (or the outbox folder standing in for one)."""

    name: ClassVar[str]
    # "platform" for the real thing, "folder" for the outbox folder: a delivery is sent only
    # by a channel of the kind it was decided for.
    via: ClassVar[str]

    async def publish(self, payload: Payload, done: list[str], progress: Progress) -> list[str]:
        """Send the parts after the first `len(done)` (already posted) and return every id.

        `done` holds the ids of parts posted before an interruption: a thread continues from
        the last posted part (X replies to `done[-1]`). Call `progress.before(i)` just before
        sending part i and `progress.after(i, id)` as soon as it has landed.
        """
        ...

    async def retract(self, payload: Payload, ids: list[str]) -> None:
        """Delete the posted parts where the platform allows it; raise Rejected where not."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

"""What an entry point asks the publisher, and what the publisher decided."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.compose.drafts import Draft, Edition, Failure

if TYPE_CHECKING:
    from bot.approvals.store import Request
    from bot.compose.context import Occasion
    from bot.compose.messages import Message
    from bot.publish.outbox import Created

# Who asks: the calendar skips an occasion already published; people finish what is unfinished.
Source = Literal["schedule", "cli", "telegram"]
Verdict = Literal[
    "ready",  # may be published now
    "published",  # recorded as a publication (see `created`)
    "already",  # the calendar's occasion was published before: nothing to do
    "no-channel",  # none of the channels asked for is switched on
    "paused",
    "uncomposable",  # an edition cannot be rendered or fitted (see `failures`)
    "changed",  # composed again on Confirm, it differs from what the person was shown
    "stale",  # the figures are older than the message allows
    "awaiting",  # needs approvals it does not have yet
    "rejected",  # the approvers rejected it
]


@dataclass(frozen=True)
class Ask:
    """Publish `message` now: for an occasion, in some languages, to some channels."""

    message: str
    source: Source
    by: str
    # The calendar's occasion (with its key); else the occasion of the date `on` (or today).
    occasion: Occasion | None = None
    on: dt.date | None = None
    langs: list[str] | None = None
    # None: the message's own channels (message.toml); the calendar names its own.
    channels: list[str] | None = None
    # A deliberate second publication of the same occasion (`--again`).
    again: bool = False
    # When the occasion is due (approval requests say so); now, for a post by hand.
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The publisher's answer: what would go out, where, and whether it may go now."""

    ask: Ask
    message: Message
    occasion: Occasion
    # The channels it goes to, each "platform" or "folder" (the outbox folder stands in).
    via: dict[str, str]
    # Channels asked for but left out, and why (switched off, over its budget…).
    left_out: dict[str, str]
    # Channels that write to the outbox folder instead of their platform, and why.
    folder: dict[str, str]
    editions: tuple[Edition, ...]
    newest: dt.date | None
    verdict: Verdict
    reason: str = ""
    approved_by: str = ""
    request: Request | None = None
    created: Created | None = None
    # Admin alert buttons (an approval request's), for the calendar's record.
    buttons: tuple[tuple[str, str], ...] = field(default=())
    # An approval request was made (and sent to the admins) by this decision.
    asked: bool = False

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels it goes to, in the order asked."""
        return tuple(self.via)

    @property
    def drafts(self) -> list[Draft]:
        """The editions that can be sent."""
        return [e for e in self.editions if isinstance(e, Draft)]

    @property
    def failures(self) -> list[Failure]:
        """The editions that cannot be sent as shown."""
        return [e for e in self.editions if isinstance(e, Failure)]

    @property
    def notes(self) -> tuple[str, ...]:
        """What staff should read before the editions: channels left out, then the folder."""
        return tuple(
            f"{n}: {why}" for notes in (self.left_out, self.folder) for n, why in notes.items()
        )

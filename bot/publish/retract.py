"""Withdrawing a publication: delete what the platforms allow, record it, say what remains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot.channels import registry
from bot.channels.base import Channel, Payload
from bot.errors import ChannelError
from bot.privacy import mask_target
from bot.publish.history import Detail
from bot.store.schema import deliveries, publications


@dataclass
class Retraction:
    """What a retraction did, line by line."""

    lines: list[str] = field(default_factory=list)
    emails: int = 0
    failed: int = 0


async def retract_publication(
    engine: sa.Engine,
    found: Detail,
    channels: Mapping[str, Channel],
    clock: Callable[[], dt.datetime],
    reason: str,
) -> Retraction:
    """Delete every sent post of the publication on channels that allow it."""
    result = Retraction()
    payloads = {e.id: e.payload for e in found.editions}
    try:
        for d in found.deliveries:
            shown = f"{d.channel} · {d.lang} · {mask_target(d.channel, d.target)}"
            if not d.ids or d.retracted_at:
                continue
            if not registry.spec(d.channel).can_retract:
                result.emails += 1
                continue
            channel = channels[d.channel]
            data = dict(payloads[d.edition_id])
            data["target"] = d.target
            try:
                await channel.retract(Payload.from_json(data), d.ids)
            except ChannelError as exc:
                result.failed += 1
                result.lines.append(f"✗ {shown} · not deleted: {exc}")
                continue
            with engine.begin() as conn:
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id == d.id)
                    .values(retracted_at=clock(), updated_at=clock())
                )
            result.lines.append(f"✓ {shown} · deleted {len(d.ids)} post(s)")
    finally:
        for channel in channels.values():
            await channel.close()
    if not result.failed:
        # Marked retracted only when every post that could be deleted was deleted.
        with engine.begin() as conn:
            conn.execute(
                publications.update()
                .where(publications.c.id == found.id)
                .values(retracted_at=clock(), retract_reason=reason or None)
            )
    return result

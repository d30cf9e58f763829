"""X bills every post, and a post with a link costs more: refuse what would exceed the budget."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.channels.base import Payload
from bot.channels.x import XSettings
from bot.store.schema import deliveries, editions

Cost = Callable[[Payload], tuple[int, float]]


class Budget:
    """Posts and spend per local day on one channel, counted from what the outbox sent."""

    def __init__(
        self, engine: sa.Engine, channel: str, settings: XSettings, cost: Cost, tz: ZoneInfo
    ) -> None:
        self.engine, self.channel, self.settings, self.cost, self.tz = (
            engine,
            channel,
            settings,
            cost,
            tz,
        )

    def used_today(self, now: dt.datetime) -> tuple[int, float]:
        """Posts made and money spent since local midnight."""
        local = now.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        query = (
            sa.select(deliveries.c.ids, editions.c.payload)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .where(
                deliveries.c.channel == self.channel,
                # The day it was posted, not the day it was last touched: a post retracted or
                # resolved today was paid for on the day it went out. A thread stopped midway
                # has no sent_at; its last update is when its last part went out.
                sa.func.coalesce(deliveries.c.sent_at, deliveries.c.updated_at) >= midnight,
                # Parts already out count too, even if the rest of the thread failed.
                deliveries.c.ids != "[]",
            )
        )
        posts, spend = 0, 0.0
        with self.engine.connect() as conn:
            for ids_json, payload_json in conn.execute(query):
                sent = len(json.loads(ids_json))
                payload = Payload.from_json(json.loads(payload_json))
                # The first part carried the card, whose alt text was paid for with it.
                done = Payload(
                    payload.channel, payload.lang, payload.parts[:sent], card=payload.card
                )
                count, price = self.cost(done)
                posts, spend = posts + count, spend + price
        return posts, spend

    def refusal(self, payload: Payload, now: dt.datetime) -> str | None:
        """Why sending `payload` now would break the budget, or None."""
        posts, spend = self.used_today(now)
        need_posts, need_spend = self.cost(payload)
        limit_posts = self.settings.posts_per_day
        limit_spend = self.settings.spend_per_day_usd
        if posts + need_posts > limit_posts:
            return (
                f"refused by the X budget: {limit_posts} posts a day, {posts} made today, this "
                f"needs {need_posts}. Raise [channels.x] posts_per_day or post tomorrow"
            )
        if spend + need_spend > limit_spend + 1e-9:
            return (
                f"refused by the X budget: ${limit_spend:.2f} a day, ${spend:.3f} spent today, "
                f"this costs ${need_spend:.3f} (posts with a link cost more). Raise "
                "[channels.x] spend_per_day_usd or post tomorrow"
            )
        return None

"""X's daily budget counts each post on the day it went out."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from bot.app import App
from bot.publish.budget import Budget
from bot.store.schema import deliveries
from tests.compose.helpers import enter_seed
from tests.conftest import FIXED_NOW
from tests.publish.helpers import publish_occasion

YESTERDAY = FIXED_NOW - dt.timedelta(days=1)


def _budget(app: App) -> Budget:
    settings = app.settings.file.channels.x
    return Budget(app.engine, "x", settings, lambda p: (len(p.parts), 0.0), app.settings.tz)


def _mark(app: App, *, sent_at: dt.datetime | None, updated_at: dt.datetime, parts: int) -> None:
    with app.engine.begin() as conn:
        conn.execute(
            deliveries.update().values(
                state="sent" if sent_at else "failed",
                ids=json.dumps([str(n) for n in range(parts)]),
                sent_at=sent_at,
                updated_at=updated_at,
            )
        )


def test_a_post_retracted_today_counts_on_the_day_it_went_out(app: App) -> None:
    enter_seed(app)
    publish_occasion(app, "daily-briefing", "2024-01-31", ["x"], langs=["en"])
    budget = _budget(app)
    _mark(app, sent_at=YESTERDAY, updated_at=FIXED_NOW, parts=1)
    assert budget.used_today(FIXED_NOW)[0] == 0
    assert budget.used_today(YESTERDAY)[0] == 1
    _mark(app, sent_at=FIXED_NOW, updated_at=FIXED_NOW, parts=1)
    assert budget.used_today(FIXED_NOW)[0] == 1


def test_a_thread_stopped_midway_counts_the_parts_that_went_out(app: App) -> None:
    enter_seed(app)
    publish_occasion(app, "anniversary", "2024-02-01", ["x"], langs=["en"])  # 3 posts
    _mark(app, sent_at=None, updated_at=FIXED_NOW, parts=2)
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.state)).scalar() == "failed"
    assert _budget(app).used_today(FIXED_NOW)[0] == 2

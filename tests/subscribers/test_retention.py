"""Retention: who left is deleted after its period, old delivery targets blanked, counts kept."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.app import App
from bot.compose.context import Occasion
from bot.compose.drafts import Draft
from bot.config.settings import Retention
from bot.publish.outbox import publish
from bot.store.schema import deliveries, subscriber_stats
from bot.subscribers import store
from bot.subscribers.retention import purge, purge_daily
from tests.conftest import FIXED_NOW, Cli

RULES = Retention(unsubscribed_days=30, delivery_targets_days=90)
DAY = dt.timedelta(days=1)


def _two_people_sent_one_post(app: App) -> tuple[store.Subscriber, store.Subscriber]:
    stays, leaves = (
        store.add(
            app.engine, "email", f"{who}@example.org", "en", store.TOPICS, FIXED_NOW, confirmed=True
        )[0]
        for who in ("stays", "leaves")
    )
    draft = Draft("daily-briefing", "email", "en", ("text",), (4,), 280, ())
    publish(
        app.engine,
        Occasion("daily-briefing", dt.date(2024, 2, 1)),
        [draft],
        [],
        now=FIXED_NOW,
        created_by="t",
    )
    with app.engine.begin() as conn:
        conn.execute(deliveries.update().values(state="sent", sent_at=FIXED_NOW))
    return stays, leaves


def _targets(app: App) -> dict[int | None, str]:
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.subscriber_id, deliveries.c.target))
        return {row.subscriber_id: row.target for row in rows}


def _count(app: App, event: str) -> int:
    with app.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.sum(subscriber_stats.c.count)).where(
                subscriber_stats.c.event == event
            )
        ).scalar()
    return int(found or 0)


def test_who_left_is_deleted_after_the_period_and_the_counts_stay(app: App) -> None:
    stays, leaves = _two_people_sent_one_post(app)
    assert store.unsubscribe(app.engine, leaves.id, FIXED_NOW)

    early = purge(app.engine, RULES, FIXED_NOW + 29 * DAY)
    assert early.people == 0 and store.by_id(app.engine, leaves.id) is not None

    late = purge(app.engine, RULES, FIXED_NOW + 31 * DAY)

    assert late.people == 1 and store.by_id(app.engine, leaves.id) is None
    assert store.by_id(app.engine, stays.id) is not None
    targets = _targets(app)
    assert targets[stays.id] == "stays@example.org"
    assert [t for s, t in targets.items() if s is None] == [targets[None]]
    assert targets[None].startswith("(erased)#")
    assert _count(app, "subscribed") == 2 and _count(app, "unsubscribed") == 1
    assert _count(app, "purged") == 1


def test_delivery_targets_are_blanked_after_their_period(app: App) -> None:
    stays, leaves = _two_people_sent_one_post(app)

    assert purge(app.engine, RULES, FIXED_NOW + 89 * DAY).targets == 0
    assert set(_targets(app).values()) == {"stays@example.org", "leaves@example.org"}

    assert purge(app.engine, RULES, FIXED_NOW + 91 * DAY).targets == 2

    targets = _targets(app)
    assert all(t.startswith("(erased)#") for t in targets.values())
    assert set(targets) == {stays.id, leaves.id}  # still counted as a fan-out's deliveries
    assert len(set(targets.values())) == 2  # unique per delivery, as the table requires


def test_bot_run_applies_it_once_a_day(app: App) -> None:
    _, leaves = _two_people_sent_one_post(app)
    store.unsubscribe(app.engine, leaves.id, FIXED_NOW)
    assert purge_daily(app.engine, RULES, FIXED_NOW) is not None
    later = FIXED_NOW + 40 * DAY
    first = purge_daily(app.engine, RULES, later)
    assert first is not None and first.people == 1
    assert purge_daily(app.engine, RULES, later + dt.timedelta(hours=1)) is None


def test_erasing_two_people_of_one_post_keeps_each_delivery(app: App, cli: Cli) -> None:
    _two_people_sent_one_post(app)
    for who in ("stays", "leaves"):
        result = cli("subscribers", "delete", f"{who}@example.org", "--yes")
        assert result.exit_code == 0, result.output
    with app.engine.connect() as conn:
        targets = list(conn.execute(sa.select(deliveries.c.target)).scalars())
    assert len(targets) == 2 and all(t.startswith("(erased)#") for t in targets)


def test_purge_command_says_what_it_did(app: App, cli: Cli) -> None:
    _, leaves = _two_people_sent_one_post(app)
    store.unsubscribe(app.engine, leaves.id, FIXED_NOW - 60 * DAY)
    result = cli("subscribers", "purge")
    assert result.exit_code == 0, result.output
    assert "Deleted 1 person(s) who left" in result.output

"""Confirm / Cancel questions kept in the database: bound to a person and a chat, used once,
valid until they expire, whatever restarts in between."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.app import App
from bot.figures.entries import Entry
from bot.store.schema import staff_confirmations
from bot.telegram_bot.staff_confirm import Confirmations, figures_action, figures_record
from bot.telegram_bot.staff_figures import FiguresAction

NOW = dt.datetime(2024, 2, 1, 3, 0, tzinfo=dt.UTC)
ACTION = {"message": "publish everything", "langs": None}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def data_of(markup: object) -> tuple[str, str]:
    row = markup.inline_keyboard[0]  # type: ignore[attr-defined]
    return str(row[0].callback_data), str(row[1].callback_data)


def test_button_data_is_short_and_carries_only_a_token(app: App) -> None:
    pending = Confirmations(app.engine, Clock())

    confirm, cancel = data_of(pending.ask("post", ACTION, user_id=1, chat_id=1))

    assert all(len(d.encode()) < 64 and "publish" not in d for d in (confirm, cancel))
    token = confirm.split(":")[1]
    with app.engine.connect() as conn:
        rows = [tuple(map(str, row)) for row in conn.execute(sa.select(staff_confirmations))]
    assert len(rows) == 1 and not any(token in value for value in rows[0])  # a hash only


def test_only_the_person_who_asked_in_that_chat_decides_and_only_once(app: App) -> None:
    pending = Confirmations(app.engine, Clock())
    confirm, cancel = data_of(pending.ask("post", ACTION, user_id=1, chat_id=10))

    assert pending.decide(confirm, user_id=2, chat_id=10).refusal == "not_yours"
    assert pending.decide(confirm, user_id=1, chat_id=11).refusal == "not_yours"
    decided = pending.decide(confirm, user_id=1, chat_id=10)
    assert (decided.confirmed, decided.kind, decided.action) == (True, "post", ACTION)
    assert pending.decide(confirm, user_id=1, chat_id=10).refusal == "unknown"
    assert pending.decide(cancel, user_id=1, chat_id=10).refusal == "unknown"
    assert len(pending) == 0


def test_a_forged_or_malformed_press_finds_nothing(app: App) -> None:
    pending = Confirmations(app.engine, Clock())
    pending.ask("post", ACTION, user_id=1, chat_id=10)

    for data in ("adm:Zz9Qq8Ww7Ee6Rr5T:yes", "adm:short:yes", "adm:' OR 1=1 --:yes", ""):
        assert pending.decide(data, user_id=1, chat_id=10).refusal == "unknown"
    assert len(pending) == 1


def test_a_question_survives_a_restart_until_it_expires(app: App) -> None:
    clock = Clock()
    confirm, _ = data_of(Confirmations(app.engine, clock).ask("post", ACTION, 1, 10))
    late, _ = data_of(Confirmations(app.engine, clock).ask("post", ACTION, 1, 10))

    clock.now = NOW + dt.timedelta(minutes=9)
    # A new process: nothing in memory, the same database.
    again = Confirmations(app.engine, clock)
    decided = again.decide(confirm, user_id=1, chat_id=10)
    assert (decided.confirmed, decided.action) == (True, ACTION)

    clock.now = NOW + dt.timedelta(minutes=10, seconds=1)
    assert Confirmations(app.engine, clock).decide(late, 1, 10).refusal == "expired"
    assert Confirmations(app.engine, clock).decide(late, 1, 10).refusal == "unknown"


def test_expired_questions_are_cleared_when_the_next_is_asked(app: App) -> None:
    clock = Clock()
    pending = Confirmations(app.engine, clock)
    pending.ask("post", ACTION, 1, 10)
    clock.now = NOW + dt.timedelta(minutes=11)

    pending.ask("figures", ACTION, 1, 10)

    assert len(pending) == 1


def test_a_figures_action_comes_back_as_it_was_asked(app: App) -> None:
    action = FiguresAction(
        (
            Entry("killed", 4474, dt.date(2024, 1, 31), None, "https://aappb.org/?p=1", "a"),
            Entry(
                "arrested",
                1988,
                dt.date(2024, 1, 31),
                dt.date(2023, 2, 1),
                "https://aappb.org/?p=1",
                "b",
            ),
        ),
        correction="typo in the last report",
    )
    pending = Confirmations(app.engine, Clock())
    confirm, _ = data_of(pending.ask("figures", figures_record(action), 1, 10))

    decided = Confirmations(app.engine, Clock()).decide(confirm, 1, 10)

    assert decided.kind == "figures" and decided.action is not None
    assert figures_action(decided.action) == action

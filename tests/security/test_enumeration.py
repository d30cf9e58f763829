"""Who is subscribed must not leak through the sign-up form, against `bot web`.

Before: an active address was answered about twice as fast as a new one (one SELECT against a
write), and one request classified 68 of 80 addresses correctly. Now the page queues every
request the same way and `bot run` decides; the answer, the work (the same SQL statements)
and the time are the same for a new, pending, active or unsubscribed address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.app import App
from bot.subscribers import store
from tests.conftest import FIXED_NOW
from tests.publish.helpers import set_toml
from tests.security.conftest import BotWeb, Visitor
from tests.web.helpers import SIGNUP, Web

PER_KIND = 40
KINDS = ("new", "pending", "active", "unsubscribed")
# The share of requests one threshold on the time may classify correctly: 0.5 is a coin,
# 1.0 tells them apart every time. Two samples from one distribution of 40 each pass 0.75 by
# chance far less than once in a thousand runs; the old difference (2×) gave 0.85.
MOST_SEPARABLE = 0.75


def _people(bot: App, count: int) -> dict[str, list[str]]:
    """`count` addresses of each kind, the stored ones stored."""
    addresses = {kind: [f"{kind}{n}@example.org" for n in range(count)] for kind in KINDS}
    for kind in ("pending", "active", "unsubscribed"):
        for address in addresses[kind]:
            person, _ = store.add(
                bot.engine,
                "email",
                address,
                "en",
                ("statements",),
                FIXED_NOW,
                confirmed=kind != "pending",
            )
            if kind == "unsubscribed":
                store.unsubscribe(bot.engine, person.id, FIXED_NOW)
    return addresses


def separable(one: list[float], other: list[float]) -> float:
    """The best accuracy of any threshold on the times at telling `one` from `other`."""
    labelled = sorted([(t, 0) for t in one] + [(t, 1) for t in other])
    total = len(labelled)
    best = 0.0
    below_one = 0
    below_other = 0
    for index in range(total + 1):
        # Below the threshold "one", above it "other" (and the other way round).
        # A threshold falls between two different times, never inside a tie.
        between = index in (0, total) or labelled[index - 1][0] != labelled[index][0]
        right = below_one + (len(other) - below_other)
        if between:
            best = max(best, right / total, 1 - right / total)
        if index < total:
            if labelled[index][1] == 0:
                below_one += 1
            else:
                below_other += 1
    return best


def test_separable_tells_a_real_difference() -> None:
    assert separable([1.0] * 10, [2.0] * 10) == 1.0
    assert separable([1.0, 2.0] * 10, [2.0, 1.0] * 10) == 0.5


def test_the_answer_and_the_time_are_the_same_for_every_kind_of_address(
    bot: App, home: Path, start_web: Callable[..., BotWeb]
) -> None:
    set_toml(
        home,
        "web.limits",
        per_client_per_hour=10_000,
        per_domain_per_hour=10_000,
        mails_per_hour=10_000,
    )
    addresses = _people(bot, PER_KIND + 5)
    web = start_web()
    visitor = Visitor(web)
    token = visitor.token()
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    answers: dict[str, set[tuple[int, str]]] = {kind: set() for kind in KINDS}
    for n in range(PER_KIND + 5):
        for kind in KINDS:  # interleaved, so a change in the machine's load hits every kind
            form = {**SIGNUP, "email": addresses[kind][n], "form_token": token}
            started = time.perf_counter()
            response = visitor.post("/subscribe", form)
            took = time.perf_counter() - started
            if n >= 5:  # the first requests warm the process up
                times[kind].append(took)
                answers[kind].add((response.status_code, response.text))
    assert all(len(found) == 1 for found in answers.values()), "answers differ within a kind"
    assert len({next(iter(found)) for found in answers.values()}) == 1, "answers differ"
    for kind in KINDS[1:]:
        assert separable(times["new"], times[kind]) < MOST_SEPARABLE, (kind, times)


def test_the_page_does_the_same_work_for_every_kind_of_address(app: App) -> None:
    addresses = _people(app, 1)
    web = Web(app)
    done: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        done.append(statement)

    work: dict[str, list[str]] = {}
    for n, kind in enumerate(KINDS):
        token = web.form_token()
        done.clear()
        sa.event.listen(app.engine, "before_cursor_execute", record)
        try:
            response = web.post(
                "/subscribe",
                {**SIGNUP, "email": addresses[kind][0], "form_token": token},
                ip=f"192.0.2.{n}",
            )
        finally:
            sa.event.remove(app.engine, "before_cursor_execute", record)
        assert response.status_code == 200
        work[kind] = list(done)
    assert work["new"] and all(work[kind] == work["new"] for kind in KINDS), work
    # The subscribers are not even looked at.
    assert not any("subscribers" in statement for statement in work["new"])

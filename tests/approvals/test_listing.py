"""`bot approvals ID` shows each vote as a person would write it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import App
from bot.approvals import gate
from bot.compose.drafts import Draft, occasion_for
from tests.approvals.helpers import KEY, enter_figures, require_approval
from tests.conftest import Cli

DUE = dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def gated(home: Path, app: App) -> App:
    require_approval(home)
    app.__dict__.pop("composer", None)
    return app


def test_each_vote_reads_approved_or_rejected(gated: App, cli: Cli) -> None:
    enter_figures(gated, by="Kyaw")
    message = gated.composer.message("anniversary")
    occasion = occasion_for(gated.settings, message, dt.date(2024, 2, 1), gated.today())
    editions = gated.composer.compose(message, occasion, None, ["x", "telegram", "email"])
    request, _ = gate.ensure(
        gated.engine,
        key=KEY,
        message="anniversary",
        needed=2,
        due_at=DUE,
        drafts=[e for e in editions if isinstance(e, Draft)],
        now=gated.clock(),
    )
    now = gated.clock()
    gate.decide(gated.engine, request.id, voter="Aye", decision="approve", via="cli", now=now)
    gate.decide(
        gated.engine,
        request.id,
        voter="Min",
        decision="reject",
        via="telegram",
        now=now,
        reason="wrong source",
    )

    shown = cli("approvals", str(request.id))

    assert shown.exit_code == 0, shown.output
    assert "  approved by Aye (cli) " in shown.output
    assert "  rejected by Min (telegram) " in shown.output and ": wrong source" in shown.output
    assert "rejectd" not in shown.output and "approved by Min" not in shown.output

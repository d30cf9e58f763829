"""The approval gate's rules, on SQLite and PostgreSQL: who counts, once, and only for one text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import App
from bot.approvals import gate
from bot.approvals.gate import ApprovalError
from bot.compose.drafts import Draft, occasion_for
from tests.approvals.helpers import KEY, enter_figures, require_approval
from tests.compose.helpers import SEED_TOTALS
from tests.conftest import Cli

DUE = dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def gated(home: Path, app: App) -> App:
    require_approval(home)
    app.__dict__.pop("composer", None)
    return app


def _drafts(app: App) -> list[Draft]:
    message = app.composer.message("anniversary")
    occasion = occasion_for(app.settings, message, dt.date(2024, 2, 1), app.today())
    editions = app.composer.compose(message, occasion, None, ["x", "telegram", "email"])
    drafts = [e for e in editions if isinstance(e, Draft)]
    assert len(drafts) == len(editions) == 6
    return drafts


def _ensure(app: App) -> tuple[gate.Request, gate.Ask | None]:
    return gate.ensure(
        app.engine,
        key=KEY,
        message="anniversary",
        needed=2,
        due_at=DUE,
        drafts=_drafts(app),
        now=app.clock(),
    )


def _approve(app: App, request_id: int, who: str) -> str:
    _, said = gate.decide(
        app.engine, request_id, voter=who, decision="approve", via="cli", now=app.clock()
    )
    return said


def test_two_people_must_approve_and_each_counts_once(gated: App) -> None:
    enter_figures(gated, by="Kyaw")
    request, ask = _ensure(gated)
    assert ask is not None and ask.replaced is None and request.state == "pending"
    # Asking again about the same text is the same request, not a new question.
    again, second = _ensure(gated)
    assert second is None and again.id == request.id
    assert _approve(gated, request.id, "Aye") == f"#{request.id} {KEY}: 1 of 2 approvals (Aye)"
    with pytest.raises(ApprovalError, match="Aye has already approved"):
        _approve(gated, request.id, "Aye")
    assert not gate.released(gated.engine, gate.find(gated.engine, request.id)[0])
    assert _approve(gated, request.id, "Min") == f"#{request.id} {KEY}: approved (Aye, Min)"
    assert gate.released(gated.engine, gate.find(gated.engine, request.id)[0])
    with pytest.raises(ApprovalError, match="already approved"):
        _approve(gated, request.id, "Kyaw")


def test_who_entered_the_figures_does_not_count_under_two_approvals(gated: App) -> None:
    enter_figures(gated, by="Aye")
    request, _ = _ensure(gated)
    with pytest.raises(ApprovalError, match="Aye entered or corrected"):
        _approve(gated, request.id, "Aye")
    _approve(gated, request.id, "Min")
    assert not gate.released(gated.engine, gate.find(gated.engine, request.id)[0])


def test_a_figure_change_after_approval_voids_it_and_shows_what_changed(gated: App) -> None:
    enter_figures(gated, by="Kyaw")
    first, _ = _ensure(gated)
    _approve(gated, first.id, "Aye")
    _approve(gated, first.id, "Min")
    enter_figures(gated, by="Kyaw", totals={"killed": SEED_TOTALS["killed"] + 12})
    second, ask = _ensure(gated)
    assert ask is not None and second.id != first.id and second.state == "pending"
    old, _ = gate.find(gated.engine, first.id)
    assert old.state == "void" and f"#{second.id}" in (old.reason or "")
    assert not gate.released(gated.engine, second)
    # The diff shows the number as approved and as it would now go out.
    killed = SEED_TOTALS["killed"]
    assert ask.changes is not None
    assert f"[({killed}) → ({killed + 12})]" in ask.changes, ask.changes
    with pytest.raises(ApprovalError, match="no longer applies"):
        _approve(gated, first.id, "Kyaw")


def test_a_rejection_needs_a_reason_and_ends_the_request(gated: App) -> None:
    enter_figures(gated, by="Kyaw")
    request, _ = _ensure(gated)
    with pytest.raises(ApprovalError, match="say why"):
        gate.decide(gated.engine, request.id, voter="Aye", decision="reject", via="cli", now=DUE)
    rejected, said = gate.decide(
        gated.engine,
        request.id,
        voter="Aye",
        decision="reject",
        via="cli",
        now=DUE,
        reason="the killed figure is not yet verified",
    )
    assert rejected.state == "rejected" and "not yet verified" in said
    with pytest.raises(ApprovalError, match="was rejected"):
        _approve(gated, request.id, "Min")
    same, ask = _ensure(gated)
    assert ask is None and same.state == "rejected"


def test_the_cli_lists_approves_and_rejects(gated: App, cli: Cli) -> None:
    enter_figures(gated, by="Kyaw")
    request, _ = _ensure(gated)
    listed = cli("approvals")
    assert listed.exit_code == 0 and f"#{request.id} {KEY}: 0 of 2 approvals" in listed.output
    shown = cli("approvals", str(request.id))
    assert "x · en" in shown.output and "email · my" in shown.output
    # The account running the command (root here, BOT_USER=tester) is not one of the staff.
    refused = cli("approve", str(request.id), "--yes")
    assert refused.exit_code == 1 and "not one of the staff" in refused.output
    cli.env["SUDO_USER"] = "aye"
    asked = cli("approve", str(request.id), "--by", "Aye", input="n\n")
    assert asked.exit_code == 1 and "Not approved." in asked.output
    done = cli("approve", str(request.id), "--by", "Aye", input="y\n")
    assert done.exit_code == 0 and "1 of 2 approvals (Aye)" in done.output
    twice = cli("approve", str(request.id), "--by", "Aye", "--yes")
    assert twice.exit_code == 1 and "already approved" in twice.output
    cli.env["SUDO_USER"] = "min"
    no_reason = cli("reject", str(request.id), "--by", "Min")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    rejected = cli("reject", str(request.id), "--reason", "wrong source")
    assert rejected.exit_code == 0 and "rejected — Min: wrong source" in rejected.output
    assert "Nothing waits for approval." in cli("approvals").output


def test_post_now_of_a_gated_message_waits_for_its_approvals(gated: App, cli: Cli) -> None:
    enter_figures(gated, by="Kyaw")
    cli.env["SUDO_USER"] = "kyaw"
    first = cli("post-now", "anniversary", "--on", "2024-02-01", "--yes")
    assert first.exit_code == 1
    assert "needs 2 approvals" in first.output and "request #1" in first.output
    assert "Nothing has been published yet." in cli("history").output
    _approve(gated, 1, "Aye")
    _approve(gated, 1, "Min")
    posted = cli("post-now", "anniversary", "--on", "2024-02-01", "--yes")
    assert "Publication #1" in posted.output, posted.output


def test_config_check_names_a_gate_that_nobody_could_open(home: Path, cli: Cli) -> None:
    require_approval(home)
    assert cli("config", "check").exit_code == 0
    schedule = home / "config" / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    schedule.write_text(
        text.replace('telegram_chat = "-1009876543210"', 'telegram_chat = ""'), encoding="utf-8"
    )
    settings = home / "config" / "bot.toml"
    text = settings.read_text(encoding="utf-8")
    kept = "".join(
        line + "\n" for line in text.splitlines() if not line.startswith(('"Min"', '"Kyaw"'))
    )
    settings.write_text(kept, "utf-8")
    checked = cli("config", "check")
    assert checked.exit_code == 1
    assert "messages/anniversary/message.toml: approval = 2, but no one would be asked" in (
        checked.output
    )
    assert "but [staff] in config/bot.toml names 1 person" in checked.output


def test_a_wording_change_after_approval_voids_it(gated: App, home: Path) -> None:
    enter_figures(gated, by="Kyaw")
    first, _ = _ensure(gated)
    _approve(gated, first.id, "Aye")
    _approve(gated, first.id, "Min")
    template = home / "messages" / "anniversary" / "x.en.txt.j2"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("only {{", "just {{", 1), encoding="utf-8")
    gated.__dict__.pop("composer", None)
    second, ask = _ensure(gated)
    assert ask is not None and ask.changes is not None
    assert "[only → just]" in ask.changes and "[x · en]" in ask.changes
    assert gate.find(gated.engine, first.id)[0].state == "void"
    assert not gate.released(gated.engine, second)


def test_status_shows_what_waits_for_approval(gated: App, cli: Cli) -> None:
    enter_figures(gated, by="Kyaw")
    request, _ = _ensure(gated)
    _approve(gated, request.id, "Aye")
    shown = cli("status").output
    assert f"approval:  #{request.id} {KEY}: 1 of 2 approvals (Aye), due 2024-02-01 09:00" in shown

"""The two-person rule as an attacker would try it (issue 15, reproductions 1 and 2).

Under `approval = 2` nobody who entered or corrected a value the editions carry may approve,
nor whoever asked to publish; and in a terminal the name is the account's, not a typed one.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.app import App
from bot.approvals import gate
from bot.approvals.gate import ApprovalError
from bot.compose.drafts import Draft, occasion_for
from bot.config.settings import load_settings
from bot.figures.entries import Entry, enter
from bot.staff import IdentityError, login, person
from bot.store import figures as figure_store
from tests.approvals.helpers import KEY, enter_figures, require_approval
from tests.compose.helpers import SEED_TOTALS, SOURCE
from tests.conftest import Cli

DUE = dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)
DAY = dt.date(2024, 1, 31)


@pytest.fixture
def gated(home: Path, app: App) -> App:
    require_approval(home)
    app.__dict__.pop("composer", None)
    return app


def _ensure(app: App, requested_by: str | None = None) -> gate.Request:
    message = app.composer.message("anniversary")
    occasion = occasion_for(app.settings, message, dt.date(2024, 2, 1), app.today())
    drafts = [
        e
        for e in app.composer.compose(message, occasion, None, ["x", "telegram", "email"])
        if isinstance(e, Draft)
    ]
    request, _ = gate.ensure(
        app.engine,
        key=KEY,
        message="anniversary",
        needed=2,
        due_at=DUE,
        drafts=drafts,
        now=app.clock(),
        requested_by=requested_by,
    )
    return request


def _approve(app: App, request_id: int, who: str) -> str:
    return gate.decide(
        app.engine, request_id, voter=who, decision="approve", via="cli", now=app.clock()
    )[1]


def _put(app: App, by: str, figure: str, value: int, day: dt.date, why: str | None = None) -> None:
    entry = Entry(figure, value, day, None, SOURCE, f"{figure}={value}")
    enter(app.engine, app.book, [entry], entered_by=by, now=app.clock(), origin="t", correction=why)


def test_the_two_who_entered_the_figures_cannot_approve_them(gated: App) -> None:
    # Reproduction 1: Aye enters the figures, Min corrects one, Kyaw then enters a value the
    # anniversary does not carry (the newest row of all, which alone used to be excluded).
    enter_figures(gated, by="Aye")
    _put(gated, "Min", "killed", SEED_TOTALS["killed"] + 6, DAY, why="a typo in the statement")
    _put(gated, "Kyaw", "killed", 4000, dt.date(2023, 6, 1))
    request = _ensure(gated)

    with pytest.raises(ApprovalError, match="Min entered or corrected killed as of 2024-01-31"):
        _approve(gated, request.id, "Min")
    with pytest.raises(ApprovalError, match="Aye entered or corrected"):
        _approve(gated, request.id, "Aye")
    assert _approve(gated, request.id, "Kyaw") == f"#{request.id} {KEY}: 1 of 2 approvals (Kyaw)"
    found, authors = gate.find(gated.engine, request.id)
    assert not gate.released(gated.engine, found)
    # Who entered what is part of the request, so staff see why they cannot approve.
    assert authors[("killed", DAY, None)] == ("Aye", "Min")
    assert ("killed", dt.date(2023, 6, 1), None) not in authors


def test_who_asked_to_publish_cannot_approve(gated: App) -> None:
    enter_figures(gated, by="Kyaw")
    request = _ensure(gated, requested_by="Aye")
    with pytest.raises(ApprovalError, match="Aye asked to publish it"):
        _approve(gated, request.id, "Aye")
    _approve(gated, request.id, "Min")
    assert not gate.released(gated.engine, gate.find(gated.engine, request.id)[0])
    # Asking again for the same text adds the asker; it stays the same request.
    again = _ensure(gated, requested_by="Min")
    assert again.id == request.id and set(again.requesters) == {"Aye", "Min"}


def test_the_rule_is_checked_again_at_release(gated: App) -> None:
    enter_figures(gated, by="Aye")
    request = _ensure(gated)
    _approve(gated, request.id, "Min")
    _approve(gated, request.id, "Kyaw")
    assert gate.released(gated.engine, gate.find(gated.engine, request.id)[0])
    # A value the post carries is written again by one of its approvers, without changing
    # its text (as a restore of the database or a direct write would): the release sees it.
    with gated.engine.begin() as conn:
        figure_store.append(
            conn,
            figure_store.NewSnapshot(DAY, None, SOURCE, {"killed": SEED_TOTALS["killed"]}),
            entered_by="Min",
            entered_at=gated.clock(),
            correction="re-entered",
            origin="t",
        )
    found, authors = gate.find(gated.engine, request.id)
    assert authors[("killed", DAY, None)] == ("Aye", "Min")
    assert not gate.released(gated.engine, found)
    assert gate.summary(found, authors).endswith("1 of 2 approvals (Kyaw)")


def test_one_shell_account_cannot_vote_as_two_people(gated: App, cli: Cli) -> None:
    # Reproduction 2: `bot approve 1 --by "Aye"` then `--by "Min"` from one account.
    enter_figures(gated, by="Kyaw")
    request = _ensure(gated)
    cli.env["SUDO_USER"] = "aye"
    first = cli("approve", str(request.id), "--by", "Aye", "--yes")
    assert first.exit_code == 0 and "1 of 2 approvals (Aye)" in first.output
    second = cli("approve", str(request.id), "--by", "Min", "--yes")
    assert second.exit_code == 1
    assert "--by names 'Min', but this command runs under the account 'aye'" in second.output
    # BOT_USER is not believed either: the vote is Aye's, already cast.
    cli.env["BOT_USER"] = "Min"
    third = cli("approve", str(request.id), "--yes")
    assert third.exit_code == 1 and "Aye has already approved" in third.output
    assert not gate.released(gated.engine, gate.find(gated.engine, request.id)[0])
    # The figures' author, at their own account, is refused too.
    cli.env["SUDO_USER"] = "kyaw"
    kyaw = cli("approve", str(request.id), "--yes")
    assert kyaw.exit_code == 1 and "Kyaw entered or corrected" in kyaw.output


def test_a_figure_entered_in_a_terminal_is_recorded_under_the_account(gated: App, cli: Cli) -> None:
    cli.env["SUDO_USER"] = "min"
    refused = cli(
        "figures", "set", "killed=4474", "--as-of", "2024-01-31", "--source", SOURCE, "--by", "Aye"
    )
    assert refused.exit_code == 1 and "--by names 'Aye'" in refused.output
    stored = cli("figures", "set", "killed=4474", "--as-of", "2024-01-31", "--source", SOURCE)
    assert stored.exit_code == 0, stored.output
    history = cli("figures", "history", "killed").output
    assert "Min" in history and "tester" not in history


def test_sudo_user_is_believed_only_from_root_or_the_files_owner(home: Path) -> None:
    require_approval(home)
    settings = load_settings(home)
    sudo = {"SUDO_USER": "aye"}
    assert login(home, sudo, euid=0) == "aye"
    assert login(home, sudo, euid=4321, owner=lambda _: 4321) == "aye"
    # Anyone else could set SUDO_USER in their own shell.
    assert login(home, sudo, euid=4321, owner=lambda _: 0) != "aye"
    with pytest.raises(IdentityError, match="not one of the staff"):
        person(settings, env={}, account="mallory")
    assert person(settings, env={"BOT_USER": "Min"}, account="aye").name == "Aye"


def test_config_check_says_when_the_staff_cannot_satisfy_the_rule(home: Path, cli: Cli) -> None:
    require_approval(home)
    assert cli("config", "check").exit_code == 0
    settings = home / "config" / "bot.toml"
    text = settings.read_text(encoding="utf-8")
    # Staff known by Telegram id only: a terminal cannot tell who enters figures.
    by_id_only = re.sub(r'\{ telegram = (\d+), account = "\w+" \}', r"\1", text)
    settings.write_text(by_id_only, encoding="utf-8")
    checked = cli("config", "check")
    assert checked.exit_code == 1, checked.output
    assert "gives nobody an account" in checked.output
    # Two people for two approvals: whoever entered the figures leaves one.
    kept = [line for line in text.splitlines() if not line.startswith('"Kyaw"')]
    settings.write_text("\n".join(kept) + "\n", encoding="utf-8")
    checked = cli("config", "check")
    assert checked.exit_code == 1
    assert "names 2 people: whoever enters the figures cannot approve them, so at least 3" in (
        checked.output
    )

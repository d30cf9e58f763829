"""The proof-of-work check on sign-up: puzzles issued and solved, refused when expired, altered,
wrong or used twice; through the app, a sign-up without a solution queues nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.config.settings import Challenge
from bot.store.schema import used_challenges
from bot.web.challenge import Challenges, Unsolved
from bot.web.security import CSP
from tests.conftest import Cli
from tests.publish.helpers import reload_settings, set_toml
from tests.web.helpers import SIGNUP, Clock, Web, people, queued

LOW = Challenge(enabled=True, max_number=500, expires_seconds=600)
KEY = "k" * 43


def solve(puzzle: dict[str, Any]) -> int:
    """The number a browser finds: the first whose hash is the challenge."""
    for number in range(puzzle["maxnumber"] + 1):
        digest = hashlib.sha256(f"{puzzle['salt']}{number}".encode()).hexdigest()
        if digest == puzzle["challenge"]:
            return number
    raise AssertionError("no number solves the puzzle")


def payload(puzzle: dict[str, Any], **changes: Any) -> str:
    """What the browser sends: base64 of the JSON solution, with `changes` made to it."""
    solution = {
        "algorithm": puzzle["algorithm"],
        "challenge": puzzle["challenge"],
        "number": solve(puzzle),
        "salt": puzzle["salt"],
        "signature": puzzle["signature"],
    }
    solution.update(changes)
    return base64.b64encode(json.dumps(solution).encode()).decode()


def reason(challenges: Challenges, sent: str | None) -> str:
    with pytest.raises(Unsolved) as refused:
        challenges.verify(sent)
    return refused.value.reason


def test_a_puzzle_follows_altchas_scheme_and_its_solution_is_accepted() -> None:
    challenges = Challenges(KEY, LOW, Clock())
    puzzle = challenges.issue()
    assert puzzle["algorithm"] == "SHA-256" and puzzle["maxnumber"] == 500
    salt, _, expires = puzzle["salt"].partition("?expires=")
    assert len(salt) == 24 and int(expires) == int(Clock()().timestamp()) + 600
    challenge, until = challenges.verify(payload(puzzle))
    assert challenge == puzzle["challenge"]
    assert until == Clock()() + dt.timedelta(seconds=600)
    # Puzzles differ: nothing is shared between two visitors.
    assert challenges.issue()["challenge"] != puzzle["challenge"]


def test_an_expired_solution_is_refused() -> None:
    clock = Clock()
    challenges = Challenges(KEY, LOW, clock)
    sent = payload(challenges.issue())
    clock.advance(seconds=599)
    challenges.verify(sent)
    clock.advance(seconds=1)
    assert reason(challenges, sent) == "expired"


def test_an_altered_signature_or_another_sites_key_is_refused() -> None:
    challenges = Challenges(KEY, LOW, Clock())
    puzzle = challenges.issue()
    flipped = ("0" if puzzle["signature"][0] != "0" else "1") + puzzle["signature"][1:]
    assert reason(challenges, payload(puzzle, signature=flipped)) == "not signed by this site"
    # A puzzle made with another key (another site, or one made up) is not ours.
    other = Challenges("o" * 43, LOW, Clock()).issue()
    assert reason(challenges, payload(other)) == "not signed by this site"


def test_a_wrong_number_or_a_changed_expiry_is_refused() -> None:
    challenges = Challenges(KEY, LOW, Clock())
    puzzle = challenges.issue()
    right = solve(puzzle)
    assert reason(challenges, payload(puzzle, number=right + 1)) == "wrong number"
    # A later expiry written into the salt breaks the signed hash.
    salt, _, expires = puzzle["salt"].partition("?expires=")
    later = f"{salt}?expires={int(expires) + 86400}"
    assert reason(challenges, payload(puzzle, salt=later, number=right)) == "wrong number"


@pytest.mark.parametrize(
    "sent",
    [
        None,
        "",
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(json.dumps({"algorithm": "SHA-256"}).encode()).decode(),
        "A" * 5000,
        "ထ",
    ],
    ids=["none", "empty", "not base64", "not json", "a list", "fields missing", "huge", "burmese"],
)
def test_a_malformed_or_missing_solution_is_refused(sent: str | None) -> None:
    challenges = Challenges(KEY, LOW, Clock())
    assert reason(challenges, sent) in {"missing", "malformed"}


@pytest.mark.parametrize(
    "changes",
    [{"number": True}, {"number": "7"}, {"number": -1}, {"algorithm": "SHA-1"}],
    ids=["a boolean", "a string", "negative", "another algorithm"],
)
def test_a_solution_of_the_wrong_types_is_malformed(changes: dict[str, Any]) -> None:
    challenges = Challenges(KEY, LOW, Clock())
    assert reason(challenges, payload(challenges.issue(), **changes)) == "malformed"


def test_a_solution_is_accepted_once_and_forgotten_when_expired(app: App) -> None:
    clock = Clock()
    challenges = Challenges(KEY, LOW, clock)
    sent = payload(challenges.issue())
    challenges.redeem(app.engine, sent)
    with pytest.raises(Unsolved, match="used before"):
        challenges.redeem(app.engine, sent)
    # Once expired it cannot be accepted anyway: the next sign-up clears it away.
    clock.advance(seconds=601)
    challenges.redeem(app.engine, payload(challenges.issue()))
    with app.engine.connect() as conn:
        kept = conn.execute(sa.select(used_challenges.c.challenge)).scalars().all()
    assert len(kept) == 1 and kept[0] != json.loads(base64.b64decode(sent))["challenge"]


def _switched_on(app: App, max_number: int = 300) -> Web:
    set_toml(app.settings.home, "web.challenge", enabled=True, max_number=max_number)
    reload_settings(app)
    return Web(app)


def _solved(web: Web) -> str:
    answer = web.get("/challenge")
    assert answer.status_code == 200
    return payload(answer.json())


def test_with_the_check_on_a_sign_up_needs_a_fresh_solution(app: App) -> None:
    web = _switched_on(app)
    before = people(app)
    for sent in ({}, {"challenge": ""}, {"challenge": "made up"}):
        refused = web.post("/subscribe", {**SIGNUP, **sent})
        assert refused.status_code == 403
        assert "Nothing was sent" in refused.text and "needs JavaScript" in refused.text
    assert people(app) == before and queued(app) == []

    solution = _solved(web)
    accepted = web.post("/subscribe", {**SIGNUP, "challenge": solution})
    assert accepted.status_code == 200 and "Check your inbox" in accepted.text
    assert len(queued(app)) == 1
    # The same solution again (a replay) queues nothing more.
    again = web.post("/subscribe", {**SIGNUP, "email": "b@example.org", "challenge": solution})
    assert again.status_code == 403 and "Nothing was sent" in again.text
    assert len(queued(app)) == 1


def test_a_refusal_is_the_same_whoever_the_address_is(app: App) -> None:
    web = _switched_on(app)
    assert web.post("/subscribe", {**SIGNUP, "challenge": _solved(web)}).status_code == 200
    pages = []
    for address in (str(SIGNUP["email"]), "new@example.org"):
        refused = web.post("/subscribe", {**SIGNUP, "email": address})
        pages.append((refused.status_code, _without_token(refused.text.replace(address, "@"))))
    assert pages[0] == pages[1]


def _without_token(html: str) -> str:
    return re.sub(r'name="form_token" value="[^"]+"', "", html)


def test_the_burmese_refusal_is_in_burmese(app: App) -> None:
    web = _switched_on(app)
    refused = web.post("/my/subscribe", {**SIGNUP, "lang": "my"})
    assert refused.status_code == 403
    assert "JavaScript လိုအပ်ပါသည်" in refused.text and "Nothing was sent" not in refused.text


@pytest.mark.parametrize("path", ["/", "/my/"])
def test_with_the_check_on_the_form_loads_the_sites_own_script(app: App, path: str) -> None:
    web = _switched_on(app)
    page = web.get(path)
    assert '<script src="/static/challenge.js" defer></script>' in page.text
    assert '<input type="hidden" name="challenge" value="">' in page.text
    noscript = "needs JavaScript" if path == "/" else "JavaScript လိုအပ်ပါသည်"
    assert "<noscript>" in page.text and noscript in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert "http" not in policy and "unsafe" not in policy
    script = web.get("/static/challenge.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "crypto.subtle" in script.text and "http" not in script.text
    puzzle = web.get("/challenge")
    assert puzzle.headers["cache-control"] == "no-store"
    assert puzzle.json()["maxnumber"] == 300


def test_with_the_check_off_nothing_of_it_is_there(app: App) -> None:
    web = Web(app)
    page = web.get("/")
    assert "<script" not in page.text and 'name="challenge"' not in page.text
    assert page.headers["content-security-policy"] == CSP
    assert web.get("/challenge").status_code == 404
    assert web.get("/static/challenge.js").status_code == 404
    assert web.post("/subscribe", SIGNUP).status_code == 200


def test_config_show_says_whether_the_check_is_on(app: App, cli: Cli) -> None:
    assert "sign-up:   proof-of-work check off" in cli("config", "show").output
    set_toml(app.settings.home, "web.challenge", enabled=True, max_number=5000)
    shown = cli("config", "show").output
    assert "sign-up:   proof-of-work check on (max_number 5000, solved within 600 s)" in shown


def test_a_difficulty_out_of_range_is_refused_with_its_place(app: App, cli: Cli) -> None:
    set_toml(app.settings.home, "web.challenge", enabled=True, max_number=0)
    checked = cli("config", "check")
    assert checked.exit_code != 0
    assert "bot.toml" in checked.output and "max_number" in checked.output

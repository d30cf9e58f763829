"""[channels.mastodon] in `bot config show` and `bot config check`, and in the schedule's lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.publish.helpers import set_toml

TOKEN = "mstdn-config-Pw7x-access-token"
ENV = "BOT_MASTODON_TOKEN"


def _line_of(path: Path, needle: str) -> int:
    """The line of `needle` in the [channels.mastodon] table."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[channels.mastodon]")
    for number, line in enumerate(lines[start:], start + 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture
def no_token(cli: Cli) -> Cli:
    cli.env.update({ENV: None, f"{ENV}_FILE": None})  # type: ignore[dict-item]  # None unsets
    return cli


def test_show_says_where_the_posts_go_without_the_token(no_token: Cli, home: Path) -> None:
    shipped = no_token("config", "show")
    assert shipped.exit_code == 0, shipped.output
    assert (
        "mastodon:  writes to the outbox folder; BOT_MASTODON_TOKEN not set; no instance_url, "
        "visibility public, 500 characters per post"
    ) in shipped.output

    set_toml(home, "channels.mastodon", instance_url="https://mastodon.example")
    set_toml(home, "channels.mastodon", visibility="unlisted", max_characters=1000)
    no_token.env[ENV] = TOKEN

    shown = no_token("config", "show")

    assert shown.exit_code == 0, shown.output
    assert (
        "mastodon:  posts to the platform; BOT_MASTODON_TOKEN set; https://mastodon.example, "
        "visibility unlisted, 1000 characters per post"
    ) in shown.output
    assert TOKEN not in shown.output


@pytest.mark.parametrize(
    ("settings", "token", "key", "says"),
    [
        (
            {"instance_url": "https://mastodon.example"},
            False,
            "token_env",
            "BOT_MASTODON_TOKEN (or BOT_MASTODON_TOKEN_FILE) is not set, so nothing would be "
            "posted to https://mastodon.example",
        ),
        ({}, True, "instance_url", "BOT_MASTODON_TOKEN is set but no instance is named"),
        (
            {"instance_url": "http://mastodon.example"},
            True,
            "instance_url",
            "'http://mastodon.example' uses plain http, which would send the access token in clear",
        ),
        (
            {"instance_url": "https://mastodon.example/@aapp"},
            True,
            "instance_url",
            "give the instance's address only",
        ),
    ],
    ids=["no-token", "no-instance", "plain-http", "a-profile-url"],
)
def test_check_names_the_line_of_a_mastodon_setting(
    no_token: Cli, home: Path, settings: dict[str, str], token: bool, key: str, says: str
) -> None:
    if settings:
        set_toml(home, "channels.mastodon", **settings)
    if token:
        no_token.env[ENV] = TOKEN
    line = _line_of(home / "config" / "bot.toml", f"{key} =")

    result = no_token("config", "check")

    assert result.exit_code == 1, result.output
    [found] = [x for x in result.output.splitlines() if "[channels.mastodon]" in x]
    assert f"config/bot.toml:{line}: [channels.mastodon] {key}: " in found
    assert says in found
    assert TOKEN not in result.output


def test_check_refuses_a_visibility_mastodon_does_not_have(no_token: Cli, home: Path) -> None:
    set_toml(home, "channels.mastodon", visibility="private")
    line = _line_of(home / "config" / "bot.toml", 'visibility = "private"')

    result = no_token("config", "check")

    assert result.exit_code == 1, result.output
    assert f"config/bot.toml:{line}" in result.output
    assert "visibility" in result.output and "'public' or 'unlisted'" in result.output


def test_schedule_and_status_list_mastodon(no_token: Cli) -> None:
    schedule = no_token("schedule", "--days", "400")
    status = no_token("status")

    assert schedule.exit_code == 0, schedule.output
    assert "anniversary  → x, telegram, bluesky, mastodon, email" in schedule.output
    assert "mastodon → outbox" in status.output

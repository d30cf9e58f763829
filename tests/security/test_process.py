"""`bot web` as its own process, and the checks that keep broken links from going out.

Before: the page ran only inside `bot run`, beside the X, Telegram and SMTP credentials, and
`bot config check` said "Configuration OK" for an `unsubscribe_base_url` of `not a url`, of
`ftp://x`, of a site without its trailing slash (every link glued to the host name), and for
none at all with a real SMTP host (every email linking to localhost).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import App
from bot.runtime import build_runtime
from tests.conftest import Cli
from tests.publish.helpers import reload_settings, set_toml
from tests.security.conftest import BotWeb, Visitor


@pytest.mark.parametrize(
    "secret", ["BOT_SMTP_PASSWORD", "BOT_SMTP_HOST", "BOT_TELEGRAM_TOKEN", "BOT_X_CONSUMER_KEY"]
)
def test_bot_web_refuses_to_hold_a_platform_credential(
    bot: App, start_web: Callable[..., BotWeb], secret: str
) -> None:
    web = start_web({secret: "s3cret-value"}, wait=False)
    assert web.finish() != 0
    assert "must not hold platform credentials" in web.output() and secret in web.output()
    assert "s3cret-value" not in web.output()


def test_bot_web_serves_without_credentials_and_stops_on_sigterm(
    bot: App, start_web: Callable[..., BotWeb]
) -> None:
    web = start_web()
    assert Visitor(web).get("/").status_code == 200
    web.process.terminate()
    assert web.finish() == 0
    assert "Stopped." in web.output()


@pytest.mark.parametrize(
    "value", ["not a url", "ftp://x", "http://news.example.org/", "https://", "https://a.org/?x=1"]
)
def test_bot_web_will_not_start_with_an_unusable_public_address(
    bot: App, start_web: Callable[..., BotWeb], value: str
) -> None:
    web = start_web(links=value, wait=False)
    assert web.finish() != 0
    assert "unsubscribe_base_url" in web.output()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("not a url", "not a web address"),
        ("ftp://x", "not an absolute https address"),
        ("http://news.example.org/unsubscribe/", "plain http"),
        ("https://user:pw@news.example.org/", "user name or password"),
        ("https://news.example.org/unsubscribe/?t=", "query or fragment"),
        (" https://news.example.org/", "spaces"),
    ],
)
def test_config_check_refuses_an_unusable_unsubscribe_base_url(
    cli: Cli, value: str, why: str
) -> None:
    set_toml(cli.home, "channels.email", unsubscribe_base_url=value)
    result = cli("config", "check")
    assert result.exit_code != 0
    assert "unsubscribe_base_url" in result.output and why in result.output
    assert "config/bot.toml:" in result.output  # the file and line to fix
    assert "Configuration OK" not in result.output


def test_config_check_refuses_no_public_address_with_a_real_smtp_host(cli: Cli) -> None:
    cli.env["BOT_SMTP_HOST"] = "smtp.example.org"
    result = cli("config", "check")
    assert result.exit_code != 0
    assert "unsubscribe_base_url is missing while BOT_SMTP_HOST is set" in result.output


@pytest.mark.parametrize(
    "value",
    ["https://news.example.org", "http://localhost:8080/unsubscribe/", "http://127.0.0.1:9"],
)
def test_config_check_accepts_a_usable_address(cli: Cli, value: str) -> None:
    set_toml(cli.home, "channels.email", unsubscribe_base_url=value)
    result = cli("config", "check")
    assert result.exit_code == 0, result.output
    assert "Configuration OK" in result.output


def test_config_check_warns_about_exposure(cli: Cli) -> None:
    set_toml(cli.home, "web", host="0.0.0.0")
    set_toml(cli.home, "channels.email", unsubscribe_base_url="https://news.example.org/")
    plain = cli("config", "check")
    assert plain.exit_code == 0
    assert 'host = "0.0.0.0" serves the page in plain HTTP' in plain.output
    set_toml(cli.home, "web", host="127.0.0.1", forwarded_allow_ips="*")
    set_toml(cli.home, "channels.email", security="none")
    cli.env["BOT_SMTP_HOST"] = "smtp.example.org:25"
    warned = cli("config", "check")
    assert warned.exit_code == 0, warned.output
    assert 'forwarded_allow_ips = "*"' in warned.output
    assert 'security = "none" to smtp.example.org' in warned.output
    # To an SMTP server on this machine, plain SMTP is no warning.
    cli.env["BOT_SMTP_HOST"] = "127.0.0.1:25"
    set_toml(cli.home, "web", forwarded_allow_ips="127.0.0.1")
    quiet = cli("config", "check")
    assert "warning" not in quiet.output


@pytest.mark.parametrize(
    ("base", "link"),
    [
        ("https://news.example.org", "https://news.example.org/unsubscribe/"),
        ("https://news.example.org/", "https://news.example.org/unsubscribe/"),
        ("https://example.org/bot/unsubscribe", "https://example.org/bot/unsubscribe/"),
        ("https://example.org/u/", "https://example.org/u/"),
    ],
)
def test_links_are_joined_with_the_path_between(app: App, base: str, link: str) -> None:
    set_toml(app.settings.home, "channels.email", unsubscribe_base_url=base)
    reload_settings(app)
    made = build_runtime(app).unsubscribe_links()("stored-token")
    assert made.startswith(link) and len(made) > len(link) + 10
    assert "/" not in made[len(link) :]

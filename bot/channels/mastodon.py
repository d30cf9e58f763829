"""Mastodon: the organisation's account on an instance, the statement as a numbered thread.

Mastodon has room (500 characters on a stock instance), so a Mastodon edition is the statement
itself (text.LANG.txt.j2), threaded where it is longer; a message may give a shorter
mastodon.LANG.txt.j2 of its own. Lengths are counted as the server counts them
(bot/fit/mastodon.py). The instance's own limit is known only by asking it, so editions are
fitted to `max_characters` (500 unless set), and before posting the channel checks that the
instance allows at least that much.

The client that talks to the instance is mastodon_api.py, imported only when a post is sent.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field

from bot.channels.spec import ChannelSpec, Fitted, Fitting, Wiring
from bot.config.model import Strict, secret
from bot.errors import ConfigError

# The limit of a stock Mastodon server; an instance may allow more (max_characters, checked
# against the instance before posting).
MASTODON_LIMIT = 500

if TYPE_CHECKING:
    from bot.channels.base import Channel

SETTINGS = "[channels.mastodon] in config/bot.toml"
# Plain http is for a server on this machine only (a test server, a tunnel): anywhere else the
# access token would cross the network in clear.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class MastodonSettings(Strict):
    enabled: bool = True
    # The instance the account is on, e.g. "https://mastodon.social"; empty: the outbox folder.
    instance_url: str = ""
    # The name of the environment variable holding the access token (NAME_FILE also works).
    token_env: str = "BOT_MASTODON_TOKEN"
    # "unlisted" keeps the posts off the public timelines (still on the profile and in search).
    visibility: Literal["public", "unlisted"] = "public"
    # What editions are fitted to; the instance must allow at least this (checked when posting).
    max_characters: int = Field(default=MASTODON_LIMIT, ge=100, le=100_000)
    timeout_seconds: float = Field(default=30, gt=0)


class Mastodon(ChannelSpec):
    name: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon"
    settings_model = MastodonSettings
    broadcast: ClassVar[bool] = True
    archive_rank: ClassVar[int | None] = 3

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """mastodon.LANG.txt.j2, else the statement, as a thread of numbered posts."""
        from bot.fit.mastodon import status_length, status_length_within
        from bot.fit.x import split_thread
        from bot.lang import digits

        lang = edition.lang
        limit = edition.settings.max_characters
        source = edition.optional("mastodon", "txt") or edition.text
        parts = split_thread(
            source,
            limit,
            numbering=lambda i, n: digits(f"{i}/{n}", lang),
            length=status_length_within(limit),
            post="a Mastodon post",
            unit="characters",
        )
        return Fitted(tuple(parts), tuple(status_length(p) for p in parts), limit)

    @classmethod
    def secrets(cls, settings: MastodonSettings) -> dict[str, str]:
        return {"access token": settings.token_env}

    @classmethod
    def configured(cls, settings: MastodonSettings) -> bool:
        return bool(settings.instance_url and secret(settings.token_env))

    @classmethod
    def connect(cls, settings: MastodonSettings, wiring: Wiring) -> Channel | None:
        from bot.channels.mastodon_api import MastodonChannel

        return MastodonChannel.from_settings(settings, wiring)

    @classmethod
    def targets(cls, settings: MastodonSettings) -> list[str]:
        return [""]  # the account the token belongs to

    @classmethod
    def summary(cls, settings: MastodonSettings) -> str:
        instance = settings.instance_url or "no instance_url"
        return (
            f"{instance}, visibility {settings.visibility}, "
            f"{settings.max_characters} characters per post"
        )

    @classmethod
    def problems(cls, settings: MastodonSettings) -> list[str]:
        """A URL the bot cannot use, or a token and an instance not given together."""
        found = []
        url = settings.instance_url
        if url:
            found += [f"instance_url: {why}" for why in url_problems(url)]
        try:
            token = secret(settings.token_env)
        except ConfigError as exc:
            return [*found, f"token_env: {exc}"]
        if url and not token:
            found.append(
                f"token_env: {settings.token_env} (or {settings.token_env}_FILE) is not set, so "
                f"nothing would be posted to {url}: the posts would go to the outbox folder. "
                "Set it to the account's access token, or empty instance_url"
            )
        if token and not url:
            found.append(
                f"instance_url: {settings.token_env} is set but no instance is named; set "
                'instance_url to the address of the account\'s instance, e.g. "https://mastodon.social"'
            )
        return found


def url_problems(url: str) -> list[str]:
    """Why `url` cannot be an instance's address (nothing when it can)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError as exc:
        return [f"{url!r} is not a URL ({exc})"]
    example = 'e.g. "https://mastodon.social"'
    if parts.scheme not in ("https", "http") or not host:
        return [f"{url!r} is not an absolute https URL ({example})"]
    if parts.scheme == "http" and not _local(host):
        return [
            f"{url!r} uses plain http, which would send the access token in clear; "
            f"use https ({example}); http is only for a server on this machine (localhost)"
        ]
    if parts.username or parts.password:
        return [f"{url!r} holds a user name or password; the access token is the login"]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return [
            f"{url!r} has a path, query or fragment; give the instance's address only "
            f"({example}): Mastodon's API is always at the root of its domain"
        ]
    return []


def _local(host: str) -> bool:
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Bluesky: threads of posts of up to 300 graphemes on the organisation's account.

Credentials are the account's handle and an app password, from the environment. The client
(bluesky_api.py, with bluesky_session.py, bluesky_records.py and bluesky_state.py) is imported
only when something is sent or deleted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from bot.channels.spec import ChannelSpec, Fitted, Fitting, Wiring
from bot.config.model import Strict, secret
from bot.errors import ConfigError, FitError

if TYPE_CHECKING:
    from bot.channels.base import Channel

# What Bluesky shows as the format of an app password (Settings → Privacy and security).
_APP_PASSWORD = re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$")
_THIS_MACHINE = frozenset({"localhost", "127.0.0.1", "::1"})
# A handle is a domain name: aapp.bsky.social, or the organisation's own domain.
_HANDLE = re.compile(r"^@?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$")


class BlueskySettings(Strict):
    enabled: bool = True
    # Names of environment variables, never the values (NAME_FILE also works).
    handle_env: str = "BOT_BLUESKY_HANDLE"
    app_password_env: str = "BOT_BLUESKY_APP_PASSWORD"
    # The server holding the account: Bluesky's own, a self-hosted PDS, or a test server.
    base_url: str = "https://bsky.social"
    timeout_seconds: float = Field(default=30, gt=0)
    # Where the login is kept between runs, relative to the home folder (written mode 0600).
    session_file: str = Field(default="var/bluesky-session.json", min_length=1)
    # Bluesky's write limits per account (a post costs 3 points, a deletion 1). Lower them if
    # people post by hand from the same account; the bot waits rather than pass them.
    points_per_hour: int = Field(default=5000, ge=3)
    points_per_day: int = Field(default=35000, ge=3)


class Bluesky(ChannelSpec):
    name: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky"
    settings_model = BlueskySettings
    broadcast: ClassVar[bool] = True
    unit: ClassVar[str] = "graphemes"

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """bluesky.LANG.txt.j2, else the X wording, else the statement, as a numbered thread."""
        from bot.fit.bluesky import BLUESKY_LIMIT, graphemes, split_posts
        from bot.lang import digits

        lang = edition.lang
        own = "bluesky" if edition.has("bluesky", "txt") else "x"
        source = edition.optional(own, "txt") or edition.text
        try:
            parts = split_posts(source, lambda i, n: digits(f"{i}/{n}", lang))
        except FitError as exc:
            raise FitError(f"messages/{edition.where(own, 'txt')}: {exc}") from None
        return Fitted(tuple(parts), tuple(graphemes(p) for p in parts), BLUESKY_LIMIT)

    @classmethod
    def secrets(cls, settings: BlueskySettings) -> dict[str, str]:
        return {"handle": settings.handle_env, "app password": settings.app_password_env}

    @classmethod
    def configured(cls, settings: BlueskySettings) -> bool:
        return all(secret(name) for name in cls.secrets(settings).values())

    @classmethod
    def connect(cls, settings: BlueskySettings, wiring: Wiring) -> Channel | None:
        from bot.channels.bluesky_api import BlueskyChannel

        return BlueskyChannel.from_settings(settings, wiring)

    @classmethod
    def targets(cls, settings: BlueskySettings) -> list[str]:
        return [""]  # the account the handle names

    @classmethod
    def problems(cls, settings: BlueskySettings) -> list[str]:
        """An unusable server address; a credential half set or in the wrong form."""
        found = []
        url = urlsplit(settings.base_url)
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            found.append(
                f"base_url {settings.base_url!r} is not the address of a Bluesky server "
                "(e.g. https://bsky.social, or https://pds.example.org for a self-hosted one)"
            )
        elif url.scheme == "http" and url.hostname not in _THIS_MACHINE:
            found.append(
                f"base_url {settings.base_url!r} is plain http: the app password would cross "
                "the network unencrypted; use https"
            )
        try:
            handle = secret(settings.handle_env)
            password = secret(settings.app_password_env)
        except ConfigError as exc:
            return [*found, str(exc)]
        if bool(handle) != bool(password):
            missing, present = (
                (settings.app_password_env, settings.handle_env)
                if handle
                else (settings.handle_env, settings.app_password_env)
            )
            found.append(
                f"{missing} is not set, though {present} is: posts to Bluesky go to the outbox "
                "folder until both are"
            )
        if handle and not _HANDLE.match(handle.strip()):
            found.append(f"{settings.handle_env} is not a Bluesky handle (e.g. aapp.bsky.social)")
        if password and not _APP_PASSWORD.match(password.strip()):
            found.append(
                f"{settings.app_password_env} is not an app password (xxxx-xxxx-xxxx-xxxx): "
                "make one under Settings → Privacy and security → App passwords; never give "
                "the bot the account's own password"
            )
        return found

    @classmethod
    def preview_note(cls, settings: BlueskySettings, posts: int) -> str | None:
        """What the posts cost of the account's write budget, and how lengths are counted."""
        return (
            f"{posts} post(s) cost {3 * posts} write points; the account may spend "
            f"{settings.points_per_hour:,} an hour and {settings.points_per_day:,} a day "
            "([channels.bluesky] points_per_hour, points_per_day), and the bot waits rather "
            "than pass them. Lengths are graphemes; posts are cut at 300 characters, which is "
            "never more than 300 graphemes however Bluesky counts Burmese."
        )

"""X: threads of posts of up to 280 weighted characters, paid per post, from four OAuth keys.

The client that talks to X's API is x_api.py, imported only when a post is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from bot.channels.spec import ChannelSpec, Fitted, Fitting, Wiring
from bot.config.model import Strict, secret

if TYPE_CHECKING:
    from bot.channels.base import Channel, Payload


class XSettings(Strict):
    enabled: bool = True
    # Names of environment variables, never the secrets themselves (NAME_FILE also works).
    consumer_key_env: str = "BOT_X_CONSUMER_KEY"
    consumer_secret_env: str = "BOT_X_CONSUMER_SECRET"
    access_token_env: str = "BOT_X_ACCESS_TOKEN"
    access_token_secret_env: str = "BOT_X_ACCESS_TOKEN_SECRET"
    # For a self-hosted gateway or a test server; X's own API otherwise.
    base_url: str = "https://api.x.com"
    timeout_seconds: float = Field(default=30, gt=0)
    # Checked before each post: X bills per post, and more for a post with a link.
    posts_per_day: int = Field(default=17, ge=0)
    spend_per_day_usd: float = Field(default=1.0, ge=0)
    price_per_post_usd: float = Field(default=0.015, ge=0)
    price_per_post_with_link_usd: float = Field(default=0.20, ge=0)
    # A card's alt text is one POST /2/media/metadata, billed per request (the upload is not).
    price_per_media_metadata_usd: float = Field(default=0.005, ge=0)


def has_link(text: str) -> bool:
    """Whether X would link something in `text`: a URL or a bare domain such as aappb.org.

    twitter-text's extractor is the one X's own clients use, so a valid top-level domain
    decides (aappb.org yes, "3.5" or "file.txt" no); X bills a post with a link more.
    """
    from twitter_text import extract_urls

    return bool(extract_urls(text))


class X(ChannelSpec):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    settings_model = XSettings
    broadcast: ClassVar[bool] = True
    billed: ClassVar[bool] = True
    unit: ClassVar[str] = "weighted characters"
    archive_rank: ClassVar[int | None] = 2

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """The X wording (x.LANG.txt.j2, else the statement) as a numbered thread."""
        from bot.fit.x import X_LIMIT, split_thread, weighted_length
        from bot.lang import digits

        lang = edition.lang
        source = edition.optional("x", "txt") or edition.text
        parts = split_thread(source, X_LIMIT, numbering=lambda i, n: digits(f"{i}/{n}", lang))
        return Fitted(tuple(parts), tuple(weighted_length(p) for p in parts), X_LIMIT)

    @classmethod
    def secrets(cls, settings: XSettings) -> dict[str, str]:
        return {
            "consumer key": settings.consumer_key_env,
            "consumer secret": settings.consumer_secret_env,
            "access token": settings.access_token_env,
            "access token secret": settings.access_token_secret_env,
        }

    @classmethod
    def configured(cls, settings: XSettings) -> bool:
        return all(secret(name) for name in cls.secrets(settings).values())

    @classmethod
    def connect(cls, settings: XSettings, wiring: Wiring) -> Channel | None:
        from bot.channels.x_api import XChannel

        return XChannel.from_settings(settings, clock=wiring.clock)

    @classmethod
    def targets(cls, settings: XSettings) -> list[str]:
        return [""]  # the account the keys belong to

    @classmethod
    def cost(cls, settings: XSettings, payload: Payload) -> tuple[int, float]:
        """The number of posts and their price in USD (a post with a link costs more).

        A payload with a card pays for its alt text too; the sender leaves the card out of
        the rest of a thread whose first post (which carries it) is already out.
        """
        prices = [
            settings.price_per_post_with_link_usd if has_link(part) else settings.price_per_post_usd
            for part in payload.parts
        ]
        if payload.card is not None and payload.parts:
            prices.append(settings.price_per_media_metadata_usd)
        return len(payload.parts), round(sum(prices), 6)

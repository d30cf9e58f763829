"""The channels the bot can publish to: adding one is its module plus one line here."""

from __future__ import annotations

import difflib

from bot.channels.bluesky import Bluesky
from bot.channels.email import Email
from bot.channels.mastodon import Mastodon
from bot.channels.spec import ChannelSpec
from bot.channels.telegram import Telegram
from bot.channels.x import X
from bot.errors import ConfigError

# In the order previews, reports and the archive show them.
REGISTRY: tuple[type[ChannelSpec], ...] = (
    X,
    Telegram,
    Bluesky,
    Mastodon,
    Email,
)

NAMES: tuple[str, ...] = tuple(spec.name for spec in REGISTRY)
# Channels whose subscribers each get their own delivery (sign-up, /subscribe, imports).
SUBSCRIBER_CHANNELS: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.subscribers)
_BY_NAME = {spec.name: spec for spec in REGISTRY}


def spec(name: str) -> type[ChannelSpec]:
    """The declaration of channel `name`; an unknown name is a ConfigError with a hint."""
    found = _BY_NAME.get(name)
    if found is None:
        close = difflib.get_close_matches(name, NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown channel {name!r}{hint}; the channels are {', '.join(NAMES)}")
    return found


def known(names: list[str]) -> list[str]:
    """For a settings validator: `names` if every one is a channel, else a ValueError."""
    for name in names:
        if name not in _BY_NAME:
            close = difflib.get_close_matches(name, NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown channel {name!r}{hint}; the channels are {', '.join(NAMES)}")
    return names

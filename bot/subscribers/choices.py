"""What a subscriber can choose. Kept free of heavy imports: `bot --help` loads it."""

from bot.topics import TOPICS

__all__ = ["LANGS", "TOPICS", "channels"]

LANGS = ("en", "my")


def channels() -> tuple[str, ...]:
    """The channels people subscribe to, from the registry (loaded only when asked)."""
    from bot.channels.registry import SUBSCRIBER_CHANNELS

    return SUBSCRIBER_CHANNELS

"""Telegram's limits for one bot, as moments: when may the next message go to a chat?

The Bot FAQ ("My bot is hitting limits") gives three: about 30 messages a second across all
chats, one a second in any one chat, and 20 a minute in a group (channels are counted as
groups here, as PTB's own limiter does: `@name` and negative ids). A 429 (flood wait) stops
every message of the bot until it ends, not only the one refused: the limit is the bot's, and
Telegram lengthens the wait of a bot that keeps sending.

Pure bookkeeping on a steady clock's readings: the queue (telegram_queue.py) asks and records;
nothing here waits. A lock makes it safe to consult from more than one event loop (a test runs
the bot's loop in a thread beside its own).
"""

from __future__ import annotations

import math
import threading
from collections import deque

# One below Telegram's 30: at exactly 30 the jitter of timing brings an occasional 429, and a
# 429 stops the whole bot for a second (measured in benchmarks/telegram_fanout.py).
MESSAGES_PER_SECOND = 29
# One a second in any chat, a little more: messages leave a second apart but may arrive closer
# together after the network's jitter, and Telegram counts arrivals.
SECONDS_PER_CHAT = 1.0
CHAT_MARGIN = 0.01
# Twenty in any sixty seconds in a group or channel, with the same allowance for jitter.
GROUP_MESSAGES = 20
GROUP_WINDOW = 60.0
GROUP_MARGIN = 0.5
# Forgetting chats that sent nothing for a while keeps the books small during a fan-out to
# many people: a chat is dropped once its last message is older than the longest window.
_TIDY_EVERY = 256


def is_group(chat: str) -> bool:
    """A group, supergroup or channel (`@name`, or a negative id); else a person's own chat."""
    return chat.startswith(("-", "@"))


class Pace:
    """When each chat may next receive a message, and when any message may next go."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -math.inf
        self._paused_until = -math.inf
        # A person's chat → when its last message went.
        self._chats: dict[str, float] = {}
        # A group's or channel's chat → when its recent messages went, oldest first.
        self._groups: dict[str, deque[float]] = {}
        self._taken = 0

    @property
    def paused_until(self) -> float:
        """The end of the flood wait Telegram asked for (-inf when none)."""
        return self._paused_until

    def chat_ready(self, chat: str) -> float:
        """The earliest moment `chat` may receive its next message (the flood wait included)."""
        with self._lock:
            ready = self._paused_until
            times = self._groups.get(chat) if is_group(chat) else None
            if times:
                ready = max(ready, times[-1] + SECONDS_PER_CHAT + CHAT_MARGIN)
                if len(times) >= GROUP_MESSAGES:
                    ready = max(ready, times[-GROUP_MESSAGES] + GROUP_WINDOW + GROUP_MARGIN)
            elif chat in self._chats:
                ready = max(ready, self._chats[chat] + SECONDS_PER_CHAT + CHAT_MARGIN)
            return ready

    def next_slot(self) -> float:
        """The earliest moment any message may go (1/29 s after the last, after a flood wait)."""
        with self._lock:
            return max(self._paused_until, self._last + 1 / MESSAGES_PER_SECOND)

    def take(self, chat: str, now: float) -> None:
        """A message to `chat` goes now."""
        with self._lock:
            self._last = now
            if is_group(chat):
                times = self._groups.setdefault(chat, deque(maxlen=GROUP_MESSAGES))
                times.append(now)
            else:
                self._chats[chat] = now
            self._taken += 1
            if self._taken % _TIDY_EVERY == 0:
                self._tidy(now)

    def pause(self, until: float) -> None:
        """Telegram asked to wait: nothing goes out before `until`."""
        with self._lock:
            self._paused_until = max(self._paused_until, until)

    def remembered(self) -> int:
        """How many chats are in the books (a fan-out to many must not grow them)."""
        with self._lock:
            return len(self._chats) + len(self._groups)

    def _tidy(self, now: float) -> None:
        self._chats = {c: at for c, at in self._chats.items() if at + SECONDS_PER_CHAT > now}
        self._groups = {
            c: times for c, times in self._groups.items() if times[-1] + GROUP_WINDOW > now
        }

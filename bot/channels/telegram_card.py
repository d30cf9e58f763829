"""The figure card on Telegram: a photo first, with the text as its caption when it fits.

Telegram shows a photo's caption (at most 1,024 characters, counted as a message's text is)
under the picture. A text that fits goes there, in one message; a longer one follows the
photo in full, in the messages it was split into, so no word of the approved text is cut.
The plan is a pure function of the payload, so a resumed delivery numbers its messages the
same way on every attempt.

A card is uploaded once per process and server: Telegram answers with a file id that later
messages send instead of the bytes, so a fan-out to thousands of chats uploads it once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.cards.card import Card, CardError
from bot.channels.base import Payload, Rejected
from bot.fit.telegram import visible_length

CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Slot:
    """One message of a delivery: a text, or the card's photo (with a caption or none)."""

    text: str | None
    photo: bool = False


def plan(payload: Payload) -> list[Slot]:
    """The messages a payload is sent as, in order."""
    slots = [Slot(part) for part in payload.parts]
    if payload.card is None or not payload.parts:
        return slots
    if len(payload.parts) == 1 and visible_length(payload.parts[0]) <= CAPTION_LIMIT:
        return [Slot(payload.parts[0], photo=True)]
    return [Slot(None, photo=True), *slots]


def card_bytes(card: Card) -> bytes:
    """The card's PNG as approved (checked against its hash); Rejected when it is gone."""
    try:
        return card.png()
    except CardError as exc:
        raise Rejected(str(exc)) from None


class FileIds:
    """Telegram's file id of each card already uploaded, per server and bot."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, where: str, sha256: str) -> str | None:
        with self._lock:
            return self._ids.get((where, sha256))

    def put(self, where: str, sha256: str, file_id: str) -> None:
        with self._lock:
            self._ids[(where, sha256)] = file_id

    def forget(self, where: str, sha256: str) -> None:
        with self._lock:
            self._ids.pop((where, sha256), None)


# One per process: each delivery may connect anew, and the id outlives the connection.
FILE_IDS = FileIds()


async def send_card(
    bot: Bot, where: str, chat: str, card: Card, png: bytes, caption: str | None, markup: Any
) -> Message:
    """Send the card as a photo (by file id once uploaded) with its caption, if any."""
    known = FILE_IDS.get(where, card.sha256)

    async def send(photo: str | bytes) -> Message:
        return await bot.send_photo(
            chat_id=chat,
            photo=photo,
            caption=caption,
            parse_mode=ParseMode.HTML if caption else None,
            reply_markup=markup,
            filename=f"{card.sha256[:16]}.png",
        )

    if known is not None:
        try:
            return await send(known)
        except BadRequest as exc:
            # A file id the server no longer knows: upload the bytes instead. Nothing was
            # posted (the request was refused), so sending again is safe.
            if "file" not in str(exc).lower():
                raise
            FILE_IDS.forget(where, card.sha256)
    message = await send(png)
    if message.photo:
        FILE_IDS.put(where, card.sha256, message.photo[-1].file_id)
    return message

"""Keeping subscribers' addresses out of logs and terminals."""

from __future__ import annotations

import re

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+", re.ASCII)
_ADDRESS_IN_TEXT = re.compile(r"[^\s<>()\[\]\"',;:]+@[A-Za-z0-9.-]+", re.ASCII)


def mask_address(address: str) -> str:
    """`alice@example.org` as `a***@example.org`: enough for staff to tell, not to contact."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    if not _DOMAIN.fullmatch(domain):
        domain = "***"
    return f"{local[:1]}***@{domain}"


def mask_addresses_in(text: str) -> str:
    """`text` (e.g. a server's reply) with every address in it masked."""
    return _ADDRESS_IN_TEXT.sub(lambda match: mask_address(match.group()), text)


def mask_chat(chat: str) -> str:
    """A person's Telegram chat id (a positive number) masked; channels and groups as they are."""
    return f"{chat[:1]}***" if chat.isdigit() else chat


def mask_target(channel: str, target: str) -> str:
    """A delivery's target as shown to staff: people masked, public chats as they are."""
    if channel == "email":
        return mask_address(target)
    if channel == "telegram":
        return mask_chat(target)
    return target or "(account)"

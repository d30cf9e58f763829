"""Signing up by email: checking the form, recording a pending subscriber, sending the link.

Many of the people who sign up are at risk, so:

- nothing here says whether an address is already subscribed: an active subscriber's choices
  are not changed by a form anyone can fill in, and no second email is sent to them (the
  caller shows the same answer either way);
- an address is never logged in clear (`mask_address`);
- every field is checked before anything is stored, so a refused form leaves no trace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email

from bot.channels.base import Payload
from bot.channels.email_message import is_address
from bot.errors import ChannelError
from bot.privacy import mask_address
from bot.subscribers import store

if TYPE_CHECKING:
    import datetime as dt

    import sqlalchemy as sa

    from bot.app import App

log = logging.getLogger(__name__)

EMAIL = "email"
LANG = "lang"
TOPICS = "topics"
# A field people never see (hidden by the stylesheet, labelled "leave empty"): bots fill it.
HONEYPOT = "website"
FIELDS = (EMAIL, LANG, TOPICS)

MAX_EMAIL = 254  # RFC 5321: a path is at most 256 octets with its angle brackets
MAX_CHOICE = 32  # a language or topic name is far shorter
# Anything below U+0020 (CR and LF above all) or DEL: nothing in a form field needs it, and
# a line break is how a header is injected.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """Why a field was refused: `field` (email, lang, topics, form) and `kind` (missing,
    too_long, line_break, invalid, unknown, too_large, unreadable); the page words it."""

    field: str
    kind: str


@dataclass(frozen=True)
class Signup:
    """A form that passed every check."""

    address: str
    lang: str
    topics: tuple[str, ...]


@dataclass
class Checked:
    """The outcome of reading a form: a sign-up, problems, or a bot caught by the honeypot."""

    signup: Signup | None = None
    problems: list[Problem] = field(default_factory=list)
    trapped: bool = False


def check_form(form: Mapping[str, Sequence[str]]) -> Checked:
    """Check every field of a sign-up form; all problems are reported together."""
    if any(value.strip() for value in form.get(HONEYPOT, ())):
        return Checked(trapped=True)
    problems: list[Problem] = []
    address = _address(form.get(EMAIL, ()), problems)
    lang = _lang(form.get(LANG, ()), problems)
    topics = _topics(form.get(TOPICS, ()), problems)
    if problems or address is None or lang is None or not topics:
        return Checked(problems=problems)
    return Checked(signup=Signup(address, lang, topics))


def _address(values: Sequence[str], problems: list[Problem]) -> str | None:
    if not values or not values[0].strip():
        problems.append(Problem(EMAIL, "missing"))
        return None
    value = values[0]
    if len(values) > 1:
        problems.append(Problem(EMAIL, "invalid"))
    elif len(value) > MAX_EMAIL:
        problems.append(Problem(EMAIL, "too_long"))
    elif _CONTROL.search(value):
        problems.append(Problem(EMAIL, "line_break"))
    else:
        try:
            # No DNS: a look-up would tell the resolver who is signing up, and be slow.
            # ASCII only, no quoted local parts or IP literals: what the channel can send.
            valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            problems.append(Problem(EMAIL, "invalid"))
            return None
        # Lower case, so "Alice@Example.org" and "alice@example.org" are one subscriber
        # (mail servers treat them alike in practice) and cannot be mailed twice.
        address = valid.ascii_email.lower() if valid.ascii_email else ""
        if is_address(address):
            return address
        problems.append(Problem(EMAIL, "invalid"))
    return None


def _choice(name: str, value: str, known: Sequence[str], problems: list[Problem]) -> str | None:
    if len(value) > MAX_CHOICE:
        problems.append(Problem(name, "too_long"))
    elif _CONTROL.search(value):
        problems.append(Problem(name, "line_break"))
    elif value not in known:
        problems.append(Problem(name, "unknown"))
    else:
        return value
    return None


def _lang(values: Sequence[str], problems: list[Problem]) -> str | None:
    if not values or not values[0]:
        problems.append(Problem(LANG, "missing"))
        return None
    if len(values) > 1:
        problems.append(Problem(LANG, "unknown"))
        return None
    return _choice(LANG, values[0], store.LANGS, problems)


def _topics(values: Sequence[str], problems: list[Problem]) -> tuple[str, ...]:
    if not values:
        problems.append(Problem(TOPICS, "missing"))
        return ()
    if len(values) > len(store.TOPICS):
        problems.append(Problem(TOPICS, "unknown"))
        return ()
    chosen = set()
    for value in values:
        found = _choice(TOPICS, value, store.TOPICS, problems)
        if found is None:
            return ()
        chosen.add(found)
    return tuple(topic for topic in store.TOPICS if topic in chosen)


def register(engine: sa.Engine, signup: Signup, now: dt.datetime) -> store.Subscriber | None:
    """Record a pending subscription; None when the address is already active.

    An active subscriber is left exactly as they are: a form anyone can fill in must not
    change what they receive, and they need no second confirmation email.
    """
    found = store.find(engine, "email", signup.address)
    if found is not None and found.status == "active":
        log.info("sign-up for %s: already active, nothing sent", mask_address(signup.address))
        return None
    subscriber, _ = store.add(
        engine, "email", signup.address, signup.lang, signup.topics, now, confirmed=False
    )
    return subscriber


class _NoProgress:
    """A confirmation email is not a delivery in the outbox: nothing to record per part."""

    async def before(self, index: int) -> None:
        """Nothing to record."""

    async def after(self, index: int, platform_id: str) -> None:
        """Nothing to record."""


async def send_email(app: App, payload: Payload) -> bool:
    """Send one email now: the real channel when configured, else the outbox folder's Maildir.

    Never raises: the person has already been answered, so a failure can only be logged
    (masked) for staff; the person can ask again.
    """
    from bot.runtime import build_runtime

    masked = mask_address(payload.target)
    try:
        wired = build_runtime(app).connect(["email"])
        channel = wired.channels["email"]
    except Exception as exc:  # a bad DKIM key, say: the page must not fail for it
        log.error("confirmation email to %s not sent: %s", masked, _why(exc))
        return False
    try:
        await channel.publish(payload, [], _NoProgress())
    except Exception as exc:
        log.warning("confirmation email to %s not sent: %s", masked, _why(exc))
        return False
    finally:
        await channel.close()
    log.info("confirmation email sent to %s", masked)
    return True


def _why(exc: Exception) -> str:
    # The channels mask addresses in their own errors; anything else is named by kind only,
    # since its text may quote the address.
    return str(exc) if isinstance(exc, ChannelError) else type(exc).__name__

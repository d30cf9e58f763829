"""Signing up by email: checking the form, and what the limits count a request as.

Many of the people who sign up are at risk, so:

- the form's answer never depends on whether an address is subscribed: the web page only
  queues the request, and `bot run` decides what to send (bot/subscribers/confirmations.py);
- an address is never logged in clear (`mask_address`);
- every field is checked before anything is stored, so a refused form leaves no trace.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from bot.channels.email_message import is_address
from bot.subscribers import store

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
_GMAIL_ALIASES = {"googlemail.com": "gmail.com"}


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


def same_person(address: str) -> str:
    """The address as the limits count it: one mailbox however it is written.

    Case is dropped (checked addresses are lower case already), so is a `+tag` (most
    providers deliver `name+anything@` to `name@`), and Gmail ignores dots in the name:
    `J.Doe+x@googlemail.com` and `jdoe@gmail.com` reach one inbox and are counted as one.
    """
    local, _, domain = address.lower().rpartition("@")
    domain = _GMAIL_ALIASES.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    """The recipient's mail domain, as the per-domain limit counts it."""
    domain = address.lower().rpartition("@")[2]
    return _GMAIL_ALIASES.get(domain, domain)


def client_network(host: str) -> str:
    """The network a client address stands for: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber line usually holds a whole /64, so counting single IPv6 addresses
    would let one machine look like billions of clients.
    """
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return host  # not an IP (a test client, a Unix socket): counted as given
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))

"""Building one email per recipient: checks against header injection, a cached MIME body, DKIM.

Many subscribers are at risk, so an address must never appear in clear in a log or an error
message (`mask_address`), and a message must never name more than one recipient.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import dkim

from bot.channels.base import Payload, Rejected
from bot.channels.email import EmailSettings
from bot.channels.email_card import with_card
from bot.channels.unsubscribe import UNSUBSCRIBE_MARK, UNSUBSCRIBE_WORDS
from bot.errors import ConfigError
from bot.privacy import mask_address

# 7bit so the bodies are base64 or quoted-printable: a relay that downgrades 8-bit mail would
# rewrite the body and break the DKIM signature; headers are folded with CRLF as sent.
POLICY = email_policy.SMTP.clone(cte_type="7bit")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+", re.ASCII)
# A plain dot-atom address: no display name, no comments, no quotes, no second address, ASCII
# only, so nothing in it can end a header or smuggle another recipient in.
_ADDRESS = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>{_DOMAIN.pattern})", re.ASCII)
# Finds addresses inside a server's reply text, which often echoes the refused address.
# Printable ASCII without the characters that end or split a List-Unsubscribe item.
_URL = re.compile(r"https?://[!#-+\--;=?-~]+", re.ASCII)
_LANG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_MAX_URL = 900  # one header line must stay under 998 octets
# A body with the unsubscribe mark is encoded once with slots for its parts, and each copy
# gets its parts, with that recipient's link, written into them.
_TEXT_SLOT = "@@spring-bot-text-part@@"
_HTML_SLOT = "@@spring-bot-html-part@@"

# Header fields the DKIM signature covers; RFC 8058 requires both List-Unsubscribe fields.
SIGNED_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
]


def is_address(value: str) -> bool:
    """Whether `value` is one plain address (local@domain.tld) and nothing else."""
    return (
        len(value) <= 254
        and (match := _ADDRESS.fullmatch(value)) is not None
        and (len(match["local"]) <= 64)
    )


@dataclass(frozen=True)
class Built:
    """One message ready for the wire: these exact bytes are signed and sent."""

    recipient: str
    message_id: str
    data: bytes


class DkimSigner:
    """Signs final message bytes with one key."""

    def __init__(self, domain: str, selector: str, private_key_pem: bytes) -> None:
        self._domain = domain.encode("ascii")
        self._selector = selector.encode("ascii")
        self._key = private_key_pem
        try:  # a bad key must stop the start-up, not fail every delivery later
            self.sign(b"From: check@example.org\r\nSubject: check\r\n\r\ncheck\r\n")
        except dkim.DKIMException as exc:
            raise ConfigError(f"the DKIM private key cannot be used: {exc}") from None

    def __repr__(self) -> str:
        return f"DkimSigner(domain={self._domain!r}, selector={self._selector!r})"

    def sign(self, message: bytes) -> bytes:
        """`message` with a DKIM-Signature field in front."""
        signature: bytes = dkim.sign(
            message,
            self._selector,
            self._domain,
            self._key,
            include_headers=SIGNED_HEADERS,
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return signature + message


class MessageBuilder:
    """Writes one message per recipient around a MIME body built once per distinct content.

    A full EmailMessage per recipient costs about 1.4 ms of CPU; a fan-out to 100,000
    subscribers sends the same content again and again, so the MIME part (Subject, MIME-Version,
    Content-Type, Content-Language and the encoded text and HTML) is encoded once and cached,
    and only From/To/Date/Message-ID/List-* are written per recipient.
    """

    def __init__(
        self,
        sender: str,
        list_id: str = "",
        unsubscribe_mailto: str = "",
        signer: DkimSigner | None = None,
        cache_size: int = 32,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.sender_address = parseaddr(sender)[1]
        if not is_address(self.sender_address) or _CONTROL.search(sender):
            raise ConfigError(f"email sender {sender!r} is not a valid address")
        self.domain = self.sender_address.rpartition("@")[2]
        self._from = _fold("From", sender)
        self._list_id = b""
        if list_id:
            if _CONTROL.search(list_id):
                raise ConfigError(f"email list_id {list_id!r} contains a line break")
            self._list_id = _fold("List-Id", list_id if "<" in list_id else f"<{list_id}>")
        self._mailto = ""
        if unsubscribe_mailto:
            address = unsubscribe_mailto.removeprefix("mailto:")
            if not is_address(address):
                raise ConfigError(f"email unsubscribe_mailto {unsubscribe_mailto!r} is invalid")
            self._mailto = f"<mailto:{address}?subject=unsubscribe>"
        self._signer = signer
        self._cache: OrderedDict[tuple[str, str, str | None, str], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._now = now or _utc_now

    def build(self, payload: Payload) -> Built:
        """The bytes to send to `payload.target`; Rejected for anything that could inject."""
        recipient = payload.target
        if not is_address(recipient):
            raise Rejected(
                f"email recipient {mask_address(recipient)} is not one plain address "
                "(local@domain, ASCII, no name, no line breaks); nothing was sent"
            )
        if not payload.parts:
            raise Rejected("an email needs a text part; nothing was sent")
        subject = payload.subject or ""
        if not subject.strip() or _CONTROL.search(subject):
            raise Rejected("the email subject is empty or contains a line break; nothing was sent")
        if not _LANG.fullmatch(payload.lang):
            raise Rejected("the payload's language is not a language tag; nothing was sent")
        url = payload.extra.get("unsubscribe_url")
        if url is not None and (len(url) > _MAX_URL or not _URL.fullmatch(url)):
            raise Rejected("the unsubscribe URL is not one plain http(s) URL; nothing was sent")

        message_id = make_msgid(domain=self.domain)
        head = [
            self._from,
            b"To: ",
            recipient.encode("ascii"),
            b"\r\nDate: ",
            _date(self._now()).encode("ascii"),
            b"\r\nMessage-ID: ",
            message_id.encode("ascii"),
            b"\r\n",
        ]
        if url is not None:
            items = [f"<{url}>", self._mailto] if self._mailto else [f"<{url}>"]
            # Folded between items so each line stays short; relaxed DKIM ignores the fold.
            head += [
                b"List-Unsubscribe: ",
                ",\r\n ".join(items).encode("ascii"),
                b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            ]
        head.append(self._list_id)
        text, html = payload.parts[0], with_card(payload.html, payload.card)
        if url is not None:
            # The plain-text part ends with the link too, for mail clients that show no HTML.
            words = UNSUBSCRIBE_WORDS.get(payload.lang, UNSUBSCRIBE_WORDS["en"])
            text = f"{text}\n\n-- \n{words} {UNSUBSCRIBE_MARK}"
        if UNSUBSCRIBE_MARK in text or (html is not None and UNSUBSCRIBE_MARK in html):
            head.append(self._with_link(subject, text, html, payload.lang, url or ""))
        else:
            head.append(self._body(subject, text, html, payload.lang))
        data = b"".join(head)
        if self._signer is not None:
            data = self._signer.sign(data)
        return Built(recipient, message_id, data)

    def _with_link(self, subject: str, text: str, html: str | None, lang: str, url: str) -> bytes:
        """The body with this recipient's link in it, from a skeleton encoded once."""
        skeleton = self._body(subject, _TEXT_SLOT, None if html is None else _HTML_SLOT, lang)
        body = skeleton.replace(_TEXT_SLOT_B64, _b64(text.replace(UNSUBSCRIBE_MARK, url)))
        if html is not None:
            # The URL is plain ASCII without quotes or angle brackets (checked above).
            body = body.replace(_HTML_SLOT_B64, _b64(html.replace(UNSUBSCRIBE_MARK, url)))
        return body

    def _body(self, subject: str, text: str, html: str | None, lang: str) -> bytes:
        key = (subject, text, html, lang)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        cached = _encode_body(subject, text, html, lang)
        self._cache[key] = cached
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return cached


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _date(moment: dt.datetime) -> str:
    # A numeric zone ("+0000"): RFC 5322 calls "GMT" obsolete, and some clients show it as is.
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0))


def render_for_folder(settings: EmailSettings) -> Callable[[Payload], bytes]:
    """The bytes the real channel would send (unsigned), for the outbox folder's Maildir."""
    # The folder stands in when email is not set up, so the sender may still be empty.
    builder = MessageBuilder(
        settings.sender or "unconfigured@example.invalid",
        settings.list_id,
        settings.unsubscribe_mailto,
    )
    return lambda payload: builder.build(payload).data


def _b64(text: str) -> bytes:
    # As the email package encodes a text part: CRLF line ends and a final one, then base64
    # in lines of 76 characters, themselves ended by CRLF. Done per recipient (each copy has
    # its own link), so in one pass of binascii instead of base64.encodebytes's 57-byte loop.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    encoded = binascii.b2a_base64(text.encode("utf-8").replace(b"\n", b"\r\n"), newline=False)
    return b"".join([encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76)])


# The slots as they appear in an encoded skeleton.
_TEXT_SLOT_B64 = _b64(_TEXT_SLOT)
_HTML_SLOT_B64 = _b64(_HTML_SLOT)


def _encode_body(subject: str, text: str, html: str | None, lang: str) -> bytes:
    # The shared part of every copy: its own header fields, the blank line and the body.
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject  # the policy applies RFC 2047 to Burmese
    # A slot is plain ASCII, but the text that replaces it will not be: say base64 up front.
    cte = "base64" if text == _TEXT_SLOT else None
    message.set_content(text, subtype="plain", charset="utf-8", cte=cte)
    if html is not None:
        # Not add_alternative, which leaves the HTML part a stray MIME-Version of its own.
        part = EmailMessage(policy=POLICY)
        part.set_content(html, subtype="html", charset="utf-8", cte=cte)
        del part["MIME-Version"]
        message.make_alternative()
        message.attach(part)
    # Set last: make_alternative moves every Content-* field of the top into the text part.
    message["Content-Language"] = lang
    # Bare CR or LF would be rewritten to CRLF by the SMTP client after signing.
    return _LINE_ENDINGS.sub(b"\r\n", message.as_bytes(policy=POLICY))


def _fold(name: str, value: str) -> bytes:
    # The email package's folding and RFC 2047 encoding (for a Burmese display name).
    name, header = POLICY.header_store_parse(name, value)
    return POLICY.fold_binary(name, header)

"""Read Telegram's HTML subset: tokens, decoded entities, and the checks its parser makes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.errors import FitError

# Tag name -> attributes Telegram accepts on it (Bot API "Formatting options", HTML style).
ALLOWED_TAGS: Final[Mapping[str, frozenset[str]]] = {
    **dict.fromkeys(("b", "strong", "i", "em", "u", "ins", "s", "strike", "del"), frozenset()),
    **dict.fromkeys(("tg-spoiler", "pre"), frozenset()),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
    "tg-time": frozenset({"unix", "format"}),
}
_REQUIRED: Final = {"span": "class", "a": "href", "tg-emoji": "emoji-id", "tg-time": "unix"}
_HINTS: Final = {
    "p": "use a blank line",
    "div": "use a blank line",
    "br": "use a line break",
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "use <b> for a heading"),
    **dict.fromkeys(("ul", "ol", "li"), "write each item on its own line"),
    "img": "send the picture as a photo instead",
}

_TAG: Final = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[^\s=/>\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*(/?)>"
)
_ATTR: Final = re.compile(r"([^\s=/>\"']+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
# Digit counts are capped so a runaway entity is reported instead of overflowing int().
_ENTITY: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,6}));")
_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True, slots=True)
class Tag:
    """An opening or closing tag as written, checked against what Telegram allows."""

    name: str
    raw: str
    closing: bool
    where: int  # 1-based character position, for messages


@dataclass(frozen=True, slots=True)
class Text:
    """Text between tags: raw as written, text with entities decoded."""

    raw: str
    text: str


Token = Tag | Text


def _near(html: str, pos: int) -> str:
    return repr(html[max(0, pos - 20) : pos + 20])


def decode(raw: str, offset: int) -> str:
    """Decode the entities in raw; offset places it in the message, for errors."""
    out, pos = [], 0
    while (amp := raw.find("&", pos)) != -1:
        out.append(raw[pos:amp])
        m = _ENTITY.match(raw, amp)
        if m is None:
            raise FitError(
                f"the '&' at character {offset + amp + 1} (near {_near(raw, amp)}) is not an "
                "entity Telegram knows; write &amp; for a plain '&' (Telegram accepts only "
                "&lt; &gt; &amp; &quot; and numeric entities like &#39;)"
            )
        named, decimal, hexa = m.groups()
        code = ord(_NAMED[named]) if named else int(decimal or hexa, 10 if decimal else 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise FitError(
                f"the entity {m.group(0)} at character {offset + amp + 1} is not a valid character"
            )
        out.append(chr(code))
        pos = m.end()
    return "".join(out) + raw[pos:]


def tokenize(html: str) -> list[Token]:
    """Cut html into tags and text, raising FitError on anything Telegram would refuse."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(html):
        if html[pos] != "<":
            end = html.find("<", pos)
            end = len(html) if end == -1 else end
            tokens.append(Text(html[pos:end], decode(html[pos:end], pos)))
            pos = end
            continue
        m = _TAG.match(html, pos)
        if m is None:
            raise FitError(
                f"the '<' at character {pos + 1} (near {_near(html, pos)}) does not "
                "start a tag Telegram knows; write &lt; for a plain '<'"
            )
        tokens.append(_check_tag(m, pos + 1))
        pos = m.end()
    return tokens


def _check_tag(m: re.Match[str], where: int) -> Tag:
    slash, name, attrs, self_closing = m.groups()
    name = name.lower()
    if name not in ALLOWED_TAGS:
        hint = _HINTS.get(
            name, "Telegram accepts only " + ", ".join(f"<{t}>" for t in ALLOWED_TAGS)
        )
        raise FitError(f"<{name}> is not allowed in Telegram HTML; {hint} (at character {where})")
    if self_closing:
        raise FitError(
            f"<{name}/> at character {where} is not allowed in Telegram HTML; "
            f"write <{name}>…</{name}>"
        )
    if slash:
        if attrs.strip():
            raise FitError(f"the closing tag </{name}> at character {where} cannot have attributes")
        return Tag(name, m.group(0), True, where)
    found: dict[str, str] = {}
    for attr in _ATTR.finditer(attrs):
        key, value = attr.group(1).lower(), attr.group(2) or ""
        if key not in ALLOWED_TAGS[name]:
            raise FitError(
                f"<{name}> at character {where} has the attribute '{key}', "
                "which Telegram HTML does not allow"
            )
        quoted = value[:1] in ("'", '"')
        offset = m.start(3) + attr.start(2) + quoted
        found[key] = decode(value[1:-1] if quoted else value, offset)
    required = _REQUIRED.get(name)
    if required and not found.get(required):
        raise FitError(
            f"<{name}> at character {where} needs the attribute {required} in Telegram HTML"
        )
    if name == "span" and found["class"] != "tg-spoiler":
        raise FitError(
            f"<span> at character {where} is only allowed in Telegram HTML as "
            '<span class="tg-spoiler">'
        )
    if name == "code" and not found.get("class", "language-").startswith("language-"):
        raise FitError(
            f"<code> at character {where} may only have a class like "
            '"language-python" in Telegram HTML'
        )
    return Tag(name, m.group(0), False, where)


def check_nesting(tokens: list[Token]) -> None:
    """Raise FitError unless every tag is closed, in the reverse order it was opened."""
    stack: list[Tag] = []
    for tag in (t for t in tokens if isinstance(t, Tag)):
        if not tag.closing:
            stack.append(tag)
        elif not stack:
            raise FitError(
                f"</{tag.name}> at character {tag.where} closes a tag that was never opened"
            )
        elif stack[-1].name != tag.name:
            raise FitError(
                f"</{tag.name}> at character {tag.where} does not match "
                f"<{stack[-1].name}> opened at character {stack[-1].where}; close "
                "tags in the reverse order they were opened"
            )
        else:
            stack.pop()
    if stack:
        raise FitError(
            f"<{stack[-1].name}> opened at character {stack[-1].where} is never "
            f"closed; add </{stack[-1].name}>"
        )

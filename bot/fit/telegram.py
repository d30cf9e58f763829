"""Fit HTML into Telegram messages: check the markup, measure it and split it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from bot.errors import FitError

# The break rules are X's, so that both channels cut English and Burmese text the same way.
from bot.fit.x import _GAP, _LEADING, _MYANMAR_MARK, _PARAGRAPH, _TRAILING, _level, _pack

TELEGRAM_LIMIT: Final = 4096

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
_MARK_END: Final = re.compile("[။၊][\"'”’»)\\]]*$")


@dataclass(frozen=True, slots=True)
class _Tag:
    name: str
    raw: str
    closing: bool
    where: int  # 1-based character position, for messages


@dataclass(frozen=True, slots=True)
class _Text:
    raw: str
    text: str


_Token = _Tag | _Text


def validate_html(html: str) -> None:
    """Raise FitError naming the first thing in html that Telegram would refuse to parse."""
    _check_nesting(_tokens(html))


def visible_length(html: str) -> int:
    """Return the length Telegram counts: text without tags, entities decoded, in UTF-16 units."""
    return _u16("".join(t.text for t in _tokens(html) if isinstance(t, _Text)))


def split_html(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split html into valid messages of at most limit visible characters each."""
    tokens = _tokens(html)
    _check_nesting(tokens)
    visible = "".join(t.text for t in tokens if isinstance(t, _Text))
    if not _LEADING.sub("", visible):
        raise FitError("the Telegram message is empty: there is no text to send")
    if _u16(visible) <= limit:
        return [html]
    segments, gaps = _segments(tokens)
    stacks: list[list[_Tag]] = [[], *_open_after(segments)]
    sizes = [
        _u16(gap) + sum(_u16(t.text) for t in seg if isinstance(t, _Text))
        for gap, seg in zip(gaps, segments, strict=True)
    ]
    totals = [0]
    for size in sizes:
        totals.append(totals[-1] + size)

    def fits(start: int, end: int, _index: int) -> bool:
        # Counting every character in range, even edge spaces stripped later, is safe.
        return totals[end] - totals[start] - _u16(gaps[start]) <= limit

    def too_long(index: int, _part: int) -> FitError:
        word = "".join(t.text for t in segments[index] if isinstance(t, _Text))
        shown = word if len(word) <= 40 else word[:40] + "…"
        return FitError(
            f"a single word of {_u16(word)} characters cannot fit in a Telegram "
            f"message of {limit}: '{shown}'"
        )

    parts = []
    levels = [_level(gap, before) for gap, before in _befores(gaps, segments)]
    for start, end in _pack(levels, _PARAGRAPH, fits, too_long):
        body: list[_Token] = list(stacks[start])
        for j in range(start, end):
            body += [_Text(gaps[j], gaps[j])] if j > start else []
            body += segments[j]
        body += [_Tag(t.name, f"</{t.name}>", True, t.where) for t in reversed(stacks[end])]
        part = _tidy(body)
        if any(isinstance(t, _Text) for t in part):
            parts.append("".join(t.raw for t in part))
    return parts


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _near(html: str, pos: int) -> str:
    return repr(html[max(0, pos - 20) : pos + 20])


def _decode(raw: str, offset: int) -> str:
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


def _tokens(html: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(html):
        if html[pos] != "<":
            end = html.find("<", pos)
            end = len(html) if end == -1 else end
            tokens.append(_Text(html[pos:end], _decode(html[pos:end], pos)))
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


def _check_tag(m: re.Match[str], where: int) -> _Tag:
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
        return _Tag(name, m.group(0), True, where)
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
        found[key] = _decode(value[1:-1] if quoted else value, offset)
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
    return _Tag(name, m.group(0), False, where)


def _check_nesting(tokens: list[_Token]) -> None:
    stack: list[_Tag] = []
    for tag in (t for t in tokens if isinstance(t, _Tag)):
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


def _segments(tokens: list[_Token]) -> tuple[list[list[_Token]], list[str]]:
    """Cut tokens into unbreakable segments; gaps[j] is the whitespace before segments[j]."""
    segments: list[list[_Token]] = [[]]
    gaps = [""]
    after_mark = False
    for tok in tokens:
        if isinstance(tok, _Tag):
            segments[-1].append(tok)
            continue
        # A Burmese mark just before a tag is a break opportunity too, as in "က။<b>ခ".
        pieces = _GAP.split(tok.raw)
        if after_mark and pieces[0]:
            gaps.append("")
            segments.append([])
        for k, chunk in enumerate(pieces):
            if k % 2:
                gaps.append(chunk)
                segments.append([])
                continue
            for j, piece in enumerate(_MYANMAR_MARK.split(chunk)):
                if j:
                    gaps.append("")
                    segments.append([])
                if piece:
                    segments[-1].append(_Text(piece, _decode(piece, 0)))
        after_mark = bool(_MARK_END.search(pieces[-1]))
    return segments, gaps


def _befores(gaps: list[str], segments: list[list[_Token]]) -> Iterator[tuple[str, str]]:
    """Pair each gap with the last word before it, looking through tags, to see what it ends."""
    last = ""
    for gap, seg in zip(gaps, segments, strict=True):
        yield gap, last
        last = next((t.text for t in reversed(seg) if isinstance(t, _Text)), last)


def _open_after(segments: list[list[_Token]]) -> Iterator[list[_Tag]]:
    stack: list[_Tag] = []
    for seg in segments:
        for tag in (t for t in seg if isinstance(t, _Tag)):
            if tag.closing:
                stack.pop()
            else:
                stack.append(tag)
        yield list(stack)


def _tidy(tokens: list[_Token]) -> list[_Token]:
    """Strip whitespace at the part's edges and drop elements left empty by the cut."""
    for indices, edge in ((range(len(tokens)), _LEADING), (range(len(tokens))[::-1], _TRAILING)):
        for i in indices:
            tok = tokens[i]
            if isinstance(tok, _Text):
                raw = edge.sub("", tok.raw)
                tokens[i] = _Text(raw, _decode(raw, 0))
                if raw:
                    break
    tokens = [t for t in tokens if not (isinstance(t, _Text) and not t.raw)]
    i = 0
    while i < len(tokens) - 1:
        a, b = tokens[i], tokens[i + 1]
        if isinstance(a, _Tag) and isinstance(b, _Tag) and not a.closing and b.closing:
            del tokens[i : i + 2]
            i = max(0, i - 1)
        else:
            i += 1
    return tokens

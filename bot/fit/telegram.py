"""Fit HTML into Telegram messages: check the markup, measure it and split it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from bot.errors import FitError
from bot.fit.breaks import LEADING, MARK_END, PARAGRAPH, TRAILING, cuts, level, pack, strip
from bot.fit.markup import ALLOWED_TAGS, Tag, Text, Token, check_nesting, decode, tokenize

__all__ = ["ALLOWED_TAGS", "TELEGRAM_LIMIT", "split_html", "validate_html", "visible_length"]

TELEGRAM_LIMIT: Final = 4096
# Telegram drops formatting beyond this many entities (bold, links…) in one message.
MAX_ENTITIES: Final = 100


def validate_html(html: str) -> None:
    """Raise FitError naming the first thing in html that Telegram would refuse to parse."""
    check_nesting(tokenize(html))


def visible_length(html: str) -> int:
    """Return the length Telegram counts: text without tags, entities decoded, in UTF-16 units."""
    return _u16("".join(t.text for t in tokenize(html) if isinstance(t, Text)))


def split_html(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split html into valid messages of at most limit visible characters each."""
    tokens = tokenize(html)
    check_nesting(tokens)
    visible = "".join(t.text for t in tokens if isinstance(t, Text))
    if not strip(visible):
        raise FitError("the Telegram message is empty: there is no text to send")
    entities = sum(isinstance(t, Tag) and not t.closing for t in tokens)
    if _u16(visible) <= limit and entities <= MAX_ENTITIES:
        return [html]
    segments, gaps = _segments(tokens)
    stacks: list[list[Tag]] = [[], *_open_after(segments)]
    sizes = [
        _u16(gap) + sum(_u16(t.text) for t in seg if isinstance(t, Text))
        for gap, seg in zip(gaps, segments, strict=True)
    ]
    totals, opened = [0], [0]
    for size, seg in zip(sizes, segments, strict=True):
        totals.append(totals[-1] + size)
        opened.append(opened[-1] + sum(isinstance(t, Tag) and not t.closing for t in seg))

    def fits(start: int, end: int, _index: int) -> bool:
        # Counting every character in range, even edge spaces stripped later, is safe.
        entities = opened[end] - opened[start] + len(stacks[start])
        return totals[end] - totals[start] - _u16(gaps[start]) <= limit and (
            entities <= MAX_ENTITIES
        )

    def too_long(index: int, _part: int) -> FitError:
        word = "".join(t.text for t in segments[index] if isinstance(t, Text))
        shown = word if len(word) <= 40 else word[:40] + "…"
        pieces = opened[index + 1] - opened[index] + len(stacks[index])
        if _u16(word) <= limit and pieces > MAX_ENTITIES:
            return FitError(
                f"the message has {pieces} formatted pieces (bold, italic, links…) in one word, "
                f"'{shown}'; Telegram keeps at most {MAX_ENTITIES} in one message: use less "
                "formatting"
            )
        return FitError(
            f"a single word of {_u16(word)} characters cannot fit in a Telegram "
            f"message of {limit}: '{shown}'"
        )

    parts = []
    levels = [level(gap, before) for gap, before in _befores(gaps, segments)]
    for start, end in pack(levels, PARAGRAPH, fits, too_long):
        body: list[Token] = list(stacks[start])
        for j in range(start, end):
            body += [Text(gaps[j], gaps[j])] if j > start else []
            body += segments[j]
        body += [Tag(t.name, f"</{t.name}>", True, t.where) for t in reversed(stacks[end])]
        part = _tidy(body)
        if any(isinstance(t, Text) for t in part):
            parts.append("".join(t.raw for t in part))
    return parts


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _segments(tokens: list[Token]) -> tuple[list[list[Token]], list[str]]:
    """Cut tokens into unbreakable segments; gaps[j] is the whitespace before segments[j]."""
    segments: list[list[Token]] = [[]]
    gaps = [""]
    after_mark = False
    for tok in tokens:
        if isinstance(tok, Tag):
            segments[-1].append(tok)
            continue
        last = ""
        for gap, piece in cuts(tok.raw):
            # A Burmese mark just before a tag is a break opportunity too, as in "က။<b>ခ".
            if gap is not None or (after_mark and piece):
                gaps.append(gap or "")
                segments.append([])
            if piece:
                segments[-1].append(Text(piece, decode(piece, 0)))
            last = piece
        after_mark = bool(MARK_END.search(last))
    return segments, gaps


def _befores(gaps: list[str], segments: list[list[Token]]) -> Iterator[tuple[str, str]]:
    """Pair each gap with the last word before it, looking through tags, to see what it ends."""
    last = ""
    for gap, seg in zip(gaps, segments, strict=True):
        yield gap, last
        last = next((t.text for t in reversed(seg) if isinstance(t, Text)), last)


def _open_after(segments: list[list[Token]]) -> Iterator[list[Tag]]:
    stack: list[Tag] = []
    for seg in segments:
        for tag in (t for t in seg if isinstance(t, Tag)):
            if tag.closing:
                stack.pop()
            else:
                stack.append(tag)
        yield list(stack)


def _tidy(tokens: list[Token]) -> list[Token]:
    """Strip whitespace at the part's edges and drop elements left empty by the cut."""
    for indices, edge in ((range(len(tokens)), LEADING), (range(len(tokens))[::-1], TRAILING)):
        for i in indices:
            tok = tokens[i]
            if isinstance(tok, Text):
                raw = edge.sub("", tok.raw)
                tokens[i] = Text(raw, decode(raw, 0))
                if raw:
                    break
    tokens = [t for t in tokens if not (isinstance(t, Text) and not t.raw)]
    i = 0
    while i < len(tokens) - 1:
        a, b = tokens[i], tokens[i + 1]
        if isinstance(a, Tag) and isinstance(b, Tag) and not a.closing and b.closing:
            del tokens[i : i + 2]
            i = max(0, i - 1)
        else:
            i += 1
    return tokens

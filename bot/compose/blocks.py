"""The plain-text edition read as blocks, so HTML editions need no second copy of the wording.

A text template is written as paragraphs separated by blank lines. A one-line paragraph that
does not end a sentence is a heading (the first one is the title); a closing paragraph that is
just the organisation's name is the signature.
"""

from __future__ import annotations

from markupsafe import Markup, escape

_SENTENCE_END = (".", "။", "!", "?", ":", ";", ",", "၊", "…")
_HEADING_MAX = 160


def _is_heading(paragraph: str) -> bool:
    return (
        "\n" not in paragraph
        and len(paragraph) <= _HEADING_MAX
        and not paragraph.endswith(_SENTENCE_END)
    )


def blocks(text: str, signature: str) -> list[tuple[str, list[str]]]:
    """(kind, lines) for each paragraph: kind is title, heading, signature or paragraph."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    out: list[tuple[str, list[str]]] = []
    for index, paragraph in enumerate(paragraphs):
        if index == len(paragraphs) - 1 and index > 0 and paragraph == signature:
            kind = "signature"
        elif _is_heading(paragraph):
            kind = "title" if index == 0 else "heading"
        else:
            kind = "paragraph"
        out.append((kind, paragraph.split("\n")))
    return out


def telegram_html(text: str, signature: str) -> str:
    """Telegram HTML for a plain-text edition: headings bold, the signature italic."""
    rendered = []
    for kind, lines in blocks(text, signature):
        body = Markup("\n").join(escape(line) for line in lines)
        if kind in ("title", "heading"):
            body = Markup("<b>") + body + Markup("</b>")
        elif kind == "signature":
            body = Markup("<i>") + body + Markup("</i>")
        rendered.append(str(body))
    return "\n\n".join(rendered)

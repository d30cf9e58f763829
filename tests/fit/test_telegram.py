"""Telegram HTML validation, visible length and splitting."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import FitError
from bot.fit.telegram import TELEGRAM_LIMIT, split_html, validate_html, visible_length


class _Styled(HTMLParser):
    """Independent oracle: every visible non-space character with the tags around it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.chars: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag + "".join(f" {k}={v}" for k, v in attrs))

    def handle_endtag(self, tag: str) -> None:
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.chars += [(c, tuple(self.stack)) for c in data if not c.isspace()]


def styled(html: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = _Styled()
    parser.feed(html)
    parser.close()
    return parser.chars


def check_parts(html: str, parts: list[str], limit: int) -> None:
    """Every part is valid, fits, is trimmed, and together they say and style the same."""
    for part in parts:
        validate_html(part)
        assert 0 < visible_length(part) <= limit
        # Only a text that had to be cut is trimmed; one that fits comes back untouched.
        assert len(parts) == 1 or part == part.strip()
    assert [c for part in parts for c in styled(part)] == styled(html)


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("<p>Hello</p>", "<p> is not allowed in Telegram HTML; use a blank line"),
        ("one<br>two", "<br> is not allowed in Telegram HTML; use a line break"),
        ("<div>x</div>", "<div> is not allowed"),
        ("<h1>Title</h1>", "<h1> is not allowed"),
        ("<img src='x.png'>", "<img> is not allowed"),
        (
            "<font color=red>x</font>",
            "<font> is not allowed in Telegram HTML; Telegram accepts only",
        ),
        ("<b/>", "<b/> at character 1 is not allowed"),
        ("<b>bold", "<b> opened at character 1 is never closed; add </b>"),
        ("<b><i>x</b></i>", "</b> at character 8 does not match <i> opened at character 4"),
        ("x</i>", "</i> at character 2 closes a tag that was never opened"),
        ("3 < 4", "the '<' at character 3"),
        ("<!-- note -->", "the '<' at character 1"),
        ("Tom & Jerry", "the '&' at character 5"),
        ("&nbsp;", "the '&' at character 1"),
        ("&amp", "the '&' at character 1"),
        ("&#xD800;", "the entity &#xD800; at character 1 is not a valid character"),
        ("&#0;", "the entity &#0;"),
        ("<a>x</a>", "<a> at character 1 needs the attribute href"),
        ('<a href="">x</a>', "needs the attribute href"),
        ('<a href="x" target="_blank">x</a>', "has the attribute 'target'"),
        ('<b class="x">x</b>', "<b> at character 1 has the attribute 'class'"),
        ("<span>x</span>", "<span> at character 1 needs the attribute class"),
        ('<span class="red">x</span>', '<span class="tg-spoiler">'),
        ("<tg-emoji>😀</tg-emoji>", "needs the attribute emoji-id"),
        ('<code class="big">x</code>', "may only have a class like"),
        ('<a href="https://x.org/?a=1&b=2">x</a>', "the '&' at character 28"),
        ("</b x>", "cannot have attributes"),
    ],
)
def test_bad_markup_is_refused_by_name(html: str, fragment: str) -> None:
    with pytest.raises(FitError, match=re.escape(fragment)):
        validate_html(html)


@pytest.mark.parametrize(
    "html",
    [
        "plain text with a > sign",
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins>",
        "<s>s</s><strike>k</strike><del>d</del><tg-spoiler>t</tg-spoiler>",
        '<span class="tg-spoiler">hidden</span>',
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        "<a href='https://example.org'>single quotes</a>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        '<pre><code class="language-python">print(1 &lt; 2)</code></pre>',
        "<code>x</code>",
        "<blockquote>quote</blockquote><blockquote expandable>more</blockquote>",
        '<tg-time unix="1647531900" format="wDT">22:45</tg-time>',
        "&lt;&gt;&amp;&quot;&#39;&#x1F600;&#4096;",
        "<B>upper case tags</B>",
        "<b>nested <i>and <u>deeper</u></i></b>",
        "",
    ],
)
def test_good_markup_passes(html: str) -> None:
    validate_html(html)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>bold</b>", 4),
        ("&lt;&amp;&gt;&quot;", 4),
        ("&#39;", 1),
        ("😀", 2),  # astral plane: a surrogate pair in UTF-16
        ("&#x1F600;", 2),
        ('<a href="https://example.org/a/very/long/link">x</a>', 1),
        ("မြန်မာ", 6),
        ("a\n\nb", 4),
        ("😀" * 2048, TELEGRAM_LIMIT),
    ],
)
def test_visible_length_counts_utf16_units_after_parsing(html: str, expected: int) -> None:
    assert visible_length(html) == expected


def test_html_that_fits_is_returned_unchanged() -> None:
    html = "  <b>Hello</b>\n\nမင်္ဂလာပါ  "
    assert split_html(html) == [html]


def test_ten_thousand_characters_with_long_bold_and_burmese() -> None:
    intro = "Monthly figures from the documentation team. " * 10
    bold = " ".join(
        f"In township {i}, {i * 3} people were detained &amp; held." for i in range(120)
    )
    burmese = "\n\n".join(
        "မြန်မာနိုင်ငံတွင် လူ့အခွင့်အရေး ချိုးဖောက်မှုများ ဆက်လက်ဖြစ်ပွားနေသည်။ " * 6 for _ in range(12)
    )
    html = f"{intro}\n\n<b>{bold}</b>\n\n{burmese}\n\n😀 <i>End.</i>"
    assert visible_length(html) > 10_000
    parts = split_html(html)
    check_parts(html, parts, TELEGRAM_LIMIT)
    assert len(parts) >= 3
    reopened = [p for p in parts[1:] if p.startswith("<b>In township")]
    closed = [p for p in parts if "<b>" in p and p.endswith("held.</b>")]
    assert reopened and closed
    assert all(visible_length(p) <= TELEGRAM_LIMIT for p in parts)


def test_reopened_tags_keep_their_attributes() -> None:
    body = " ".join(f"Witness statement {i} was recorded." for i in range(30))
    html = f'<blockquote expandable><a href="https://example.org/r?a=1&amp;b=2">{body}</a></blockquote>'
    parts = split_html(html, limit=200)
    check_parts(html, parts, 200)
    opening = '<blockquote expandable><a href="https://example.org/r?a=1&amp;b=2">'
    assert len(parts) > 1
    assert all(p.startswith(opening) and p.endswith("</a></blockquote>") for p in parts)


@pytest.mark.parametrize(
    ("html", "limit", "expected"),
    [
        # Paragraph break preferred over filling the part.
        ("aaa bbb.\n\nccc ddd eee fff.", 20, ["aaa bbb.", "ccc ddd eee fff."]),
        # Line break preferred over sentence ends.
        ("One. Two.\nThree four five.", 18, ["One. Two.", "Three four five."]),
        # Sentence end preferred over plain spaces.
        ("One two. Three four five six.", 20, ["One two.", "Three four five six."]),
        # Burmese full stop with no space after it.
        ("ကခဂ။ဃငစဆဇ။", 7, ["ကခဂ။", "ဃငစဆဇ။"]),
        # A split inside <b> closes and reopens it; edges are trimmed.
        ("<b>alpha beta gamma</b>", 11, ["<b>alpha beta</b>", "<b>gamma</b>"]),
        # No empty <i></i> is left behind when the cut falls just after a start tag.
        ("alpha <i> beta</i>", 6, ["alpha", "<i>beta</i>"]),
        # Entities are never cut and count as one character.
        ("&amp;&amp; &lt;&lt; &gt;&gt;", 5, ["&amp;&amp; &lt;&lt;", "&gt;&gt;"]),
        ("😀😀 😀😀", 4, ["😀😀", "😀😀"]),
    ],
)
def test_split_points(html: str, limit: int, expected: list[str]) -> None:
    parts = split_html(html, limit=limit)
    assert parts == expected
    check_parts(html, parts, limit)


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("x" * 5000, "a single word of 5000 characters cannot fit in a Telegram message of 4096"),
        ("intro. <b>" + "y" * 4100 + "</b>", "a single word of 4100 characters"),
        ("😀" * 2049, "a single word of 4098 characters"),
        ("<b> </b>  ", "empty"),
        ("<p>" + "x " * 3000 + "</p>", "<p> is not allowed"),
    ],
)
def test_unsplittable_html_is_refused(html: str, fragment: str) -> None:
    with pytest.raises(FitError, match=re.escape(fragment)):
        split_html(html)


def test_splitting_is_deterministic() -> None:
    html = "<i>" + "Ninety-one people were arrested. " * 300 + "</i>"
    assert split_html(html) == split_html(html)


WORD = st.one_of(
    st.text(alphabet="abcdefghij", min_size=1, max_size=8),
    st.text(alphabet="ကခဂဃငစဆ\u102d\u103a", min_size=1, max_size=8),
    st.sampled_from(["&amp;", "&lt;b&gt;", "&#39;", "😀", "😀😀", "a.", "b။", "c၊"]),
)
SEP = st.sampled_from([" ", " ", " ", "\n", "\n\n", "။"])
OPEN = st.sampled_from(
    ["<b>", "<i>", '<a href="https://example.org/?q=1&amp;r=2">', "<blockquote expandable>"]
)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Words and separators, with tags opened and closed (properly nested) at random."""
    out: list[str] = []
    stack: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=60))):
        action = draw(st.sampled_from(["word", "word", "word", "open", "close"]))
        if action == "open":
            tag = draw(OPEN)
            stack.append(tag[1 : tag.find(" ") if " " in tag else -1])
            out.append(tag)
        elif action == "close" and stack:
            out.append(f"</{stack.pop()}>")
        else:
            out += [draw(WORD), draw(SEP)]
    out += [f"</{name}>" for name in reversed(stack)]
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(html=html_documents(), limit=st.integers(min_value=16, max_value=120))
def test_property_every_message_fits_and_keeps_text_and_style(html: str, limit: int) -> None:
    if not styled(html):
        with pytest.raises(FitError, match="empty"):
            split_html(html, limit=limit)
        return
    check_parts(html, split_html(html, limit=limit), limit)


def test_more_than_a_hundred_formatted_pieces_are_split_so_each_message_keeps_them() -> None:
    def entities(part: str) -> int:
        return len(re.findall(r"<b>", part))

    parts = split_html(" ".join(f"<b>{n}</b>" for n in range(101)))
    assert [entities(p) for p in parts] == [100, 1]
    parts = split_html(" ".join(f"<b>{n}</b>" for n in range(150)), limit=300)
    assert all(entities(p) <= 100 for p in parts) and sum(map(entities, parts)) == 150
    # One word cannot be split: it is refused with the reason.
    with pytest.raises(FitError, match="the message has 101 formatted pieces"):
        split_html("".join(f"<b>{n}</b>" for n in range(101)))

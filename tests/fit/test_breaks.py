"""Break opportunities and levels shared by the X and Telegram splitters."""

from __future__ import annotations

import pytest

from bot.fit.breaks import CLAUSE, LINE, PARAGRAPH, SENTENCE, SPACE, cuts, level


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one", [(None, "one")]),
        ("one two", [(None, "one"), (" ", "two")]),
        (" one\n\ntwo ", [(None, ""), (" ", "one"), ("\n\n", "two"), (" ", "")]),
        ("one\u00a0two", [(None, "one\u00a0two")]),  # a no-break space keeps words together
        ("က\u200bခ", [(None, "က"), ("\u200b", "ခ")]),
        ("က။ခ၊ဂ", [(None, "က။"), ("", "ခ၊"), ("", "ဂ")]),
        ("က။”ခ", [(None, "က။”"), ("", "ခ")]),  # the closing quote stays with its mark
        ("က။။ခ", [(None, "က။။"), ("", "ခ")]),
        ("က။", [(None, "က။")]),  # no empty piece after a final mark
    ],
)
def test_cuts(text: str, expected: list[tuple[str | None, str]]) -> None:
    assert list(cuts(text)) == expected


@pytest.mark.parametrize(
    ("gap", "before", "expected"),
    [
        ("\n\n", "word", PARAGRAPH),
        (" \n \n ", "word,", PARAGRAPH),
        ("\n", "word.", LINE),
        (" ", "word.", SENTENCE),
        (" ", 'word?"', SENTENCE),
        ("", "က။", SENTENCE),
        (" ", "word…", SENTENCE),
        (" ", "word;", CLAUSE),
        ("", "က၊”", CLAUSE),
        (" ", "word", SPACE),
        (" ", "e.g", SPACE),
    ],
)
def test_level(gap: str, before: str, expected: int) -> None:
    assert level(gap, before) == expected

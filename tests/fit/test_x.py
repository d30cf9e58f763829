"""X weighted length and thread splitting."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from bot.errors import FitError
from bot.fit.x import X_LIMIT, _light_weighted_length, split_thread, weighted_length

MY_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")


def burmese_numbering(index: int, total: int) -> str:
    return f"{index}/{total}".translate(MY_DIGITS)


def unnumbered(parts: list[str], numbering: object = None) -> list[str]:
    """Strip and check the " i/n" suffix of every part."""
    number = numbering if callable(numbering) else (lambda i, n: f"{i}/{n}")
    out = []
    for i, part in enumerate(parts, 1):
        suffix = " " + number(i, len(parts))
        assert part.endswith(suffix), (part, suffix)
        out.append(part[: -len(suffix)])
    return out


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("က" * 280, 280),
        ("မင်္ဂလာပါ", 9),  # 9 code points, each weighing 1
        ("https://example.com/" + "a" * 200, 23),
        ("see https://example.org/a/very/long/path?x=1 now", 4 + 23 + 4),
        ("😀", 2),
        ("👨‍👩‍👧", 2),
        ("你好", 4),
        ("\uaa60", 2),  # Myanmar Extended-A is outside the cheap range
        ("", 0),
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  short post  ", ["short post"]),
        ("က" * 280, ["က" * 280]),
        ("line one\n\nline two", ["line one\n\nline two"]),
    ],
)
def test_text_that_fits_is_one_unnumbered_post(text: str, expected: list[str]) -> None:
    assert split_thread(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("က" * 281, "a single word of 281 weighted characters cannot fit in an X post of 280"),
        ("intro. " * 50 + "x" * 300, "a single word of 300 weighted characters"),
        # Fits alone but not beside its " 2/2" suffix.
        ("Intro sentence. " + "y" * 278, "together with the thread number '2/2'"),
        ("   \n ", "empty"),
    ],
)
def test_unfittable_text_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(FitError, match=re.escape(fragment)):
        split_thread(text)


def test_long_english_splits_at_sentence_ends() -> None:
    text = " ".join(f"In township {i}, {i * 7} people were detained this month." for i in range(40))
    parts = split_thread(text)
    assert len(parts) > 3
    assert all(weighted_length(p) <= X_LIMIT for p in parts)
    bodies = unnumbered(parts)
    assert all(body.endswith(".") for body in bodies)
    assert squeeze(" ".join(bodies)) == squeeze(text)


def test_long_burmese_splits_at_full_stops_with_burmese_numbers() -> None:
    sentence = "မြန်မာနိုင်ငံတွင် လူ့အခွင့်အရေး ချိုးဖောက်မှုများ ဆက်လက်ဖြစ်ပွားနေသည်။"
    text = " ".join([sentence] * 30)
    parts = split_thread(text, numbering=burmese_numbering)
    assert all(weighted_length(p) <= X_LIMIT for p in parts)
    assert parts[0].endswith(" ၁/" + str(len(parts)).translate(MY_DIGITS))
    bodies = unnumbered(parts, burmese_numbering)
    assert all(body.endswith("။") for body in bodies)
    assert squeeze(" ".join(bodies)) == squeeze(text)


def test_burmese_full_stop_without_space_is_a_break() -> None:
    sentence = "က" * 100 + "။"
    parts = unnumbered(split_thread(sentence * 4))
    assert parts == [sentence * 2, sentence * 2]


def test_comma_like_mark_is_only_a_fallback() -> None:
    # One long Burmese sentence: it may only break after ၊ since it has no ။ inside.
    clause = "ခ" * 90 + "၊"
    text = clause * 5 + "ဂ" * 10 + "။"
    bodies = unnumbered(split_thread(text))
    assert all(body.endswith(("၊", "။")) for body in bodies)
    assert "".join(bodies) == text


def test_long_sentence_breaks_between_words_only() -> None:
    words = [f"word{i}" for i in range(120)]
    parts = split_thread(" ".join(words))
    assert [w for body in unnumbered(parts) for w in body.split()] == words


def test_paragraph_breaks_inside_a_part_are_kept() -> None:
    text = "\n\n".join(f"Paragraph {i} is short." for i in range(30))
    bodies = unnumbered(split_thread(text))
    assert all("\n\n" in body for body in bodies[:-1])
    assert all(not body.startswith(("\n", " ")) and not body.endswith("\n") for body in bodies)


def test_url_counts_23_so_a_long_link_still_fits() -> None:
    url = "https://example.org/reports/" + "x" * 300
    text = "Read the full report here. " * 12 + url
    parts = split_thread(text)
    assert all(weighted_length(p) <= X_LIMIT for p in parts)
    assert url in parts[-1]


def test_numbering_width_settles_when_parts_reach_ten() -> None:
    text = " ".join(f"Sentence {i} has a few more words to fill the post up." for i in range(60))
    parts = split_thread(text)
    n = len(parts)
    assert n >= 10
    assert parts[-1].endswith(f" {n}/{n}")
    assert all(weighted_length(p) <= X_LIMIT for p in parts)


def test_numbering_that_can_never_agree_is_refused() -> None:
    text = "A sentence here. " * 30  # about 510 characters

    def contrary(index: int, total: int) -> str:
        return "n" * (150 if total == 2 else 0) + f"{index}"

    with pytest.raises(FitError, match="cannot be numbered"):
        split_thread(text, numbering=contrary)


def test_splitting_is_deterministic() -> None:
    text = "Ninety-one people were arrested. " * 25
    assert split_thread(text) == split_thread(text)


ENGLISH = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
BURMESE = st.text(
    alphabet="ကခဂဃငစဆဇညတထဒနပဖဗဘမယရလဝသဟအ\u102d\u102f\u1031\u103a\u1039", min_size=1, max_size=12
)
EMOJI = st.sampled_from(["😀", "🇲🇲", "✊"])
URL = st.builds(lambda s: f"https://example.org/{s}", ENGLISH)
WORD = st.one_of(ENGLISH, BURMESE, EMOJI, URL)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORD, min_size=1, max_size=15),
    st.sampled_from([".", "!", "?", "။", "၊", ""]),
)
TEXT = st.builds(
    lambda sentences, seps: "".join(s + sep for s, sep in zip(sentences, seps, strict=False)),
    st.lists(SENTENCE, min_size=1, max_size=25),
    st.lists(st.sampled_from([" ", "\n", "\n\n", " \n\n "]), min_size=25, max_size=25),
)


@settings(max_examples=60, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=60, max_value=280), burmese=st.booleans())
def test_property_every_post_fits_and_words_survive(text: str, limit: int, burmese: bool) -> None:
    numbering = burmese_numbering if burmese else None
    parts = split_thread(text, limit=limit, numbering=numbering)
    assert all(part and weighted_length(part) <= limit for part in parts)
    bodies = parts if len(parts) == 1 else unnumbered(parts, numbering)
    assert all(body and body == body.strip() for body in bodies)
    assert squeeze("".join(bodies)) == squeeze(text)


# The fast path of weighted_length must agree with parse_tweet everywhere.
LIGHT_CHARS = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x1000, max_codepoint=0x109F),
        st.sampled_from("“”‘’–—…•′″ \u00a0\u200b\u200c\n\r\t.:/#*0123456789éü\u0301\u0338"),
    ),
    max_size=20,
)
LINK = st.one_of(
    st.builds(lambda s: f"http://example.com/{s}", ENGLISH),
    st.builds(lambda s: f"https://www.example.org/a?b={s}#c", ENGLISH),
    st.sampled_from(["aappb.org", "aappb.org/en/", "t.co/abc123", "x.com", "foo.bar.baz"]),
    st.builds(lambda s: f"{s}.com", ENGLISH),
)
# Rarer pieces that must take parse_tweet's path (or be counted the same either way).
HEAVY = st.sampled_from(
    [
        "😀",
        "👨\u200d👩\u200d👧",
        "✊🏽",
        "🇲🇲",
        "#\ufe0f\u20e3",
        "1\u20e3",
        "©",
        "®",
        "™",
        "‼",
        "你好",
        "\uaa60",
        "\ua9e0",
        "\u1100\u1161",
        "\u200d",
        "\ufe0f",
        "\u2038",
        "\u20ac",
    ]
)
MIXED = st.builds(
    "".join,
    st.lists(
        st.one_of(LIGHT_CHARS, LIGHT_CHARS, LINK, st.sampled_from([" ", "\n", "\r\n"]), HEAVY),
        max_size=30,
    ),
)


@settings(max_examples=400, deadline=None)
@given(text=MIXED)
def test_property_weighted_length_matches_parse_tweet(text: str) -> None:
    assert weighted_length(text) == parse_tweet(text).weightedLength


@pytest.mark.parametrize(
    "text",
    [
        "😀",
        "a©b",
        "®",
        "#\ufe0f\u20e3",
        "x\u200dy",
        "你",
        "\uaa60",
        "=\u0338",  # NFC makes it U+2260, which weighs 2
        "€",
        "‼",
        "…",  # U+2026 is outside U+2010-U+201F: it weighs 2
    ],
)
def test_emoji_and_heavy_text_skip_the_fast_path(text: str) -> None:
    assert _light_weighted_length(text) is None
    assert weighted_length(text) == parse_tweet(text).weightedLength


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("“quoted” – text", 15),
        ("see aappb.org and https://example.com/x\r\nok", 4 + 23 + 5 + 23 + 3),
        ("e\u0301", 1),  # NFC composes it into one code point
    ],
)
def test_light_text_takes_the_fast_path(text: str, expected: int) -> None:
    assert _light_weighted_length(text) == expected == parse_tweet(text).weightedLength

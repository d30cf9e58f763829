"""Where a card's lines may break: at spaces, else between Burmese syllables, never inside one."""

from __future__ import annotations

from bot.cards.text import runs, syllable_breaks, wrap


def by_chars(text: str) -> float:
    return float(len(text))


def test_latin_text_wraps_at_spaces() -> None:
    lines = wrap("Since the coup of February 1, 2021", 16, by_chars)
    assert lines == ["Since the coup", "of February 1,", "2021"]


def test_a_burmese_phrase_too_long_breaks_between_syllables_only() -> None:
    phrase = "နိုင်ငံရေးအကျဉ်းသားများကူညီစောင့်ရှောက်ရေးအသင်း"
    lines = wrap(phrase, 12, by_chars)
    assert "".join(lines) == phrase and len(lines) > 1
    # Each line starts a syllable: never a killed consonant, a vowel sign or a stacked letter.
    for line in lines[1:]:
        assert line[0] not in "\u102b\u102c\u102d\u102e\u102f\u1030\u1031\u1032\u1036\u1037"
        assert line[0:2] != "င်" and not line.startswith("\u103a")
    assert any("စောင့်" in line for line in lines)  # kept whole


def test_no_break_inside_a_killed_or_stacked_syllable_or_after_a_digit() -> None:
    assert syllable_breaks("စောင့်") == []  # င့် closes the syllable
    assert syllable_breaks("ဗုဒ္ဓ") == []  # ဒ္ဓ is stacked
    assert syllable_breaks("(၂၅၉၃၁)ဦး") == []  # a number stays with its classifier
    assert syllable_breaks("မင်္ဂလာ") == [5]  # kinzi: only before လာ


def test_burmese_spaces_are_preferred_to_syllable_breaks() -> None:
    lines = wrap("ဖမ်းဆီးခံရသူ ပြန်လည်လွတ်သူ", 13, by_chars)
    assert lines == ["ဖမ်းဆီးခံရသူ", "ပြန်လည်လွတ်သူ"]


def test_runs_split_scripts_so_each_gets_its_own_font() -> None:
    assert runs("AAPP မှ အတည်ပြု 2024") == [
        (False, "AAPP "),
        (True, "မှ အတည်ပြု"),
        (False, " 2024"),
    ]

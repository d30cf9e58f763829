"""Zawgyi in what staff enter is refused with its line and the text in Unicode, everywhere
staff type: templates and configuration (`bot config check`), figure files, `bot figures set`.

The Zawgyi samples are the shipped Burmese wording typed in a Zawgyi keyboard: each one's
Unicode form is what the refusal must suggest. /setfigures is in tests/telegram_bot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import zawgyi
from tests.conftest import ROOT, Cli, dump_database
from tests.figures.helpers import assert_refused, seed, write

# (Zawgyi, the same words in Unicode)
PRISONERS = ("ႏိုင္ငံေရးအက်ဥ္းသားမ်ား", "နိုင်ငံရေးအကျဉ်းသားများ")
KILLED = ("စစ္ေကာင္စီ၏ အသတ္ခံရသူ", "စစ်ကောင်စီ၏ အသတ်ခံရသူ")
BURMA = ("ျမန္မာႏိုင္ငံ", "မြန်မာနိုင်ငံ")
SPRING = ("ေႏြဦးေတာ္လွန္ေရး", "နွေဦးတော်လှန်ရေး")
SHIPPED = [
    *sorted((ROOT / "messages").rglob("*.j2")),
    *sorted((ROOT / "messages").rglob("*.toml")),
    *sorted((ROOT / "config").glob("*.toml")),
]


def _icu() -> bool:
    return zawgyi.converted("ျ") is not None


@pytest.mark.parametrize(("zawgyi_text", "unicode"), [PRISONERS, KILLED, BURMA, SPRING])
def test_zawgyi_is_found_and_its_unicode_form_suggested(zawgyi_text: str, unicode: str) -> None:
    assert zawgyi.is_zawgyi(zawgyi_text)
    assert not zawgyi.is_zawgyi(unicode)
    found = zawgyi.problem(zawgyi_text)
    assert found is not None and found.startswith("is Zawgyi-encoded Burmese, not Unicode; ")
    if _icu():
        assert found.endswith(f"in Unicode it reads: {unicode}")
    else:
        assert found.endswith(
            "convert it to Unicode (a Zawgyi-to-Unicode converter) and enter it again"
        )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "killed by the junta",
        "(၂၅၉၃၁)ဦး",  # digits and a short word: encoding-neutral or too short to tell
        "{{ a }}၊ {{ b }}။",  # the two marks alone are written alike in both encodings
        "ဦး",
        PRISONERS[1],
    ],
)
def test_unicode_latin_and_neutral_text_pass(text: str) -> None:
    assert zawgyi.problem(text) is None
    assert zawgyi.line_problems(text, "f") == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_line_of_the_shipped_wording_is_taken_for_zawgyi(path: Path) -> None:
    assert zawgyi.file_problems(path, path.name) == []


def test_lines_are_counted_from_one_and_only_zawgyi_lines_are_named(tmp_path: Path) -> None:
    text = f"English\n{KILLED[1]}\n{KILLED[0]} (၄၄၇၄)\n\n{BURMA[0]}\n"
    found = zawgyi.line_problems(text, "card.toml")
    assert [line.split(": ", 1)[0] for line in found] == ["card.toml:3", "card.toml:5"]
    if _icu():
        assert found[0].endswith(f"in Unicode it reads: {KILLED[1]} (၄၄၇၄)")
    path = tmp_path / "x.j2"
    path.write_bytes(b"\xff\xfe not UTF-8")  # another check reports the encoding
    assert zawgyi.file_problems(path, "x.j2") == []


def _replace(path: Path, old: str, new: str) -> int:
    """Replace `old` by `new` in `path`; the line it was on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


# (file, text in Unicode, the same with its Burmese typed in Zawgyi): a whole line each, as a
# paragraph pasted from an older document arrives. A line mixing both encodings is judged as a
# whole; single words are too short to tell the encodings apart without false alarms.
CONFIG_LINES = [
    ("config/figures.toml", f'my = "{KILLED[1]}"', f'my = "{KILLED[0]}"'),
    (
        "messages/anniversary/text.my.txt.j2",
        "{% set n = anniversary.number %}\n",
        f"{{% set n = anniversary.number %}}\n{SPRING[0]} {PRISONERS[0]}\n",
    ),
]


@pytest.mark.parametrize(("file", "unicode", "typed"), CONFIG_LINES)
def test_config_check_names_the_line_and_suggests_the_unicode(
    cli: Cli, home: Path, file: str, unicode: str, typed: str
) -> None:
    line = _replace(home / file, unicode, typed) + typed.count("\n") - unicode.count("\n")
    result = cli("config", "check")
    assert result.exit_code == 1, result.output
    expected = f"{file}:{line}: Zawgyi-encoded Burmese, not Unicode; "
    assert expected in result.output, result.output
    if _icu():
        suggested = result.output.split(expected, 1)[1].splitlines()[0]
        wanted = KILLED[1] if "figures" in file else f"{SPRING[1]} {PRISONERS[1]}"
        assert wanted in suggested


def test_an_import_with_a_zawgyi_source_is_refused_whole(
    cli: Cli, tmp_path: Path, db_url: str
) -> None:
    path = write(
        tmp_path,
        "figures.csv",
        "date,figure,value,source\n"
        "2024-01-31,killed,4474,https://aappb.org/?p=27322\n"
        f"2024-01-31,arrested,25931,{BURMA[0]} https://aappb.org/?p=27322\n",
    )
    seed(cli)
    before = dump_database(db_url)
    result = cli("figures", "import", str(path))
    assert_refused(
        result,
        f"{path}:3: the source of arrested is Zawgyi-encoded Burmese, not Unicode;",
    )
    if _icu():
        assert f"in Unicode it reads: {BURMA[1]} https://aappb.org/?p=27322" in result.output
    assert dump_database(db_url) == before


def test_a_correction_given_in_zawgyi_is_refused(cli: Cli, db_url: str) -> None:
    assert (
        cli(
            "figures", "set", "killed=4474", "--as-of", "2024-01-31", "--source", "https://a.org/"
        ).exit_code
        == 0
    )
    before = dump_database(db_url)
    result = cli(
        "figures",
        "set",
        "killed=4470",
        "--as-of",
        "2024-01-31",
        "--source",
        "https://a.org/",
        "--correction",
        PRISONERS[0],
    )
    assert_refused(result, "the reason for the correction is Zawgyi-encoded Burmese, not Unicode")
    assert dump_database(db_url) == before
    # The same reason in Unicode goes through: nothing that is Unicode is ever touched.
    result = cli(
        "figures",
        "set",
        "killed=4470",
        "--as-of",
        "2024-01-31",
        "--source",
        "https://a.org/",
        "--correction",
        PRISONERS[1],
    )
    assert result.exit_code == 0, result.output

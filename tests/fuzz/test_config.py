"""Whatever replaces a value or a line of the settings, `bot config check` names the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
FILES = ("config/bot.toml", "config/figures.toml")

junk_values = st.one_of(
    st.sampled_from(
        [
            '""',
            "''",
            "0",
            "-1",
            "1e400",
            "nan",
            "inf",
            "true",
            "[]",
            "{}",
            "[1, 'a']",
            '"Mars/Olympus"',
            '"sqlite:///"',
            '"ftp://x"',
            '"x" "y"',
            "2021-02-30",
            "1979-05-27T07:32:00Z",
            '"\\u0000"',
            '"ရဲ"',
            '"' + "a" * 5000 + '"',
            "99999999999999999999999",
            "{ en = 1 }",
            "[[x]]",
        ]
    ),
    st.text(max_size=20),
)
junk_lines = st.one_of(
    junk_values,
    st.sampled_from(["[organisation]", "[[figure]]", "key = 1", "= 1", "[", "x.y.z = 1"]),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(FILES))
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines(keepends=True)
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    line = lines[index]
    if "=" in line and not line.lstrip().startswith("#") and draw(st.booleans()):
        key = line.split("=", 1)[0]
        lines[index] = f"{key}= {draw(junk_values)}\n"
    else:
        lines[index] = draw(junk_lines) + "\n"
    return name, "".join(lines)


@st.composite
def raw_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FILES))
    data = (ROOT / name).read_bytes()
    where = draw(st.integers(min_value=0, max_value=len(data)))
    return name, data[:where] + draw(st.binary(min_size=1, max_size=8)) + data[where:]


def _restore(home: Path) -> None:
    # The home fixture is shared by every example of a test: start each from the shipped files.
    for shipped in FILES:
        (home / shipped).write_bytes((ROOT / shipped).read_bytes())


def _check(home: Path, tmp_path: Path, name: str) -> None:
    cli = Cli(home, f"sqlite:///{tmp_path / 'property.sqlite3'}")
    result = cli("config", "check")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 1:
        assert Path(name).name in result.output, result.output


SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(edit=edits())
def test_a_changed_line_is_named_or_harmless(
    home: Path, tmp_path: Path, edit: tuple[str, str]
) -> None:
    name, text = edit
    _restore(home)
    (home / name).write_text(text, encoding="utf-8")
    _check(home, tmp_path, name)


@SETTINGS
@given(edit=raw_bytes())
def test_random_bytes_are_named_or_harmless(
    home: Path, tmp_path: Path, edit: tuple[str, bytes]
) -> None:
    name, data = edit
    _restore(home)
    (home / name).write_bytes(data)
    _check(home, tmp_path, name)

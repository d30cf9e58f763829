"""Whatever staff type into a template, `bot config check` and `bot preview` answer in words."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli

TEMPLATE = Path("messages/daily-briefing/text.en.txt.j2")

fragments = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{% if %}",
        "{% if on %}x{% endif %}",
        "{% endif %}",
        "{% for x in figures %}{{ x }}{% endfor %}",
        "{% for %}",
        "{{ figures.x }}",
        "{{ figures.killed }}",
        "{{ figures.killed | count }}",
        "{{ figures.sagaing.killed | count }}",
        "{{ year.killed }}",
        "{{ figures['killed'] }}",
        "{{ figures[0] }}",
        "{{ nobody }}",
        "{{ on | date }}",
        "{{ on | nofilter }}",
        "{{ figures.killed | count(1, 2, 3) }}",
        "{{ 1 / 0 }}",
        "{{ 'a' * 10 }}",
        "{{ days_since('nothing') }}",
        "{{ days_since() }}",
        "{{ difference(figures.killed) }}",
        "{{ events.nope.date }}",
        "{{ org.name.x.y }}",
        "{{ range(10) | list }}",
        "{% set n = %}",
        "{% set n = 1 %}{{ n }}",
        "{% macro m() %}x{% endmacro %}{{ m() }}",
        "{% include 'x' %}",
        "{% extends 'nope.j2' %}",
        "{% raw %}",
        "{{ lipsum() }}",
        "{{ figures.killed.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "\ufeff",
        "\x00",
        "\r\n",
        "ရဲ ၁၂၃",
    ]
)
insertions = st.one_of(fragments, fragments, st.text(max_size=10))


@st.composite
def edited_templates(draw: st.DrawFn, original: str) -> str:
    text = original
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.integers(min_value=0, max_value=len(text)))
        if draw(st.integers(0, 4)) == 0:
            end = draw(st.integers(min_value=where, max_value=min(len(text), where + 20)))
            text = text[:where] + text[end:]
        else:
            text = text[:where] + draw(insertions) + text[where:]
    return text


ORIGINAL = (Path(__file__).resolve().parents[2] / TEMPLATE).read_text(encoding="utf-8")


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=edited_templates(ORIGINAL))
def test_an_edited_template_is_checked_and_previewed_without_a_traceback(
    home: Path, tmp_path: Path, text: str
) -> None:
    cli = Cli(home, f"sqlite:///{tmp_path / 'property.sqlite3'}")
    (home / TEMPLATE).write_text(text, encoding="utf-8", newline="")

    result = cli("config", "check")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    event(f"check exit {result.exit_code}")
    if result.exit_code == 1:
        assert "messages/" in result.output, result.output

    preview = cli("preview", "daily-briefing", "--on", "2024-02-01")
    assert preview.exception is None or isinstance(preview.exception, SystemExit), preview.output
    assert "Traceback" not in preview.output
    event(f"preview exit {preview.exit_code}")

"""Whatever is in a JSON file, `bot figures import` answers with a message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli, dump_database
from tests.figures.helpers import import_any

FIGURES = ("killed", "arrested", "detained", "sagaing.killed", "kiled", " killed ")
MY_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")

burmese = st.text(alphabet="၀၁၂၃၄၅၆၇၈၉ကခဂစဆဇ်ိုးဦ ()", max_size=20)
nan_like = st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "1e309", "-0", "null"])
huge = st.integers(min_value=-(10**40), max_value=10**40)
dates = st.one_of(
    st.dates().map(str),
    st.tuples(st.dates(), st.dates()).map(lambda s: f"{s[0]}..{s[1]}"),
    st.text(max_size=12),
    burmese,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    huge,
    st.integers(min_value=0, max_value=50_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=15),
    burmese,
    nan_like,
    huge.map(lambda n: str(n).translate(MY_DIGITS)),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
values = st.one_of(st.integers(min_value=0, max_value=50_000), scalars, anything)
rows = st.fixed_dictionaries(
    {
        "date": st.one_of(dates, anything),
        "figure": st.one_of(st.sampled_from(FIGURES), anything),
        "value": values,
        "source": st.one_of(st.just("https://aappb.org/?p=1"), burmese, anything),
    }
)
partial_rows = rows.flatmap(
    lambda row: st.lists(st.sampled_from(sorted(row)), unique=True).map(
        lambda keep: {k: row[k] for k in keep}
    )
)
snapshots = st.fixed_dictionaries(
    {},
    optional={
        "as_of": st.one_of(dates, anything),
        "period": st.one_of(dates, anything),
        "source": st.one_of(st.just("https://aappb.org/?p=1"), burmese, anything),
        "values": st.one_of(
            st.dictionaries(st.sampled_from(FIGURES), values, max_size=4),
            anything,
        ),
    },
)
documents = st.one_of(
    st.lists(st.one_of(rows, rows, partial_rows, anything), max_size=5),
    snapshots,
    anything,
)


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    style = draw(st.sampled_from(["json", "json", "json", "nan", "deep", "bigint", "text"]))
    if style == "json":
        return json.dumps(draw(documents), ensure_ascii=draw(st.booleans())).encode()
    if style == "nan":
        # Python's json accepts NaN/Infinity literals; a staff tool might write them.
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "12.5", "1E3"]))
        return (
            f'[{{"date": "2024-01-31", "figure": "killed", "value": {literal}, "source": "x"}}]'
        ).encode()
    if style == "deep":
        depth = draw(st.integers(min_value=500, max_value=5000))
        return ("[" * depth + "]" * depth).encode()
    if style == "bigint":
        digits = draw(st.integers(min_value=1, max_value=6000))
        return (
            f'{{"as_of": "2024-01-31", "source": "x", "values": {{"killed": {"9" * digits}}}}}'
        ).encode()
    return draw(st.text(max_size=40)).encode()


def _import(home: Path, tmp_path: Path, content: bytes) -> None:
    result = import_any(home, tmp_path, content, ".json")
    event(f"exit {result.exit_code}")


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=json_files())
def test_import_answers_every_json_without_a_traceback(
    home: Path, tmp_path: Path, content: bytes
) -> None:
    _import(home, tmp_path, content)


def test_a_number_too_long_for_python_is_refused_not_crashed(home: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'long.sqlite3'}"
    cli = Cli(home, url)
    path = tmp_path / "long.json"
    path.write_text(
        f'{{"as_of": "2024-01-31", "source": "x", "values": {{"killed": {"9" * 4301}}}}}',
        encoding="utf-8",
    )
    assert cli("figures", "show").exit_code == 0
    before = dump_database(url)
    result = cli("figures", "import", str(path))
    assert result.exit_code == 1 and "too long to be a count" in result.output
    assert dump_database(url) == before

"""Whatever is in a CSV file, `bot figures import` answers with a message, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.figures.helpers import import_any

FIGURES = (
    "killed",
    "killed_in_custody",
    "arrested",
    "detained",
    "serving_sentence",
    "released",
    "death_row",
    "sentenced_in_absentia",
    "sentenced_to_death_in_absentia",
    "sentenced_to_death",
    "evading_arrest_warrants",
    "sentenced",
    "tortured_to_death",
    "sagaing.arrested",
    "sagaing.killed",
)
MY_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
HEADER = ["date", "figure", "value", "source"]

noise = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(',"\r\n .-'),
        st.sampled_from("၀၁၂၃၄၅၆၇၈၉ကခဂစဆဇ်ိုးဦ"),
    ),
    max_size=15,
)
burmese = st.text(alphabet="၀၁၂၃၄၅၆၇၈၉ကခဂစဆဇ်ိုးဦ ()", max_size=20)
days = st.dates(min_value=dt.date(2021, 2, 1), max_value=dt.date(2024, 12, 31))
dates = st.one_of(
    days.map(str),
    days.map(str),
    st.tuples(days, days).map(lambda span: f"{span[0]}..{span[1]}"),
    noise,
)
counts = st.integers(min_value=-(10**14), max_value=10**14)
values = st.one_of(
    st.integers(min_value=0, max_value=50_000).map(str),
    st.integers(min_value=0, max_value=50_000).map(str),
    counts.map(str),
    counts.map(lambda n: f"{n:,}"),
    counts.map(lambda n: str(n).translate(MY_DIGITS)),
    st.floats().map(repr),
    noise,
)
figures = st.one_of(
    st.sampled_from(FIGURES),
    st.sampled_from(FIGURES),
    st.sampled_from(("kiled", "Killed", " killed ")),
    noise,
)
sources = st.one_of(st.just("https://aappb.org/?p=27322"), burmese, noise)
rows = st.lists(st.lists(st.one_of(dates, figures, values, sources), max_size=6), max_size=4)
valid_rows = st.lists(
    st.tuples(
        days.map(str),
        st.sampled_from(FIGURES[:11]),
        st.integers(min_value=0, max_value=50_000).map(str),
        st.one_of(st.just("https://aappb.org/?p=27322"), burmese, noise),
    ).map(list),
    min_size=1,
    max_size=5,
)
random_rows = st.lists(st.tuples(dates, figures, values, sources).map(list), max_size=5)
headers = st.one_of(
    st.just(HEADER),
    st.permutations(HEADER),
    st.lists(st.one_of(st.sampled_from(HEADER), noise), max_size=5),
)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """Well-formed CSV, CSV joined by hand (quotes and commas unescaped), or any text or bytes."""
    header = draw(st.one_of(st.just(HEADER), headers))
    body = draw(valid_rows)
    if draw(st.booleans()):
        body += draw(random_rows) + draw(rows)
    body = draw(st.permutations(body))
    style = draw(st.sampled_from(["csv", "csv", "joined", "text", "bytes"]))
    if style == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator=draw(line_ends)).writerows([header, *body])
        text = out.getvalue()
    elif style == "joined":
        text = "".join(",".join(row) + draw(line_ends) for row in [header, *body])
    elif style == "text":
        text = draw(noise)
    else:
        return draw(st.binary(max_size=200))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode("utf-8")


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=csv_files())
def test_import_answers_every_csv_without_a_traceback(
    home: Path, tmp_path: Path, content: bytes
) -> None:
    result = import_any(home, tmp_path, content, ".csv")
    event("stored" if result.output.startswith("Stored ") else f"exit {result.exit_code}")
    if result.exit_code == 1:
        assert result.output.startswith(("Refused, nothing was changed", "Error: ")), result.output
    else:
        assert result.output.startswith(("Stored ", "Nothing new to store.")), result.output

"""`bot figures import FILE`: the organisation's own files go in; bad files change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import Cli, dump_database
from tests.figures.helpers import (
    AAPP_CSV,
    SAMPLE_CSV,
    assert_refused,
    history,
    seed,
    shown,
    write,
)

HEADER = "date,figure,value,source\n"
SPAN = "2023-02-01..2024-01-31"


def import_(cli: Cli, path: Path, *args: str) -> Result:
    return cli("figures", "import", str(path), *args)


@pytest.mark.parametrize(
    ("as_of", "figure", "value"),
    [
        pytest.param("2024-01-31", "killed", "4474", id="killed 4474 at the anniversary"),
        pytest.param("2024-01-31", "arrested", "25931", id="arrested 25931 at the anniversary"),
        pytest.param("2024-01-31", "detained", "19993", id="detained 19993 at the anniversary"),
        pytest.param("2023-01-04", "detained", "13356", id="detained 13356 before the amnesty"),
        pytest.param("2023-01-05", "detained", "13284", id="detained 13284 after the amnesty"),
    ],
)
def test_the_organisations_file_imports_as_it_is(
    cli: Cli, as_of: str, figure: str, value: str
) -> None:
    result = import_(cli, AAPP_CSV)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Stored ")
    assert shown(cli, "--as-of", as_of)[figure][1:3] == [value, as_of]


def test_importing_the_same_file_again_stores_nothing_new(cli: Cli, db_url: str) -> None:
    assert import_(cli, AAPP_CSV).exit_code == 0
    before = dump_database(db_url)
    result = import_(cli, AAPP_CSV)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Nothing new to store.")
    assert dump_database(db_url) == before


def test_detained_falling_after_the_amnesty_was_accepted(cli: Cli) -> None:
    assert import_(cli, AAPP_CSV).exit_code == 0
    rows = {row[0]: row[1] for row in history(cli, "detained")}
    assert rows["2023-01-04"] == "13356"
    assert rows["2023-01-05"] == "13284"


@pytest.mark.parametrize(
    ("figure", "value"),
    [
        pytest.param("tortured_to_death", "28", id="tortured to death in the third year"),
        pytest.param("sentenced_to_death", "31", id="sentenced to death in the third year"),
        pytest.param("arrested", "1988", id="arrested in the third year"),
        pytest.param("sentenced", "1697", id="sentenced in the third year"),
        pytest.param("released", "873", id="released in the third year"),
        pytest.param("sagaing.arrested", "309", id="arrested in Sagaing in the third year"),
        pytest.param("sagaing.killed", "770", id="killed in Sagaing in the third year"),
    ],
)
def test_the_shipped_sample_imports_with_its_period_rows(cli: Cli, figure: str, value: str) -> None:
    result = import_(cli, SAMPLE_CSV)
    assert result.exit_code == 0, result.output
    assert [SPAN, value] in [row[:2] for row in history(cli, figure)]
    assert shown(cli, "--as-of", "2024-01-31")["killed"][1] == "4474"


GOOD_FILES = [
    pytest.param(
        "snapshot.json",
        json.dumps({"as_of": "2024-01-31", "source": "s", "values": {"killed": 4474}}),
        [("killed", "2024-01-31", "4474")],
        id="a JSON snapshot object",
    ),
    pytest.param(
        "period.json",
        json.dumps({"period": SPAN, "source": "s", "values": {"tortured_to_death": 28}}),
        [("tortured_to_death", SPAN, "28")],
        id="a JSON snapshot for a period",
    ),
    pytest.param(
        "rows.json",
        json.dumps(
            [
                {"date": "2024-01-31", "figure": "killed", "value": 4474, "source": "s"},
                {"date": "2024-01-31", "figure": "arrested", "value": "25931", "source": "s"},
            ]
        ),
        [("killed", "2024-01-31", "4474"), ("arrested", "2024-01-31", "25931")],
        id="a JSON list of rows",
    ),
    pytest.param(
        "excel.csv",
        "\ufeff" + HEADER.replace("\n", "\r\n") + "2024-01-31,killed,4474,s\r\n",
        [("killed", "2024-01-31", "4474")],
        id="a CSV with a byte-order mark and CRLF line ends",
    ),
    pytest.param(
        "burmese.csv",
        HEADER + '2024-01-31,killed,၄၄၇၄,မြန်မာ\n2024-01-31,arrested,"25,931","a, b"\n',
        [("killed", "2024-01-31", "4474"), ("arrested", "2024-01-31", "25931")],
        id="a CSV with burmese digits and quoted grouped numbers",
    ),
    pytest.param(
        "reordered.csv",
        "Source,Value,note,Figure,Date\ns,4474,checked,killed,2024-01-31\n\n",
        [("killed", "2024-01-31", "4474")],
        id="a CSV with its columns in another order and an extra column",
    ),
    pytest.param(
        "span.csv",
        HEADER + f"{SPAN},tortured_to_death,28,s\n",
        [("tortured_to_death", SPAN, "28")],
        id="a CSV period row",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), GOOD_FILES)
def test_good_files_are_stored(
    cli: Cli, tmp_path: Path, name: str, content: str, expected: list[tuple[str, str, str]]
) -> None:
    result = import_(cli, write(tmp_path / "files", name, content))
    assert result.exit_code == 0, result.output
    stored = f"Stored {len(expected)} value{'s' if len(expected) > 1 else ''}."
    assert result.output.strip() == stored
    for figure, when, value in expected:
        assert [when, value] in [row[:2] for row in history(cli, figure)]


BAD_FILES = [
    pytest.param(
        "bad.csv",
        HEADER
        + "2024-02-01,killed,4500,s\n2024-02-01,arrested,abc,s\n2024-02-01,detained,20000,s\n",
        ["bad.csv:3", "arrested", "abc"],
        id="one bad row in the middle",
    ),
    pytest.param(
        "bad.csv",
        "date,figure,source\n2024-02-01,killed,s\n",
        ["bad.csv:1", "missing: value"],
        id="a column missing from the header",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,kiled,4500,s\n",
        ["bad.csv:2", "kiled", "did you mean 'killed'"],
        id="an unknown figure",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,4500,s\n2024-02-01,arrested,1.5,s\n",
        ["bad.csv:3", "arrested", "1.5"],
        id="a fraction",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,-5,s\n",
        ["bad.csv:2", "killed", "-5", "negative"],
        id="a negative count",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,4500\n",
        ["bad.csv:2", "expected 4 columns, found 3"],
        id="a short row",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2021-03-01,arrested,25,931,https://aappb.org/?p=13787\n",
        ["bad.csv:2", "expected 4 columns, found 5"],
        id="an unquoted grouped number splits into two cells",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-30,killed,4500,s\n",
        ["bad.csv:2", "2024-02-30", "YYYY-MM-DD"],
        id="a day that does not exist",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,4500,s\n2024-02-03,killed,4490,s\n",
        ["bad.csv:3", "4500", "4490", "bad.csv:2"],
        id="a running total that falls below an earlier row",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-05,killed,4400,s\n",
        ["bad.csv:2", "4474", "4400"],
        id="a running total that falls below a stored value",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,4500,s\n2024-02-01,killed,4501,t\n",
        ["bad.csv:3", "bad.csv:2", "twice", "4500", "4501"],
        id="one figure and date twice with different values",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-01-31,killed,4475,s\n",
        ["bad.csv:2", "already entered as 4474", "4475"],
        id="a different value for a date already entered",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,sentenced_to_death,150,s\n2024-02-01,death_row,100,s\n"
        "2024-02-01,sentenced_to_death_in_absentia,45,s\n",
        [
            "bad.csv:2",
            "sentenced_to_death == death_row + sentenced_to_death_in_absentia",
            "150",
            "100",
            "45",
        ],
        id="rows that break a relation",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-01-31,tortured_to_death,28,s\n",
        ["bad.csv:2", "tortured_to_death", "span"],
        id="a period-only figure with a single date",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-01-31..2023-02-01,tortured_to_death,28,s\n",
        ["bad.csv:2", "starts after it ends"],
        id="a reversed period",
    ),
    pytest.param(
        "bad.csv",
        HEADER + "2024-02-01,killed,4500,\n",
        ["bad.csv:2", "killed", "no source"],
        id="a row without a source",
    ),
    pytest.param(
        "bad.csv",
        HEADER
        + '2024-02-01,killed,4500,"AAPP briefing\n'
        + "2024-02-02,killed,4600,https://x\n2024-02-02,arrested,26000,https://x\n",
        ["bad.csv:2", "quote"],
        id="a quote never closed swallows the later rows",
    ),
    pytest.param("empty.csv", "", ["empty.csv", "empty"], id="an empty file"),
    pytest.param(
        "latin1.csv",
        HEADER.encode() + b"2024-02-01,killed,4500,caf\xe9\n",
        ["latin1.csv", "not UTF-8"],
        id="bytes that are not UTF-8",
    ),
    pytest.param(
        "latin1.csv",
        HEADER.encode() + b"2024-02-01,killed,4500,caf\xe9\n",
        ["latin1.csv:2"],
        id="bytes that are not UTF-8 named by their line",
    ),
    pytest.param(
        "header-only.csv",
        HEADER,
        ["header-only.csv"],
        id="a header and no rows names the file",
    ),
    pytest.param(
        "bad.json",
        '[\n  {"date": "2024-02-01",\n   "figure": "killed"\n   "value": 4500}\n]\n',
        ["bad.json:4", "not valid JSON"],
        id="JSON with a syntax error",
    ),
    pytest.param(
        "bad.json",
        json.dumps(
            [
                {"date": "2024-02-01", "figure": "killed", "value": 4500, "source": "s"},
                {"date": "2024-02-01", "figure": "arrested", "source": "s"},
            ]
        ),
        ["bad.json", "item 2", "missing value"],
        id="a JSON row without a value",
    ),
    pytest.param(
        "bad.json",
        json.dumps({"as_of": "2024-02-01", "source": "s", "values": {"killed": 12.5}}),
        ["bad.json", "killed", "12.5"],
        id="a JSON snapshot with a fraction",
    ),
    pytest.param(
        "bad.json",
        json.dumps({"as_of": "2024-02-01", "values": {"killed": 4500}}),
        ["bad.json", "source"],
        id="a JSON snapshot without a source",
    ),
    pytest.param(
        "bad.json",
        json.dumps("killed=4500"),
        ["bad.json", "list of rows or a snapshot object"],
        id="JSON that is neither rows nor a snapshot",
    ),
    pytest.param(
        "figures.xlsx",
        b"PK\x03\x04",
        ["figures.xlsx", ".xlsx", "use .csv or .json"],
        id="a spreadsheet",
    ),
    pytest.param("missing.csv", None, ["missing.csv", "not found"], id="a file that is not there"),
]


@pytest.mark.parametrize(("name", "content", "fragments"), BAD_FILES)
def test_bad_files_are_refused_and_change_nothing(
    cli: Cli,
    db_url: str,
    tmp_path: Path,
    name: str,
    content: str | bytes | None,
    fragments: list[str],
) -> None:
    seed(cli)
    before = dump_database(db_url)
    result = import_(cli, write(tmp_path / "files", name, content))
    assert_refused(result, *fragments)
    assert dump_database(db_url) == before


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        pytest.param(
            "nul.csv",
            HEADER + "2024-02-01,killed,4500,https://x\x00y\n",
            ["nul.csv:2", "U+0000"],
            id="a NUL character in a source",
        ),
        pytest.param(
            "surrogate.json",
            '{"as_of": "2024-02-01", "source": "\\ud800", "values": {"killed": 4500}}',
            ["surrogate.json", "U+D800"],
            id="a lone surrogate escape in a JSON source",
        ),
        pytest.param(
            "deep.json", "[" * 100_000, ["deep.json", "nested too deeply"], id="deeply nested JSON"
        ),
    ],
)
def test_odd_files_are_refused_never_a_traceback(
    cli: Cli, db_url: str, tmp_path: Path, name: str, content: str, fragments: list[str]
) -> None:
    seed(cli)
    before = dump_database(db_url)
    result = import_(cli, write(tmp_path / "files", name, content))
    assert_refused(result, *fragments)
    assert dump_database(db_url) == before


@pytest.mark.parametrize(
    ("seeded", "output", "killed"),
    [
        pytest.param(False, "Stored 91 values.", "4474", id="an empty store is filled"),
        pytest.param(
            True,
            "The store already holds figures; nothing imported.",
            "100",
            id="a store with figures is left alone",
        ),
    ],
)
def test_if_empty(cli: Cli, db_url: str, seeded: bool, output: str, killed: str) -> None:
    if seeded:
        entered = cli("figures", "set", "killed=100", "--as-of", "2024-01-31", "--source", "s")
        assert entered.exit_code == 0, entered.output
    before = dump_database(db_url)
    result = import_(cli, SAMPLE_CSV, "--if-empty")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == output
    assert shown(cli, "--as-of", "2024-01-31")["killed"][1] == killed
    if seeded:
        assert dump_database(db_url) == before

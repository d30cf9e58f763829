"""`bot figures show` with values counted over a span: shown with their span, never as missing."""

from __future__ import annotations

from tests.conftest import Cli
from tests.figures.helpers import seed, shown, table

SPAN = ("--period", "2023-02-01..2024-01-31", "--source", "https://aappb.org/?p=27322")


def spans(output: str) -> dict[str, list[str]]:
    """The second table: {figure: [label, value, span, source]}."""
    _, _, rest = output.partition("Counted over a span")
    return {row[0]: row[1:] for row in table(rest)}


def test_values_entered_for_a_span_are_listed_with_their_span(cli: Cli) -> None:
    seed(cli)  # killed, arrested and detained as running totals
    entered = cli("figures", "set", "arrested=1988", "sentenced=1697", "released=873", *SPAN)
    assert entered.exit_code == 0, entered.output

    result = cli("figures", "show", "--as-of", "2024-02-01")

    assert result.exit_code == 0, result.output
    running = shown(cli, "--as-of", "2024-02-01")
    assert running["arrested"][1:3] == ["25931", "2024-01-31"]  # the running total, unmixed
    assert running["released"][1:3] == ["—", "for a span only (below)"]
    assert running["death_row"][1:3] == ["—", "not entered"]
    counted = spans(result.output)
    assert set(counted) == {"arrested", "sentenced", "released"}
    assert counted["sentenced"][1:] == [
        "1697",
        "2023-02-01..2024-01-31",
        "https://aappb.org/?p=27322",
    ]
    assert counted["released"][1] == "873"


def test_a_span_that_ends_after_the_day_asked_is_not_shown(cli: Cli) -> None:
    entered = cli("figures", "set", "sentenced=1697", *SPAN)
    assert entered.exit_code == 0, entered.output

    before = cli("figures", "show", "--as-of", "2024-01-30")
    after = cli("figures", "show", "--as-of", "2024-01-31", "--lang", "my")

    assert "Counted over a span" not in before.output
    assert "No figures entered on or before 2024-01-30" in before.output
    assert spans(after.output)["sentenced"][1:3] == ["၁၆၉၇", "၂၀၂၃-၀၂-၀၁..၂၀၂၄-၀၁-၃၁"]

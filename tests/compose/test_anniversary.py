"""The anniversary statement renders like the organisation's own, for any year."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from bot.app import App
from bot.compose.drafts import Failure
from tests.compose.helpers import SEED_TOTALS, SEED_YEAR, compose, enter_seed, only_draft, put

SEED = Path(__file__).resolve().parents[1] / "data" / "third-anniversary-statement.txt"


def seed_paragraphs() -> list[str]:
    """The statement's paragraphs from the heading to the closing request."""
    paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    start = next(i for i, p in enumerate(paragraphs) if p.startswith("To mark the end"))
    end = next(i for i, p in enumerate(paragraphs) if p.startswith("We request"))
    return paragraphs[start : end + 1]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.text: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h2:
            self.headings.append(data.strip())


def test_third_anniversary_email_reads_like_the_statement(app: App) -> None:
    enter_seed(app)
    draft = only_draft(compose(app, "anniversary", "2024-02-01", ["en"], ["email"]))
    text = draft.parts[0]
    for paragraph in seed_paragraphs():
        assert paragraph in text, f"missing from the email: {paragraph[:80]}…"
    numbers = set(re.findall(r"\((\d+)\)", text))
    expected = {str(v) for v in [*SEED_TOTALS.values(), *SEED_YEAR.values()]}
    assert expected <= numbers
    assert draft.subject == "Statement on Third Year Anniversary of Spring Revolution"
    parsed = _Text()
    parsed.feed(draft.html or "")
    assert (
        "Third Year of the Spring Revolution from February 1, 2023 – January 31, 2024"
        in parsed.headings
    )
    html_numbers = set(re.findall(r"\((\d+)\)", "".join(parsed.text)))
    assert expected <= html_numbers
    # The inlined CSS reaches the elements themselves (mail clients drop <style>).
    assert re.search(r'<h2 style="[^"]*color', draft.html or "")


def test_fourth_anniversary_counts_the_next_year(app: App) -> None:
    enter_seed(app)
    year4 = {
        "tortured_to_death": 41,
        "sentenced_to_death": 52,
        "arrested": 2306,
        "sentenced": 1803,
        "released": 911,
        "sagaing.arrested": 412,
        "sagaing.killed": 833,
    }
    totals = {
        "arrested": 29560,
        "detained": 22112,
        "serving_sentence": 10330,
        "killed": 6231,
        "killed_in_custody": 1890,
    }
    put(app, totals, "2025-01-31")
    put(app, year4, "2025-01-31", period_start="2024-02-01")
    draft = only_draft(compose(app, "anniversary", "2025-02-01", ["en"], ["email"]))
    text = draft.parts[0]
    assert "Statement on Fourth Year Anniversary of Spring Revolution" in text
    assert "Fourth Year of the Spring Revolution from February 1, 2024 – January 31, 2025" in text
    assert "in the fourth year of the Spring Revolution, (2306) have been arrested" in text
    assert "during the fifth year of the Spring Revolution" in text
    for value in [*totals.values(), *year4.values()]:
        assert f"({value})" in text
    # Nothing of the third year leaks into the fourth.
    for value in SEED_YEAR.values():
        assert f"({value})" not in text


def test_a_year_without_its_figures_is_refused_with_the_reason(app: App) -> None:
    enter_seed(app)
    put(app, {"killed": 6231}, "2025-01-31")
    editions = compose(app, "anniversary", "2025-02-01", ["en"], ["email", "x", "telegram"])
    assert all(isinstance(e, Failure) for e in editions)
    for edition in editions:
        assert isinstance(edition, Failure)
        assert "has no value for 2024-02-01..2025-01-31" in edition.reason
        assert "messages/anniversary/" in edition.reason


def test_figures_used_are_listed_with_their_sources(app: App) -> None:
    enter_seed(app)
    draft = only_draft(compose(app, "anniversary", "2024-02-01", ["en"], ["x"]))
    slots = {use.slot: use for use in draft.figures}
    assert slots["figures.killed"].value == 4474
    assert slots["year.arrested"].value == 1988
    assert slots["year.arrested"].period_start is not None
    assert all(use.source.startswith("https://aappb.org") for use in draft.figures)


def test_a_date_that_is_not_an_anniversary_is_explained(app: App) -> None:
    import pytest

    from bot.errors import ConfigError

    enter_seed(app)
    with pytest.raises(ConfigError, match=r"not an anniversary .* next one is 2025-02-01"):
        compose(app, "anniversary", "2024-06-01")

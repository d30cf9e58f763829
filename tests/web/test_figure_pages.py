"""A page per figure, the list of figures, and the home page's small charts (in process)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from bot.app import App
from bot.figures.entries import Entry, enter
from bot.figures.importer import read_file
from tests.compose.helpers import enter_seed, put
from tests.conftest import FIXED_NOW, ROOT
from tests.web.helpers import Web

SAMPLE = ROOT / "config" / "sample-figures.csv"
KILLED = [  # (date, value) of `killed` in the sample, oldest first
    ("2021-03-21", "250"),
    ("2021-05-20", "810"),
    ("2021-12-20", "1,348"),
    ("2022-05-19", "1,850"),
    ("2022-05-20", "1,851"),
    ("2023-01-04", "2,701"),
    ("2023-01-05", "2,702"),
    ("2023-01-31", "2,940"),
    ("2023-05-15", "3,509"),
    ("2023-07-13", "3,790"),
    ("2023-11-20", "4,192"),
    ("2024-01-31", "4,474"),
]


class _Text(HTMLParser):
    """The text a reader sees, outside <title>s of SVG marks (tooltips) and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html.split("<main>", 1)[1])
    return parser.parts


def load_sample(app: App) -> None:
    enter(app.engine, app.book, read_file(SAMPLE), entered_by="test", now=FIXED_NOW, origin="test")


def history_rows(html: str) -> list[tuple[str, str]]:
    """(date, value) of each row of the page's first history table."""
    table = html.split('<table class="history"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td>([^<]+)</td><td class="n">([^<]+)</td>', table)


def test_a_figure_page_shows_its_chart_and_every_count_newest_first_with_sources(
    app: App,
) -> None:
    load_sample(app)
    response = Web(app).get("/figures/killed")
    assert response.status_code == 200
    page = response.text
    assert "<h1>Killed by the junta</h1>" in page
    # The chart, inline, inside a figure whose caption says what it shows.
    figure = page.split('<figure class="history">', 1)[1].split("</figure>", 1)[0]
    caption = "12 counts, from 250 on March 21, 2021 to 4,474 on January 31, 2024."
    assert f"<figcaption>{caption}</figcaption>" in figure
    svg = ET.fromstring(figure[figure.index("<svg") : figure.rindex("</svg>") + 6])
    assert svg.get("role") == "img" and len(svg.findall("{*}circle")) == len(KILLED)
    # Every count as a table, newest first, as long dates.
    rows = history_rows(page)
    assert [value for _, value in rows] == [value for _, value in reversed(KILLED)]
    assert rows[0][0] == "January 31, 2024" and rows[-1][0] == "March 21, 2021"
    assert '<th scope="col">Date</th>' in page
    assert 'href="https://aappb.org/?p=27322 "' not in page
    assert page.count('href="https://aappb.org/?p=27322"') == 1
    assert 'href="https://www.burmalibrary.org"' in page  # a note's link, the note as title
    assert 'title="https://www.burmalibrary.org (AAPP daily briefing 2023-01-04)"' in page


def test_the_burmese_page_is_in_burmese_digits_throughout(app: App) -> None:
    load_sample(app)
    page = Web(app).get("/my/figures/killed").text
    assert '<html lang="my">' in page
    assert "စစ်ကောင်စီ၏ အသတ်ခံရသူ" in page
    shown = visible_text(page)
    latin = [text for text in shown if re.search("[0-9]", text)]
    assert latin == [], latin
    assert "၄,၄၇၄" in shown and "၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်" in shown
    assert "၂၀၂၂" in shown  # a year under the chart
    # The language switch leads to the same figure in English.
    assert '<a href="/figures/killed" hreflang="en"' in page
    assert '<a href="/my/figures/killed" hreflang="my"' in page


def test_a_corrected_count_shows_once_with_the_reason(app: App) -> None:
    put(app, {"killed": 4474}, "2024-01-31")
    entry = Entry("killed", 4470, dt.date(2024, 1, 31), None, "https://aappb.org/?p=1", "t")
    enter(
        app.engine,
        app.book,
        [entry],
        entered_by="test",
        now=FIXED_NOW,
        origin="test",
        correction="counted twice",
    )
    page = Web(app).get("/figures/killed").text
    assert history_rows(page) == [("January 31, 2024", "4,470")]
    assert "(corrected: counted twice)" in page


def test_counts_dated_after_today_are_not_shown_yet(app: App) -> None:
    put(app, {"killed": 4474}, "2024-01-31")
    put(app, {"killed": 4500}, "2024-02-20")  # the app's today is 2024-02-01
    web = Web(app)
    assert history_rows(web.get("/figures/killed").text) == [("January 31, 2024", "4,474")]
    assert "4,500" not in web.get("/").text


def test_a_figure_counted_over_spans_lists_its_spans(app: App) -> None:
    enter_seed(app)
    page = Web(app).get("/figures/tortured_to_death").text
    assert "Counted over a span" in page
    assert "February 1, 2023 – January 31, 2024" in page and '<td class="n">28</td>' in page
    assert "<svg" not in page  # no running count, so no line to draw


def test_a_figure_without_any_count_says_so(app: App) -> None:
    english = Web(app).get("/figures/death_row")
    assert english.status_code == 200
    assert "No count of this figure has been published yet." in english.text
    assert "<svg" not in english.text


UNKNOWN = [
    "/figures/nope",
    "/my/figures/killd",
    "/figures/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/figures/killed%22%3E%3Cb%3E",
    "/figures/..%2F..%2Fetc%2Fpasswd",
    "/my/figures/%E1%81%81%E1%81%82",  # Burmese digits
    "/figures/999999999999999999999999",
    "/figures/KILLED",
]


def test_an_unknown_figure_is_the_not_found_page_and_the_path_is_not_echoed(app: App) -> None:
    put(app, {"killed": 4474}, "2024-01-31")
    web = Web(app)
    for path in UNKNOWN:
        response = web.get(path)
        assert response.status_code == 404, path
        words = "စာမျက်နှာ မတွေ့ပါ" if path.startswith("/my/") else "Page not found"
        assert words in response.text, path
        shown = response.text.split("<main>", 1)[1]
        for echoed in ("<script", "<b>", "passwd", "999999", "KILLED", "killd", "၁၂"):
            assert echoed not in shown, (path, echoed)


def test_a_hostile_label_and_source_are_escaped_in_the_page_and_the_charts(
    home: Path, app: App
) -> None:
    figures = home / "config" / "figures.toml"
    figures.write_text(
        figures.read_text(encoding="utf-8").replace(
            'label.en = "killed by the junta"',
            "label.en = 'killed </title><script>alert(1)</script> & \"co\"'",
        ),
        encoding="utf-8",
    )
    app.__dict__.pop("book", None)  # read the changed figures.toml
    put(app, {"killed": 4474}, "2024-01-31", source='https://aappb.org/?p=1"><script>x</script>')
    put(app, {"killed": 4480}, "2024-02-01", source="<svg onload=alert(1)>")
    web = Web(app)
    for path in ("/", "/figures", "/figures/killed"):
        page = web.get(path).text
        assert "<script" not in page and "<svg onload" not in page, path
        assert "&lt;script&gt;" in page, path
    page = web.get("/figures/killed").text
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') :]
    root = ET.fromstring(svg[: svg.index("</svg>\n</figure>") + 6])
    assert root.findtext("{*}title") == 'killed </title><script>alert(1)</script> & "co"'


def test_the_home_page_has_a_small_chart_by_each_figure_linking_to_its_page(app: App) -> None:
    load_sample(app)
    web = Web(app)
    page = web.get("/").text
    table = page.split('<table class="figures">', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[1:]
    assert len(rows) == 11  # every figure with a running count in the sample
    for row in rows:
        key = re.search(r'<a href="/figures/([a-z_.]+)">', row)
        assert key, row
        assert web.get(f"/figures/{key.group(1)}").status_code == 200
        spark = ET.fromstring(row[row.index("<svg") : row.index("</svg>") + 6])
        assert spark.get("role") == "img" and spark.findtext("{*}title")
    killed = rows[0]
    assert ">4,474<" in killed and "January 31, 2024" in killed
    assert "killed by the junta: 12 counts, from 250 on March 21, 2021" in killed
    burmese = web.get("/my/").text
    assert '<a href="/my/figures/killed">စစ်ကောင်စီ၏ အသတ်ခံရသူ</a>' in burmese
    assert '<a href="/my/figures">ကိန်းဂဏန်းအားလုံး</a>' in burmese


def test_the_list_of_figures_names_every_defined_figure(app: App) -> None:
    enter_seed(app)
    web = Web(app)
    page = web.get("/figures").text
    for key in app.book.figures:
        assert f'<a href="/figures/{key}">' in page, key
    assert "Counted over a span of time, such as a year." in page  # tortured_to_death
    burmese = web.get("/my/figures").text
    assert '<a href="/my/figures/tortured_to_death">' in burmese
    assert not [text for text in visible_text(burmese) if re.search("[0-9]", text)]


def test_figure_pages_load_nothing_from_elsewhere_and_carry_the_security_headers(
    app: App,
) -> None:
    load_sample(app)
    web = Web(app)
    for path in ("/figures", "/figures/killed", "/my/figures/killed", "/figures/nope"):
        response = web.get(path)
        page = response.text
        assert "<script" not in page and "<img" not in page and "<iframe" not in page, path
        assert " style=" not in page and "<style" not in page, path  # CSP: style-src 'self'
        assert "url(" not in page and 'href="//' not in page, path
        assert "default-src 'none'" in response.headers["content-security-policy"], path

"""Every shipped edition fits its channel, and Burmese editions show only Burmese digits."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from twitter_text import parse_tweet

from bot.app import App
from bot.compose.drafts import Draft, Failure
from bot.lang import MYANMAR_DIGITS
from tests.compose.helpers import SEED_TOTALS, compose, enter_seed, put

# (message, date): each shipped message on a date its figures exist for.
CASES = [
    ("anniversary", "2024-02-01"),
    ("daily-briefing", "2024-02-01"),
    ("weekly-digest", "2024-02-01"),
]
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}


def _prepare(app: App) -> None:
    enter_seed(app)
    # A week earlier, so the weekly digest has a change to report.
    week_before = {key: value - 40 for key, value in SEED_TOTALS.items()}
    week_before["detained"] = SEED_TOTALS["detained"] - 10
    put(app, week_before, "2024-01-24")


def _drafts(app: App, message: str, on: str) -> list[Draft]:
    _prepare(app)
    editions = compose(app, message, on)
    failures = [e for e in editions if isinstance(e, Failure)]
    assert not failures, [f.reason for f in failures]
    return [e for e in editions if isinstance(e, Draft)]


class _TelegramHTML(HTMLParser):
    """An independent reading of Telegram's rules: allowed tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, f"Telegram does not accept <{tag}>"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"</{tag}> closes the wrong element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(("message", "on"), CASES)
def test_x_parts_fit_280_weighted(app: App, message: str, on: str) -> None:
    drafts = [d for d in _drafts(app, message, on) if d.channel == "x"]
    assert drafts or message == "weekly-digest"
    for draft in drafts:
        for part in draft.parts:
            assert 0 < parse_tweet(part).weightedLength <= 280, part
        if len(draft.parts) > 1:
            total = len(draft.parts)
            for number, part in enumerate(draft.parts, 1):
                suffix = f"{number}/{total}"
                if draft.lang == "my":
                    suffix = suffix.translate(str.maketrans("0123456789", MYANMAR_DIGITS))
                assert part.endswith(suffix)


@pytest.mark.parametrize(("message", "on"), CASES)
def test_telegram_parts_fit_4096_and_are_valid_html(app: App, message: str, on: str) -> None:
    for draft in (d for d in _drafts(app, message, on) if d.channel == "telegram"):
        for part in draft.parts:
            parser = _TelegramHTML()
            parser.feed(part)
            parser.close()
            assert parser.stack == [], f"unclosed {parser.stack}"
            visible = "".join(parser.text)
            assert len(visible.encode("utf-16-le")) // 2 <= 4096


@pytest.mark.parametrize(("message", "on"), CASES)
def test_burmese_editions_use_burmese_digits_only(app: App, message: str, on: str) -> None:
    drafts = [d for d in _drafts(app, message, on) if d.lang == "my"]
    assert drafts
    for draft in drafts:
        pieces = [*draft.parts, draft.subject or ""]
        if draft.html:
            pieces.append(re.sub(r"<style.*?</style>|<[^>]+>", " ", draft.html, flags=re.S))
        for piece in pieces:
            visible = re.sub(r"https?://\S+|\S+@\S+", " ", piece)
            assert not re.search(r"[0-9]", visible), f"Latin digit in {draft.channel}: {visible}"
        joined = " ".join(draft.parts)
        assert re.search(f"[{MYANMAR_DIGITS}]", joined)


def test_burmese_statement_carries_the_figures_in_burmese(app: App) -> None:
    drafts = _drafts(app, "anniversary", "2024-02-01")
    email = next(d for d in drafts if d.channel == "email" and d.lang == "my")
    text = email.parts[0]
    for burmese in ("(၂၅၉၃၁)ဦး", "(၁၉၉၉၃)ဦး", "(၄၄၇၄)ဦး", "(၁၉၈၈)ဦး", "(၇၇၀)ဦး"):
        assert burmese in text
    assert "တတိယ" in text and "စတုတ္ထ" in text  # third year, and the fourth ahead
    assert "၂၀၂၃ ခုနှစ် ဖေဖော်ဝါရီလ ၁ ရက်မှ ၂၀၂၄ ခုနှစ် ဇန်နဝါရီလ ၃၁ ရက်အထိ" in text
    assert email.subject and "တတိယ" in email.subject


def test_weekly_digest_labels_are_burmese_and_change_is_derived(app: App) -> None:
    drafts = _drafts(app, "weekly-digest", "2024-02-01")
    email = next(d for d in drafts if d.channel == "email" and d.lang == "my")
    assert "ထိန်းသိမ်းခံထားရဆဲဖြစ်သူ" in email.parts[0]
    assert "(၄၀)ဦး" in email.parts[0]  # 40 more killed over the week
    derived = [use for use in email.figures if use.derived_from]
    assert derived and all("derived" in use.describe() for use in derived)


def test_a_burmese_template_with_a_bare_number_is_refused(app: App) -> None:
    template = app.settings.messages_dir / "daily-briefing" / "x.my.txt.j2"
    template.write_text("{{ figures.killed }} ဦး\n", encoding="utf-8")
    _prepare(app)
    editions = compose(app, "daily-briefing", "2024-02-01", ["my"], ["x"])
    assert isinstance(editions[0], Failure)
    assert "Latin digits" in editions[0].reason and "4474" in editions[0].reason


def test_a_weekly_digest_says_which_figure_had_no_new_count_that_week(app: App) -> None:
    enter_seed(app)
    # Only arrests were counted a week earlier: the killed total has nothing to compare with.
    put(app, {"arrested": SEED_TOTALS["arrested"] - 40}, "2024-01-24")

    editions = compose(app, "weekly-digest", "2024-02-01", None, ["email"])

    drafts = [e for e in editions if isinstance(e, Draft)]
    assert len(drafts) == len(editions), [getattr(e, "reason", "") for e in editions]
    en = next(d for d in drafts if d.lang == "en").parts[0]
    assert "entered no new count of people killed between January 25, 2024 and February 1" in en
    assert "(40) more were arrested" in en
    my = next(d for d in drafts if d.lang == "my").parts[0]
    assert "အသတ်ခံရသူ ကိန်းဂဏန်းအသစ် မှတ်တမ်းတင်ထားခြင်း မရှိပါ" in my
    assert "(၄၀)ဦး ထပ်မံဖမ်းဆီးခံခဲ့ရသည်" in my

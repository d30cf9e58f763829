"""An approval request reads in Telegram as the editions will: HTML shown, not its markup."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from markupsafe import Markup

from bot.app import App
from bot.approvals import gate, notify
from bot.compose.drafts import Draft, occasion_for
from bot.fit.telegram import validate_html, visible_length
from tests.approvals.helpers import KEY, enter_figures, require_approval

DUE = dt.datetime(2024, 2, 1, 2, 30, tzinfo=dt.UTC)
CHANNELS = ["x", "telegram", "email"]


@pytest.fixture
def gated(home: Path, app: App) -> App:
    require_approval(home)
    app.__dict__.pop("composer", None)
    return app


def anniversary(app: App) -> tuple[list[Draft], gate.Ask]:
    enter_figures(app, by="Kyaw")
    message = app.composer.message("anniversary")
    occasion = occasion_for(app.settings, message, dt.date(2024, 2, 1), app.today())
    drafts = [
        e for e in app.composer.compose(message, occasion, None, CHANNELS) if isinstance(e, Draft)
    ]
    _, ask = gate.ensure(
        app.engine,
        key=KEY,
        message="anniversary",
        needed=2,
        due_at=DUE,
        drafts=drafts,
        now=app.clock(),
    )
    assert ask is not None
    return drafts, ask


def shown(text: str) -> str:
    """What Telegram displays: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def test_every_message_is_valid_telegram_html_within_the_limit(gated: App) -> None:
    _, ask = anniversary(gated)

    texts = notify.ask_texts(ask, gated.settings.tz)

    assert len(texts) >= 3
    for text in texts:
        assert isinstance(text, Markup)
        validate_html(text)  # raises on a tag cut in two or left open
        assert visible_length(text) <= 4096
    assert "Approval needed: anniversary" in texts[0]
    assert "bot approve" in texts[-1]


def test_the_telegram_edition_shows_as_formatted_text_and_whole(gated: App) -> None:
    drafts, ask = anniversary(gated)

    joined = "\n".join(notify.ask_texts(ask, gated.settings.tz))

    assert "&lt;b&gt;" not in joined and "&lt;/" not in joined
    for draft in drafts:
        if draft.channel == "telegram":
            for part in draft.parts:
                # Every paragraph of every part arrives, with its markup as markup.
                for paragraph in part.split("\n\n"):
                    assert paragraph.strip() in joined
        else:
            # Text editions are shown as text: whatever they contain is escaped.
            for paragraph in "\n\n".join(draft.parts).split("\n\n"):
                assert shown(html.escape(paragraph.strip(), quote=False)) in shown(joined)


def test_a_text_edition_with_markup_characters_is_escaped(gated: App) -> None:
    _, ask = anniversary(gated)
    edition = ask.request.editions[0]
    assert edition.channel != "telegram"
    object.__setattr__(edition, "text", "1 < 2 & <b>not bold</b>")

    joined = "\n".join(notify.ask_texts(ask, gated.settings.tz))

    assert "1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt;" in joined


def test_the_email_to_admins_gets_plain_text(gated: App) -> None:
    from bot.alerts import _plain

    _, ask = anniversary(gated)
    texts = notify.ask_texts(ask, gated.settings.tz)

    plain = [_plain(text) for text in texts]

    assert not any("<b>" in text or "&amp;" in text for text in plain)
    assert _plain("a <b> plain text") == "a <b> plain text"  # not Markup: left as it is


def test_a_long_telegram_edition_is_split_between_paragraphs(gated: App) -> None:
    _, ask = anniversary(gated)
    edition = next(e for e in ask.request.editions if e.channel == "telegram")
    paragraph = "<b>Statement</b> " + "word " * 150
    object.__setattr__(edition, "text", "\n\n".join([paragraph.strip()] * 30))

    texts = notify.ask_texts(ask, gated.settings.tz)

    titled = [t for t in texts if f"{edition.label} (" in t]
    assert len(titled) >= 4  # (1/n) … (n/n), each a message of its own
    for text in texts:
        validate_html(text)
        assert visible_length(text) <= 4096
    assert "\n".join(texts).count("<b>Statement</b>") == 30

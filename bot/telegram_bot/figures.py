"""The /latest answer: each figure's newest running value, labelled and dated in one language."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from bot.lang import long_date, number
from bot.store.figures import latest
from bot.telegram_bot.texts import text

if TYPE_CHECKING:
    from bot.app import App


def _links(sources: list[str]) -> list[str]:
    """The web addresses in the source notes, each once, in order; only http(s)."""
    found: list[str] = []
    for source in sources:
        for word in source.split():
            if word.startswith(("https://", "http://")) and word not in found:
                found.append(word)
    return found


def latest_text(app: App, lang: str) -> str:
    """The latest figures as Telegram HTML, in the order of config/figures.toml."""
    org = app.settings.file.organisation.name.get(lang)
    with app.engine.connect() as conn:
        values = latest(conn, app.today())
    shown = [(figure, values[key]) for key, figure in app.book.figures.items() if key in values]
    if not shown:
        return text("no_figures", lang)
    newest = max(value.as_of for _, value in shown)
    lines = [text("latest_heading", lang, org=org, date=long_date(newest, lang))]
    for figure, value in shown:
        line = text(
            "latest_line",
            lang,
            value=number(value.value, lang, grouped=True),
            label=figure.label.get(lang),
        )
        # Figures are entered at different times: one that was not updated with the others
        # must not pass for as recent as they are.
        if value.as_of != newest:
            line += text("older_value", lang, date=long_date(value.as_of, lang))
        lines.append(line)
    links = _links([value.source for _, value in shown])
    if links:
        # The address stays in the href: a Burmese text shows no Latin digits outside links.
        word = text("source", lang)
        anchors = [f'<a href="{html.escape(link, quote=True)}">{word}</a>' for link in links]
        lines.append("\n" + " · ".join(anchors))
    return "\n".join(lines)

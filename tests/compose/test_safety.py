"""Templates cannot escape the sandbox, HTML is escaped, and what cannot fit says why."""

from __future__ import annotations

import pytest

from bot.app import App, build_app
from bot.compose.drafts import Draft, Failure
from tests.compose.helpers import compose, enter_seed
from tests.conftest import FIXED_NOW, Cli


def _rename_org(app: App, name: str) -> App:
    path = app.settings.config_dir / "bot.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'name.en = "Assistance Association for Political Prisoners"', f'name.en = "{name}"'
        ),
        encoding="utf-8",
    )
    return build_app(app.settings.home, clock=lambda: FIXED_NOW)


def test_html_editions_escape_text_and_plain_ones_do_not(app: App) -> None:
    enter_seed(app)
    renamed = _rename_org(app, "Friends & Families <Burma>")
    try:
        editions = compose(renamed, "daily-briefing", "2024-02-01", ["en"])
    finally:
        renamed.close()
    drafts = {e.channel: e for e in editions if isinstance(e, Draft)}
    assert {"x", "telegram", "mastodon", "email"} <= set(drafts)
    assert "Friends &amp; Families &lt;Burma&gt;" in drafts["telegram"].parts[0]
    assert "Friends &amp; Families &lt;Burma&gt;" in (drafts["email"].html or "")
    assert "Friends & Families <Burma>" in drafts["email"].parts[0]  # the text/plain part
    # Mastodon takes plain text and escapes it itself: escaped here, readers would see "&amp;".
    assert "Friends & Families <Burma>" in "".join(drafts["mastodon"].parts)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ figures._values }}",
        "{{ org.links.clear() }}",
    ],
    ids=["dunder", "private-attribute", "mutation"],
)
def test_a_template_cannot_reach_outside_the_sandbox(app: App, source: str) -> None:
    enter_seed(app)
    (app.settings.messages_dir / "daily-briefing" / "x.en.txt.j2").write_text(source, "utf-8")
    editions = compose(app, "daily-briefing", "2024-02-01", ["en"], ["x"])
    assert isinstance(editions[0], Failure)
    assert "messages/daily-briefing/x.en.txt.j2:1" in editions[0].reason


def test_a_word_too_long_for_x_is_shown_with_the_reason(app: App) -> None:
    enter_seed(app)
    (app.settings.messages_dir / "daily-briefing" / "x.en.txt.j2").write_text(
        "{{ figures.killed | count }} " + "a" * 300, "utf-8"
    )
    editions = compose(app, "daily-briefing", "2024-02-01", ["en"], ["x"])
    assert isinstance(editions[0], Failure)
    assert "280" in editions[0].reason


def test_telegram_markup_that_telegram_refuses_is_named(cli: Cli, app: App) -> None:
    enter_seed(app)
    (app.settings.messages_dir / "daily-briefing" / "telegram.en.html.j2").write_text(
        "<p>{{ figures.killed | count }}</p>", "utf-8"
    )
    result = cli("preview", "daily-briefing", "--on", "2024-02-01", "--channel", "telegram")
    assert result.exit_code == 1
    assert "messages/daily-briefing/telegram.en.html.j2" in result.output
    assert "<p>" in result.output and "CANNOT BE SENT" in result.output

"""`bot preview` and `bot run` as staff use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Cli


def _import_sample(cli: Cli) -> None:
    result = cli("figures", "import", str(ROOT / "config" / "sample-figures.csv"))
    assert result.exit_code == 0, result.output


def test_preview_shows_every_edition_with_its_length(cli: Cli, tmp_path: Path) -> None:
    _import_sample(cli)
    out = tmp_path / "html"
    result = cli("preview", "anniversary", "--on", "2024-02-01", "--html-out", str(out))
    assert result.exit_code == 0, result.output
    for channel in ("x", "telegram", "email"):
        for lang in ("en", "my"):
            assert f"── anniversary · {channel} · {lang} " in result.output
    assert "/280]" in result.output and "/4096]" in result.output
    assert "Subject: Statement on Third Year Anniversary of Spring Revolution" in result.output
    assert "CANNOT BE SENT" not in result.output
    html = (out / "anniversary-en.html").read_text(encoding="utf-8")
    assert "(25931)" in html and html.lstrip().startswith("<!DOCTYPE html>")
    assert "(၂၅၉၃၁)" in (out / "anniversary-my.html").read_text(encoding="utf-8")


def test_preview_filters_language_and_channel(cli: Cli) -> None:
    _import_sample(cli)
    result = cli(
        "preview", "daily-briefing", "--on", "2024-02-01", "--lang", "my", "--channel", "x"
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("── daily-briefing") == 1
    assert "(၄၄၇၄)ဦး" in result.output


def test_preview_without_figures_says_what_is_missing(cli: Cli) -> None:
    result = cli("preview", "anniversary", "--on", "2024-02-01", "--lang", "en", "--channel", "x")
    assert result.exit_code == 1
    assert "CANNOT BE SENT" in result.output
    assert "has no value" in result.output and "bot figures set" in result.output


def test_unknown_message_language_and_date_are_explained(cli: Cli) -> None:
    result = cli("preview", "aniversary")
    assert result.exit_code == 1
    assert "unknown message 'aniversary' (did you mean 'anniversary'?)" in result.output
    result = cli("preview", "anniversary", "--lang", "fr")
    assert result.exit_code == 1 and "unknown language 'fr'" in result.output
    result = cli("preview", "anniversary", "--on", "1st of Feb")
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output


def test_run_once_on_embedded_defaults_writes_due_posts_to_the_outbox(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_HOME"] = str(home)

    def bot(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    imported = bot("figures", "import", "--if-empty", "config/sample-figures.csv")
    assert imported.returncode == 0, imported.stderr
    assert "Stored 91 values" in imported.stdout
    again = bot("figures", "import", "--if-empty", "config/sample-figures.csv")
    assert "already holds figures" in again.stdout
    # A rehearsal of the third anniversary: the clock starts just after 09:00 on the day.
    ran = bot("run", "--once", BOT_CLOCK_START="2024-02-01T09:00:05+06:30")
    assert ran.returncode == 0, ran.stderr
    assert "Rehearsal" in ran.stdout and "anniversary/coup/2024-02-01" in ran.stdout
    assert (home / "var" / "bot.sqlite3").is_file()
    posts = sorted((home / "var" / "outbox" / "x").glob("*.txt"))
    assert len(posts) == 6
    assert any("(25931)" in p.read_text(encoding="utf-8") for p in posts)
    assert "Traceback" not in ran.stderr

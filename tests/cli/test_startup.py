"""`bot --help` stays quick: the command loads no database, template or network library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "jinja2", "telegram", "tweepy", "aiosmtplib", "alembic", "starlette")


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; from bot.cli import main; "
        "CliRunner().invoke(main, ['--help']); "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout

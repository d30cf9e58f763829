"""The figures read back from the PNG by Tesseract, in English and in Burmese.

Tesseract reads Burmese only where it is shaped: drawn without RAQM, the vowel ေ lands after
its consonant and `ဖေဖော်ဝါရီလ` is not found. Debian: tesseract-ocr, tesseract-ocr-mya.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.app import App
from tests.cards.helpers import card_of


def _tesseract() -> str:
    found = shutil.which("tesseract")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-mya)")
        pytest.skip("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-mya)")
    langs = subprocess.run([found, "--list-langs"], capture_output=True, text=True, check=False)
    if "mya" not in langs.stdout.split():
        if os.environ.get("CI"):
            pytest.fail("tesseract has no Burmese data (Debian: tesseract-ocr-mya)")
        pytest.skip("tesseract has no Burmese data (Debian: tesseract-ocr-mya)")
    return found


def ocr(png: Path, lang: str) -> str:
    """The text Tesseract reads, with the separators inside numbers taken out."""
    done = subprocess.run(
        [_tesseract(), str(png), "-", "-l", lang],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    digits = r"0-9\u1040-\u1049"
    return re.sub(rf"(?<=[{digits}])[,. ](?=[{digits}])", "", done.stdout)


@pytest.mark.parametrize(
    ("lang", "tess", "expected"),
    [
        ("en", "eng", ["4474", "25931", "19993", "killed by the junta", "February 1, 2021"]),
        ("my", "mya", ["၄၄၇၄", "၂၅၉၃၁", "၁၉၉၉၃", "ဖေဖော်ဝါရီလ"]),
    ],
)
def test_the_daily_briefing_card_reads_back_its_figures(
    seeded_app: App, tmp_path: Path, lang: str, tess: str, expected: list[str]
) -> None:
    card = card_of(seeded_app, "daily-briefing", lang)
    path = tmp_path / f"card-{lang}.png"
    path.write_bytes(card.png())

    text = ocr(path, tess)

    for wanted in expected:
        assert wanted in text, f"{wanted!r} not read from the {lang} card: {text!r}"

"""The font files a card is drawn with, found by name under the system's font folders.

Latin text is drawn with Noto Sans (Debian `fonts-noto-core`); Burmese with Noto Sans Myanmar
from the same package, or Padauk (`fonts-sil-padauk`). Neither has the other's letters (Noto
Sans Myanmar has no Latin letters, comma or middle dot), so each run of text is drawn with the
font of its script (see text.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.cards.card import CardError

FONT_ROOTS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# Per script and weight, the files to use, best first, with the Debian package holding each.
_WANTED: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("latin", "regular"): (("NotoSans-Regular.ttf", "fonts-noto-core"),),
    ("latin", "bold"): (("NotoSans-Bold.ttf", "fonts-noto-core"),),
    ("myanmar", "regular"): (
        ("NotoSansMyanmar-Regular.ttf", "fonts-noto-core"),
        ("Padauk-Regular.ttf", "fonts-sil-padauk"),
    ),
    ("myanmar", "bold"): (
        ("NotoSansMyanmar-Bold.ttf", "fonts-noto-core"),
        ("Padauk-Bold.ttf", "fonts-sil-padauk"),
    ),
}


@dataclass(frozen=True)
class FontSet:
    """The four files a card needs."""

    latin_regular: Path
    latin_bold: Path
    myanmar_regular: Path
    myanmar_bold: Path

    def path(self, script: str, bold: bool) -> Path:
        """The file for text of `script` ("latin" or "myanmar")."""
        if script == "myanmar":
            return self.myanmar_bold if bold else self.myanmar_regular
        return self.latin_bold if bold else self.latin_regular


def find_fonts(roots: Sequence[Path] = FONT_ROOTS) -> FontSet:
    """The font files under `roots`; CardError naming the missing files and their packages."""
    return _find(tuple(roots))


@lru_cache(maxsize=4)
def _find(roots: tuple[Path, ...]) -> FontSet:
    index = _index(roots)
    found: dict[tuple[str, str], Path] = {}
    missing: list[str] = []
    for want, choices in _WANTED.items():
        path = next((index[name] for name, _ in choices if name in index), None)
        if path is None:
            names = " or ".join(f"{name} (Debian: {package})" for name, package in choices)
            missing.append(names)
        else:
            found[want] = path
    if missing:
        where = ", ".join(str(root) for root in roots)
        raise CardError(
            f"cannot draw cards: no font file {'; no '.join(missing)} under {where}. Install "
            "them, e.g. apt-get install fonts-noto-core"
        )
    return FontSet(
        found[("latin", "regular")],
        found[("latin", "bold")],
        found[("myanmar", "regular")],
        found[("myanmar", "bold")],
    )


def _index(roots: tuple[Path, ...]) -> dict[str, Path]:
    """File name → first path, for the names wanted (the folders are walked once)."""
    wanted = {name for choices in _WANTED.values() for name, _ in choices}
    index: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.ttf")):
            if path.name in wanted and path.name not in index:
                index[path.name] = path
    return index

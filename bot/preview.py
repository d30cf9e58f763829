"""Showing drafts to staff exactly as each channel would receive them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.compose.context import Occasion
from bot.compose.drafts import Draft, Edition, Failure

Echo = Callable[[str], None]


def occasion_line(occasion: Occasion, figures_date: str | None) -> str:
    """What the preview is for: the date, the anniversary, the figures' date."""
    line = f"for {occasion.on}"
    if occasion.anniversary:
        line += f" (anniversary no. {occasion.anniversary.number} of {occasion.anniversary.event})"
    if figures_date:
        line += f", newest figures as of {figures_date}"
    return line


def part_lines(edition: Draft) -> list[str]:
    """The subject, then each part under its label and measured length, a blank line after."""
    lines = [f"Subject: {edition.subject}"] if edition.subject is not None else []
    count = len(edition.parts)
    for index, (part, length) in enumerate(zip(edition.parts, edition.lengths, strict=True), 1):
        limit = f"{length}/{edition.limit}" if edition.limit else f"{length} characters"
        label = (
            f"part {index}/{count}"
            if count > 1
            else ("text" if edition.channel == "email" else "post")
        )
        lines += [f"[{label} · {limit}]", part, ""]
    return lines


def show_edition(edition: Edition, echo: Echo) -> None:
    """Print one edition: each part with its measured length against the limit."""
    title = f"── {edition.message} · {edition.channel} · {edition.lang} "
    echo(title + "─" * max(0, 72 - len(title)))
    if isinstance(edition, Failure):
        echo(f"CANNOT BE SENT: {edition.reason}")
        echo("")
        return
    for line in part_lines(edition):
        echo(line)
    if edition.html is not None:
        echo(f"[HTML · {len(edition.html)} characters; use --html-out to open it in a browser]")
    card = card_line(edition)
    if card is not None:
        echo(card)
    if edition.figures:
        echo("Figures used:")
        for use in edition.figures:
            echo(f"  {use.describe()}")
    echo("")


def write_html(edition: Draft, folder: Path) -> Path:
    """Save an email edition's HTML as a file to open in a browser."""
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9-]+", "-", f"{edition.message}-{edition.lang}".lower())
    path = folder / f"{name}.html"
    path.write_text(edition.html or "", encoding="utf-8")
    return path


def card_line(edition: Draft) -> str | None:
    """The card an edition carries, in one line (None without one)."""
    card = edition.card
    if card is None:
        return None
    return (
        f"[card · {card.width}×{card.height} · {card.size / 1000:.0f} kB · alt text "
        f"{len(card.alt)} characters; --cards DIR writes it]\nAlt text: {card.alt}"
    )


def write_cards(editions: list[Edition], folder: Path) -> list[Path]:
    """Save each card once (a message's channels share it) as PNG, with its alt text beside."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[str] = set()
    for edition in editions:
        if not isinstance(edition, Draft) or edition.card is None:
            continue
        card = edition.card
        if card.sha256 in seen:
            continue
        seen.add(card.sha256)
        name = re.sub(r"[^a-z0-9-]+", "-", f"{edition.message}-{edition.lang}".lower())
        path = folder / f"{name}.png"
        path.write_bytes(card.png())
        path.with_suffix(".alt.txt").write_text(card.alt + "\n", encoding="utf-8")
        written.append(path)
    return written

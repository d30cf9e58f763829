"""Rendering: drafts per second of the anniversary message, every edition, both languages.

    python -m benchmarks.rendering --seconds S

In a fresh home and SQLite database holding the seed figures (tests.compose.helpers.enter_seed),
`Composer.compose` renders the six editions (x, telegram, email × en, my) for 2024-02-01 over
and over; `render_all` does the same from figures already loaded, to tell the database's share.
Each language's figure card is then drawn afresh (the composer keeps drawn cards, so the rates
above draw each once): milliseconds per card, the slowest of the two, against a target of 100.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import make_home, peak_rss_mb, report

MESSAGE = "anniversary"
ON = dt.date(2024, 2, 1)
NOW = dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)


def _rate(call: Any, seconds: float) -> tuple[float, int]:
    """Drafts per second of `call` (which returns a list of editions), run for `seconds`."""
    drafts = rounds = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or rounds < 3:
        drafts += len(call())
        rounds += 1
    return drafts / elapsed, rounds


def measure(seconds: float) -> dict[str, Any]:
    import os

    from bot.app import build_app
    from bot.compose.drafts import Failure, Figures, occasion_for
    from bot.store import figures as store
    from tests.compose.helpers import enter_seed

    with tempfile.TemporaryDirectory(prefix="bot-bench-render-") as folder:
        home = make_home(Path(folder) / "home")
        os.environ["BOT_DATABASE_URL"] = f"sqlite:///{home / 'var' / 'bot.sqlite3'}"
        app = build_app(home, clock=lambda: NOW)
        enter_seed(app)
        composer = app.composer
        message = composer.message(MESSAGE)
        occasion = occasion_for(app.settings, message, ON, app.today())

        start = time.perf_counter()
        editions = composer.compose(message, occasion)
        cold = time.perf_counter() - start
        failures = [e for e in editions if isinstance(e, Failure)]
        if failures:
            raise SystemExit(f"the {MESSAGE} editions do not render: {failures}")

        compose_rate, compose_rounds = _rate(lambda: composer.compose(message, occasion), seconds)
        anniversary = occasion.anniversary
        assert anniversary is not None
        with app.engine.connect() as conn:
            figures = Figures(
                store.latest(conn, occasion.on),
                store.for_period(conn, anniversary.span_start, anniversary.span_end),
                store.timeline(conn, list(app.book.figures)),
            )
        render_rate, render_rounds = _rate(
            lambda: composer.render_all(message, occasion, figures), seconds
        )
        card_ms = _card_ms(composer, message, occasion, seconds)
        app.close()
    return {
        "editions": len(editions),
        "first_compose_s": cold,
        "compose_drafts_per_s": compose_rate,
        "compose_rounds": compose_rounds,
        "render_drafts_per_s": render_rate,
        "render_rounds": render_rounds,
        "card_ms_per_draw": card_ms,
        "card_target_ms": 100,
        "peak_rss_mb": peak_rss_mb(),
    }


def _card_ms(composer: Any, message: Any, occasion: Any, seconds: float) -> dict[str, float]:
    """Milliseconds to draw each language's card, uncached (the median of repeated draws)."""
    from bot.cards import draw
    from bot.cards.fonts import find_fonts

    contents = []
    real = draw.draw_card

    def keep(content: Any) -> bytes:
        contents.append(content)
        return real(content)

    draw.draw_card = keep  # type: ignore[assignment]
    draw._png.cache_clear()
    try:
        composer.compose(message, occasion, None, ["x"])
    finally:
        draw.draw_card = real  # type: ignore[assignment]
    fonts = find_fonts()
    uncached = draw._png.__wrapped__
    out = {}
    for content in contents:
        times = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 2 or len(times) < 5:
            began = time.perf_counter()
            uncached(content, fonts)
            times.append((time.perf_counter() - began) * 1000)
        out[content.lang] = sorted(times)[len(times) // 2]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.rendering")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    report(measure(args.seconds))


if __name__ == "__main__":
    main()

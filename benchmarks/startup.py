"""Start-up: wall time of `bot --help` and `bot preview daily-briefing` against `python -c pass`.

Each command runs once to warm the disk cache (and migrate the database), then `runs` times,
the three commands taking turns so that a slow moment of the machine hits them all alike.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import BOT, PYTHON, bot_env, import_sample_figures, make_home

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "bot --help": [BOT, "--help"],
    "bot preview daily-briefing": [BOT, "preview", "daily-briefing"],
}


def _once(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        env=dict(env),
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    return time.perf_counter() - start


def measure(folder: Path, runs: int = 9) -> dict[str, Any]:
    """Median seconds of each command, and its ratio to `python -c pass`."""
    home = make_home(folder / "startup-home")
    env = bot_env(home, home / "var" / "bot.sqlite3")
    import_sample_figures(env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        _once(command, env, home)  # warm-up
    for _ in range(runs):
        for name, command in COMMANDS.items():
            times[name].append(_once(command, env, home))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["python -c pass"]
    return {
        "runs": runs,
        "median_s": medians,
        "ratio": {name: value / base for name, value in medians.items()},
        "min_s": {name: min(values) for name, values in times.items()},
    }

"""What every benchmark shares: a bot home on loopback peers, subscribers, child processes, RSS."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
PYTHON = sys.executable
BOT = str(Path(PYTHON).parent / "bot")
RESULT = "RESULT "  # the prefix of the one line a child prints its figures on
SENDER = "AAPP <statements@aappb.org>"
UNSUBSCRIBE = "https://aappb.org/unsubscribe/"
WEB_SECRET = "benchmark-web-secret-not-for-production"
TOPICS = "statements,weekly-digest,daily-briefing"
# Variables that would steer the bot elsewhere than the benchmark's home and peers.
_DROPPED_ENV = re.compile(r"^(BOT_|PTB_TIMEDELTA$)")


# A home ----------------------------------------------------------------------------------------


def make_home(path: Path) -> Path:
    """A fresh copy of the shipped config/ and messages/ at `path`."""
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(ROOT / "config", path / "config")
    shutil.copytree(ROOT / "messages", path / "messages")
    (path / "var").mkdir()
    return path


def set_toml(home: Path, section: str, **values: str | int | float | bool) -> None:
    """Set `key = value` in `[section]` of the home's config/bot.toml (the section is added)."""
    path = home / "config" / "bot.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = f"[{section}]"
    if header not in lines:
        lines += ["", header]
    start = lines.index(header) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            text = json.dumps(value, ensure_ascii=False)
        line = f"{key} = {text}"
        found = [i for i in range(start, end) if re.match(rf"{re.escape(key)}\s*=", lines[i])]
        if found:
            lines[found[0]] = line
        else:
            lines.insert(end, line)
            end += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bot_env(home: Path, database: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a bot process on this home: no secret or clock from the caller's."""
    env = {k: v for k, v in os.environ.items() if not _DROPPED_ENV.match(k)}
    env.update(
        BOT_HOME=str(home),
        BOT_DATABASE_URL=f"sqlite:///{database}",
        BOT_WEB_SECRET=WEB_SECRET,
        BOT_USER="benchmark",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra or {})
    return env


def import_sample_figures(env: Mapping[str, str]) -> None:
    """`bot figures import` of the shipped sample, as scripts/run does (creates the database)."""
    subprocess.run(
        [BOT, "figures", "import", "--if-empty", "config/sample-figures.csv"],
        env=dict(env),
        cwd=env["BOT_HOME"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=120,
    )


def add_subscribers(
    database: Path, count: int, channel: str, address: str, my_every: int = 4
) -> None:
    """`count` active subscribers of `channel`; every `my_every`-th reads Burmese.

    Written with sqlite3 in one transaction, from a generator: the list never sits in memory.
    `address` is a format string with `{n}`.
    """
    created = dt.datetime(2024, 2, 1, 1, 0).isoformat(sep=" ", timespec="microseconds")
    rows = (
        (
            address.format(n=n),
            "my" if n % my_every == 0 else "en",
            "active",
            secrets.token_urlsafe(18),
            created,
            channel,
            TOPICS,
        )
        for n in range(1, count + 1)
    )
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO subscribers (address, lang, status, token, created_at, channel, topics)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


# Child processes -------------------------------------------------------------------------------


def run_child(
    module: str, args: Sequence[str], env: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """Run `python -m module args` and return the figures it printed on its RESULT line."""
    done = subprocess.run(
        [PYTHON, "-m", module, *args],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    found = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{module} {' '.join(args)} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(found[-1].removeprefix(RESULT))
    return result


def report(result: Mapping[str, Any]) -> None:
    """What a child prints last, for `run_child`."""
    print(RESULT + json.dumps(result), flush=True)


def say(text: str) -> None:
    """Progress, on stderr so that it never mixes with the RESULT line."""
    print(text, file=sys.stderr, flush=True)


# Measuring -------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Stopwatch:
    """`with Stopwatch() as watch: …` then `watch.seconds`."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def machine() -> dict[str, str]:
    """The machine a run happened on, for the results table."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": f"{os.getloadavg()[0]:.2f}",
        "code": _code_version(),
    }


def _code_version() -> str:
    """The commit measured, and whether bot/ had changes not yet committed (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    except OSError:
        return "unknown"
    return f"{commit} + {len(changed)} changed files in bot/" if changed else commit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def remove_database(path: Path) -> None:
    """A SQLite file and its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

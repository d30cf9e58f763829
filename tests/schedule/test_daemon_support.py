"""Running real `bot run` processes: the helpers the test_daemon_* modules share (no tests here).

A `Daemon` is a `bot run` subprocess whose output (stdout and stderr together) a reader thread
pushes line by line into a queue; tests wait for a line with `expect(text, timeout)`, never by
sleeping. `get()` polls the daemon's web page with a bounded number of attempts, each paced by
a blocking read of the daemon's output.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

# Five seconds after the third anniversary's statement was due (09:00 in Yangon).
AFTER_ANNIVERSARY = "2024-02-01T09:00:05+06:30"
ANNIVERSARY_KEY = "anniversary/coup/2024-02-01"
# A daemon's own output, from start to "Active" and its first tick, takes a second or two.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# Loopback only: a proxy from the environment must not see the test's requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_home(target: Path, port: int) -> Path:
    """A copy of the shipped config/ and messages/ whose web page listens on `port`."""
    shutil.copytree(ROOT / "config", target / "config")
    shutil.copytree(ROOT / "messages", target / "messages")
    set_web_port(target, port)
    return target


def set_web_port(home: Path, port: int) -> None:
    """Write `port` into [web] of the home's config/bot.toml."""
    path = home / "config" / "bot.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[web]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    found = [i for i in range(start, end) if re.match(r"port\s*=", lines[i])]
    if found:
        lines[found[0]] = f"port = {port}"
    else:
        lines.insert(start, f"port = {port}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["web"]["port"] == port


def bot_env(home: Path, database_url: str | None, clock_start: str | None) -> dict[str, str]:
    """The environment of a `bot` subprocess: no secrets or settings leak in from ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env["BOT_USER"] = "tester"
    if database_url:
        env["BOT_DATABASE_URL"] = database_url
    if clock_start:
        env["BOT_CLOCK_START"] = clock_start
    return env


def bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A `bot` command that runs to its end, from the home folder."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=env["BOT_HOME"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"bot {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def import_sample_figures(env: dict[str, str]) -> None:
    """`bot figures import config/sample-figures.csv` in the home of `env`."""
    done = bot(env, "figures", "import", "config/sample-figures.csv")
    assert "Stored" in done.stdout, done.stdout


def history(env: dict[str, str]) -> list[str]:
    """The lines of `bot history`."""
    return bot(env, "history").stdout.splitlines()


def outbox_files(home: Path) -> set[str]:
    """Every file the outbox folder channels wrote, relative to var/outbox/."""
    folder = home / "var" / "outbox"
    if not folder.exists():
        return set()
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(".tmp-")
    }


@dataclass
class Response:
    status: int
    content_type: str
    body: str

    def json(self) -> dict[str, object]:
        found: dict[str, object] = json.loads(self.body)
        return found


class Daemon:
    """A `bot run` subprocess; its output lines arrive in a queue, read by a thread."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.output: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=env["BOT_HOME"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.ended = False
        self.reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def transcript(self) -> str:
        """What the daemon printed so far, for failure messages."""
        return f"--- {self.name} (exit {self.proc.poll()}) ---\n" + "\n".join(self.output)

    def _next(self, deadline: float) -> str | None:
        """The next line, or None at the end of the output; AssertionError at the deadline."""
        if self.ended:
            return None
        remaining = deadline - time.monotonic()
        try:
            line = self.lines.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            raise TimeoutError from None
        if line is None:
            self.ended = True
            return None
        self.output.append(line)
        return line

    def expect(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """Wait for a line containing `text` (lines before it are kept in `output`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._next(deadline)
            except TimeoutError:
                raise AssertionError(
                    f"{self.name}: no line with {text!r} within {timeout} s\n{self.transcript()}"
                ) from None
            if line is None:
                self.proc.wait(timeout=STOP_TIMEOUT)
                raise AssertionError(
                    f"{self.name} ended before printing {text!r}\n{self.transcript()}"
                )
            if text in line:
                return line

    def pump(self, seconds: float) -> None:
        """Block for at most `seconds` on the daemon's output (keeping what arrives)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self._next(deadline) is None:
                    return
            except TimeoutError:
                return

    def wait_end(self, timeout: float = STOP_TIMEOUT, why: str = "") -> int:
        """Read to the end of the output; the exit status."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._next(deadline) is None:
                    break
            except TimeoutError:
                raise AssertionError(
                    f"{self.name} still running {timeout} s {why}\n{self.transcript()}"
                ) from None
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 1.0))

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send `sig` and read to the end of the output; the exit status."""
        self.proc.send_signal(sig)
        return self.wait_end(timeout, f"after {sig.name}")

    def kill(self) -> None:
        """Make sure the process is gone and its pipe closed (for finally/fixtures)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.reader.join(timeout=STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def get(self, port: int, path: str, attempts: int = 50, pace: float = 0.2) -> Response:
        """GET http://127.0.0.1:port/path; while nothing listens yet, wait on the output."""
        url = f"http://127.0.0.1:{port}{path}"
        problem: Exception | None = None
        for _ in range(attempts):
            if self.proc.poll() is not None:
                break
            try:
                with _OPENER.open(url, timeout=5) as reply:
                    body = reply.read().decode("utf-8")
                    return Response(reply.status, reply.headers.get_content_type(), body)
            except urllib.error.HTTPError as exc:
                with exc:
                    body = exc.read().decode("utf-8")
                    return Response(exc.code, exc.headers.get_content_type(), body)
            except (urllib.error.URLError, ConnectionError) as exc:
                problem = exc
            self.pump(pace)  # a blocking read of the output paces the attempts
        raise AssertionError(f"{self.name}: GET {url} failed: {problem}\n{self.transcript()}")

"""smtp-sink and smtp-source from Debian's postfix package, unpacked without installing postfix.

    tools = obtain()                       # apt-get download postfix; dpkg-deb -x, once, cached
    with Sink(tools, port) as sink:        # smtp-sink -u nobody -c 127.0.0.1:PORT 1000
        before = sink.messages()           # the sink's running counter (mesg=N)
        ...
        seconds = tools.source(port, n, message_file)   # smtp-source -d -s 8 -m N

The binaries link against postfix's own libraries in usr/lib/postfix, so they run with
LD_LIBRARY_PATH pointing there; nothing is written outside the cache folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from benchmarks.common import CACHE

_COUNTER = re.compile(rb"mesg=(\d+)")
# As root, apt would hand the download to the _apt user, who cannot write the cache folder.
_DOWNLOAD = ["apt-get", "-o", "APT::Sandbox::User=root", "download", "postfix"]


@dataclass(frozen=True)
class Tools:
    """The unpacked package."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = str(self.root / "usr/lib/postfix")
        return env

    def binary(self, name: str) -> str:
        return str(self.root / "usr/sbin" / name)

    def version(self) -> str:
        found = sorted(self.root.parent.glob("postfix_*.deb"))
        return found[-1].name.removeprefix("postfix_").removesuffix(".deb") if found else "?"

    def source(self, port: int, count: int, message: Path, sessions: int = 8) -> float:
        """Seconds for smtp-source to send `count` copies of `message` over `sessions` sessions.

        `-d`: each session keeps its connection for the next message (like the bot's pool).
        """
        command = [
            self.binary("smtp-source"),
            "-d",
            "-s",
            str(sessions),
            "-m",
            str(count),
            "-F",
            str(message),
            "-f",
            "statements@aappb.org",
            "-t",
            "reader@example.org",
            f"127.0.0.1:{port}",
        ]
        start = time.perf_counter()
        subprocess.run(command, env=self.env, check=True, timeout=600)
        return time.perf_counter() - start


def obtain(folder: Path = CACHE / "postfix") -> Tools:
    """The unpacked postfix package, downloaded with apt-get the first time."""
    root = folder / "root"
    if (root / "usr/sbin/smtp-sink").exists():
        return Tools(root)
    folder.mkdir(parents=True, exist_ok=True)
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise RuntimeError("smtp-sink comes from Debian's postfix package: needs apt-get")
    if not list(folder.glob("postfix_*.deb")):
        done = subprocess.run(_DOWNLOAD, cwd=folder, check=False)
        if done.returncode != 0:  # an empty or old package list: update it once and retry
            subprocess.run(["apt-get", "update"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(_DOWNLOAD, cwd=folder, check=True)
    package = sorted(folder.glob("postfix_*.deb"))[-1]
    partial = folder / "root.partial"
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(package), str(partial)], check=True)
    partial.rename(root)
    return Tools(root)


class Sink:
    """smtp-sink on 127.0.0.1:port, throwing every message away and counting them."""

    def __init__(self, tools: Tools, port: int, log: Path) -> None:
        self.tools, self.port, self.log = tools, port, log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.tools.binary("smtp-sink"), "-c"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root otherwise
        command += [f"127.0.0.1:{self.port}", "1000"]
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                command, env=self.tools.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"smtp-sink exited: {self.log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start listening within 10 s")

    def messages(self) -> int:
        """How many messages the sink has taken so far (its -c counter)."""
        time.sleep(0.2)  # the counter is written when a session ends or "." is received
        found = _COUNTER.findall(self.log.read_bytes()[-200:])
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Sink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

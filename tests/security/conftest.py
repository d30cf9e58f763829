"""The attacks run against `bot web` in a real process on a free loopback port.

`bot web` is started as it is in production (`python -m bot web --host --port`), with no channel
credential in its environment, on the test's home folder and database. The test talks to it
over HTTP like anyone on the internet would, and, for what a person does in their inbox, runs
`bot run`'s confirmation sender in-process on the same database (its emails land in the outbox
folder's Maildir). Behind the proxy the README describes, the proxy names the visitor in
X-Forwarded-For; 127.0.0.1 is the trusted proxy here, so a test can be many visitors.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import App, build_app
from tests.peers.ports import free_port
from tests.publish.helpers import bot_command, bot_env, reload_settings, set_toml

HERE = "here"
HEALTH_TOKEN = "health-token-for-monitoring-only-0123456789"
START = 30.0  # seconds for `bot web` to say it is listening
_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


class BotWeb:
    """A running `bot web`, with what it printed."""

    def __init__(
        self, home: Path, db_url: str, port: int, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        secrets = {"BOT_HEALTH_TOKEN": HEALTH_TOKEN, **(env or {})}
        self.process = subprocess.Popen(
            bot_command("web", "--host", "127.0.0.1", "--port", str(self.port)),
            env=bot_env(home, db_url, secrets),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.visitors: list[Visitor] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._drain, args=(stream, kept, told), daemon=True)
            for stream, kept, told in (
                (self.process.stdout, self.stdout, True),
                (self.process.stderr, self.stderr, False),
            )
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, stream: Any, kept: list[str], told: bool) -> None:
        for line in stream:
            kept.append(line)
            if told:
                self._lines.put(line)
        if told:
            self._lines.put(None)

    def wait_listening(self) -> None:
        """Return once `bot web` listens (it binds before it says so)."""
        while True:
            try:
                line = self._lines.get(timeout=START)
            except queue.Empty:
                pytest.fail(f"`bot web` did not start: {self.output()}")
            if line is None:
                pytest.fail(f"`bot web` stopped: {self.output()}")
            if line.startswith("Web page:"):
                return

    def finish(self, timeout: float = 20) -> int:
        """Wait for the process to end by itself; its exit status (all it printed is read)."""
        status = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return status

    def stop(self) -> None:
        for visitor in self.visitors:
            visitor.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)


class Visitor:
    """A browser on the site: keeps its cookies, sends the site's Origin with its forms."""

    def __init__(self, web: BotWeb, ip: str = "198.51.100.1", site: str | None = None) -> None:
        self.web = web
        self.ip = ip
        # The public address the browser is at (two processes behind one proxy share it).
        self.site = site or web.url
        self.client = httpx.Client(base_url=web.url, timeout=30)
        web.visitors.append(self)

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"x-forwarded-for": self.ip, **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def token(self, path: str = "/") -> str:
        found = _TOKEN.search(self.get(path).text)
        assert found, f"no form on {path}"
        return found.group(1)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        origin: str | None = "site",
        **kw: Any,
    ) -> httpx.Response:
        headers = {"x-forwarded-for": self.ip, **kw.pop("headers", {})}
        if origin is not None:
            headers["origin"] = self.site if origin == "site" else origin
        return self.client.post(path, data=data, headers=headers, **kw)

    def sign_up(self, address: str, lang: str = "en", path: str = "/subscribe") -> httpx.Response:
        form = {"email": address, "lang": lang, "topics": ["statements"], "website": ""}
        return self.post(path, {**form, "form_token": self.token()})


def real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def start_web(home: Path, db_url: str) -> Iterator[Any]:
    """Start `bot web` (after the test has set up the home); stopped at the end."""
    started: list[BotWeb] = []

    def start(
        env: dict[str, str] | None = None, *, wait: bool = True, links: str | None = HERE
    ) -> BotWeb:
        """`links`: the unsubscribe_base_url to set (HERE: this process's address, written
        without a trailing slash; None: left as it is)."""
        port = free_port()
        if links is not None:
            base = f"http://127.0.0.1:{port}" if links == HERE else links
            set_toml(home, "channels.email", unsubscribe_base_url=base)
        web = BotWeb(home, db_url, port, env)
        started.append(web)
        if wait:
            web.wait_listening()
        return web

    yield start
    for web in started:
        web.stop()


@pytest.fixture
def bot(home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The bot in this process, on the real clock like `bot web`, for `bot run`'s side."""
    monkeypatch.setenv("BOT_DATABASE_URL", db_url)
    built = build_app(home, clock=real_clock)
    yield built
    built.close()


def deliver(bot: App) -> int:
    """One pass of `bot run`'s confirmation sender (settings read again, as a new process
    would); how many emails it sent."""
    import asyncio

    from bot.runtime import build_runtime

    reload_settings(bot)
    return asyncio.run(build_runtime(bot).confirmations().run()).sent

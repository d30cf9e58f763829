"""Telegram fan-out against a local Bot API server that allows 30 messages per second overall.

The server (run by the parent process, in threads) answers sendMessage like Telegram and keeps
a sliding one-second window: the 31st message within any second is answered 429 with
`retry_after` (whole seconds, as Telegram sends it) and does not land. It is written here
rather than reusing tests.peers.telegram_server.FakeTelegram, which takes ~45 ms per request
(Nagle's algorithm meets delayed ACKs: its answer goes out in two writes without TCP_NODELAY),
so a client could never exceed ~22 requests per second against it and no limit would be hit.
The bot runs in a child process:

    python -m benchmarks.telegram_fanout bot --n N     # publish() + runtime.sender(...).run()
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from benchmarks.common import Stopwatch, free_port, peak_rss_mb, report, say

MESSAGE = "daily-briefing"
TOKEN = "123456789:AAH-benchmark-telegram-token"
ALLOWED_PER_SECOND = 30


class RateLimitedTelegram:
    """A Bot API server on loopback taking at most `per_second` messages in any second."""

    def __init__(self, per_second: int = ALLOWED_PER_SECOND) -> None:
        self.per_second = per_second
        self.port = free_port()
        self.accepted: list[float] = []  # time.monotonic() of each message that landed
        self.refused = 0  # 429 answers
        self.chats: set[str] = set()
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """For `[channels.telegram] base_url`: PTB appends the token and the method."""
        return f"http://127.0.0.1:{self.port}/bot"

    def send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one sendMessage: the message, or 429 when the window is full."""
        now = time.monotonic()
        chat = str(params.get("chat_id", ""))
        with self._lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.per_second:
                self.refused += 1
                wait = max(1, math.ceil(self._window[0] + 1.0 - now))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
            self._window.append(now)
            self.accepted.append(now)
            self.chats.add(chat)
            number = len(self.accepted)
        chat_id = int(chat) if chat.lstrip("-").isdigit() else -1001
        result = {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "text": params.get("text", ""),
        }
        return 200, {"ok": True, "result": result}

    def achieved_rate(self) -> float:
        """Messages per second between the first and the last message that landed."""
        if len(self.accepted) < 2:
            return 0.0
        return (len(self.accepted) - 1) / (self.accepted[-1] - self.accepted[0])

    def __enter__(self) -> RateLimitedTelegram:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="bot-api", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: RateLimitedTelegram


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms stall per answer
    timeout = 30
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        method = self.path.rpartition("/")[2]
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params: dict[str, Any] = dict(json.loads(body or b"{}"))
        else:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if method == "sendMessage":
            status, answer = self.server.api.send_message(params)
        else:
            status, answer = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        data = json.dumps(answer).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        self.wfile.write(head + data)  # one write

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bot(n: int) -> dict[str, Any]:
    """Publish the daily briefing's Telegram editions to `n` subscribed chats, then send."""
    from bot.app import build_app
    from bot.compose.drafts import Draft, occasion_for
    from bot.publish.outbox import counts, publish
    from bot.publish.sender import Report
    from bot.runtime import build_runtime

    app = build_app()
    found = app.composer.message(MESSAGE)
    occasion = occasion_for(app.settings, found, None, app.today())
    editions = app.composer.compose(found, occasion, None, ["telegram"])
    drafts = [e for e in editions if isinstance(e, Draft)]
    if len(drafts) != len(editions):
        raise SystemExit(f"cannot compose {MESSAGE}: {editions}")
    parts = {d.lang: len(d.parts) for d in drafts}
    created = publish(
        app.engine,
        occasion,
        drafts,
        [],  # only the subscribers' chats, not the channel itself
        now=app.clock(),
        created_by="benchmark",
        via={"telegram": "platform"},
        topic=found.settings.topic,
    )
    say(f"  publish: {created.new_deliveries} deliveries; sending…")

    async def send() -> Report:
        runtime = build_runtime(app)
        wired = runtime.connect(["telegram"])
        try:
            return await runtime.sender(wired).run(created.publication_id)
        finally:
            await wired.close()

    with Stopwatch() as sending:
        outcome = asyncio.run(send())
    with app.engine.connect() as conn:
        states = counts(conn, created.publication_id)
    waits = [o for o in outcome.outcomes if o.state == "pending"]
    return {
        "n": n,
        "deliveries": created.new_deliveries,
        "parts_per_lang": parts,
        "states": states,
        "rate_limited_outcomes": len(waits),
        "send_s": sending.seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.telegram_fanout")
    parser.add_argument("way", choices=["bot"])
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args()
    report(bot(args.n))


if __name__ == "__main__":
    main()

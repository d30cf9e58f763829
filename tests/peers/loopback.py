"""What every HTTP peer on loopback shares: its server thread, its address, and stopping it.

A peer subclasses LoopbackHTTP, builds its state, then calls `_serve(handler class)`; `with
Peer() as peer:` runs it for the test and stops it, with no thread left behind.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from tests.peers.ports import free_port


class LoopbackHTTP:
    """A threaded HTTP server on 127.0.0.1 that a `with` block starts and stops."""

    _server: ThreadingHTTPServer
    _thread: threading.Thread
    _stopping: threading.Event

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        # Set by a delayed answer's wait, so stopping wakes it and no thread outlives the test.
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self._server.block_on_close = True
        # A short poll so that stopping the server does not add half a second to every test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The peer's address, for the channel's base_url or instance_url setting."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

"""A TCP relay on loopback whose links can be cut, to play a database server that goes away.

    with TcpProxy("127.0.0.1", 5432) as proxy:   # clients connect to 127.0.0.1:proxy.port
        proxy.down()    # every open link is cut; new connections are accepted and closed at once
        proxy.up()      # new connections reach the server again

The server itself is never touched (other tests use it). The relay runs its own event loop in
a thread, like the SMTP peer, so the code under test may block or use `asyncio.run` freely.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

HOST = "127.0.0.1"
T = TypeVar("T")


class TcpProxy:
    """See the module docstring."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.accepted = 0  # connections relayed to the server
        self.refused = 0  # connections closed at once while down
        self._refusing = False
        self._links: set[asyncio.Transport] = set()
        self._relays: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    # Faults ----------------------------------------------------------------------------

    def down(self) -> int:
        """Cut every open link and refuse new ones until `up()`; how many links were cut."""
        return self._call(self._down())

    def up(self) -> None:
        """Relay new connections again."""
        self._call(self._up())

    async def _down(self) -> int:
        self._refusing = True
        links, self._links = self._links, set()
        for transport in links:
            transport.abort()  # both ends of each link are in the set
        return len(links) // 2

    async def _up(self) -> None:
        self._refusing = False

    # Relaying --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _transport(writer)
        if self._refusing:
            self.refused += 1
            client.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client.abort()
            return
        self.accepted += 1
        server = _transport(up_writer)
        self._links |= {client, server}
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)  # awaited by stop(), so no task outlives the loop
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self._links -= {client, server}
            self._relays.discard(relay)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._server = self._call(_listen(self._serve))
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._down()
            await asyncio.gather(*self._relays, return_exceptions=True)

        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


async def _listen(serve: Any) -> asyncio.Server:
    return await asyncio.start_server(serve, HOST, 0)


def _transport(writer: asyncio.StreamWriter) -> asyncio.Transport:
    transport = writer.transport
    assert isinstance(transport, asyncio.Transport)
    return transport


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until it ends; then drop the other end too, as a dead host would."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()

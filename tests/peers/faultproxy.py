"""A small TCP proxy of ours in front of a real server, that cuts, stalls and trickles.

``FaultProxy(port)`` forwards 127.0.0.1:<its port> to 127.0.0.1:``port``. Its ``fault`` decides
what happens to the next connections:

- ``None``: forward faithfully;
- ``("cut", n)``: forward the first ``n`` bytes of the answer, then close;
- ``("reset", n)``: as cut, but with a TCP reset;
- ``"stall"``: read the request, never answer;
- ``("trickle", delay)``: forward the answer one small piece every ``delay`` seconds;
- ``"refuse"``: close the connection at once, before reading anything;
- ``"once"``: forward the first request of a connection, close it when a second one comes
  (a keep-alive connection the server dropped, as the client finds out on reuse).

``fault`` may also be a callable returning one of those, asked at each new connection.
``connections`` counts accepted connections, ``requests`` the requests that reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

__all__ = ["FaultProxy"]


class FaultProxy:
    def __init__(
        self, target_port: int, target_host: str = "127.0.0.1", host: str = "127.0.0.1"
    ) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.fault: Any = None
        self.connections = 0
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = False
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._closing = True
        self._server.close()
        await asyncio.sleep(0)  # a connection accepted just now reaches _handle, which drops it
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        fault = self.fault() if callable(self.fault) else self.fault
        upstream: asyncio.StreamWriter | None = None
        try:
            if fault == "refuse" or self._closing:  # the latter: accepted while shutting down
                return
            if fault == "stall":
                while chunk := await reader.read(65536):
                    self._count(chunk)
                return
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            pump_up = asyncio.ensure_future(self._pump(reader, upstream, writer, fault))
            try:
                await self._answer(up_reader, writer, fault)
            finally:
                pump_up.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump_up
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort() if _is_reset(fault) and w is writer else w.close()
            # The socket itself closes a loop turn later: wait for it, or a loop closed right
            # after the test leaves it open (a ResourceWarning at some later collection).
            for w in (writer, upstream):
                if w is not None:
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await w.wait_closed()
            self._tasks.discard(task)

    async def _answer(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: Any
    ) -> None:
        budget = fault[1] if isinstance(fault, tuple) and fault[0] in ("cut", "reset") else None
        delay = fault[1] if isinstance(fault, tuple) and fault[0] == "trickle" else None
        while True:
            chunk = await up_reader.read(65536 if delay is None else 16)
            if not chunk:
                return
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            writer.write(chunk)
            await writer.drain()
            if budget is not None and budget <= 0:
                if _is_reset(fault):
                    sock = writer.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                return
            if delay is not None:
                await asyncio.sleep(delay)


    def _count(self, chunk: bytes) -> int:
        found = sum(chunk.count(m) for m in _METHODS)
        self.requests += found
        return found

    async def _pump(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
        client: asyncio.StreamWriter, fault: Any,
    ) -> None:
        seen = 0
        while chunk := await reader.read(65536):
            seen += self._count(chunk)
            if fault == "once" and seen > 1:
                client.transport.abort()
                return
            upstream.write(chunk)
            await upstream.drain()


_METHODS = tuple(
    f"{m} /".encode() for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
)


def _is_reset(fault: Any) -> bool:
    return isinstance(fault, tuple) and fault[0] == "reset"

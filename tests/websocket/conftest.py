"""Local WebSocket servers for the tests: real ``websockets`` servers on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from pepperpy_core.testing.relay import HalfOpenRelay
from pepperpy_core.websocket import client as _client

Handler = Callable[[ServerConnection], Awaitable[None]]



@pytest.fixture(autouse=True, params=["websockets", "aiohttp"])
def ws_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every WebSocket test runs on both transports: ``backend=None`` means this one."""
    monkeypatch.setattr(_client, "_DEFAULT_BACKEND", request.param)
    return str(request.param)


async def echo(ws: ServerConnection) -> None:
    """Send every message back as it came (text stays text, binary stays binary)."""
    async for message in ws:
        await ws.send(message)


class LocalWSServer:
    """A websockets server that can be stopped and restarted on the same port."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        self.handler = handler
        self.options = options
        self.port = 0
        self.connections: list[ServerConnection] = []
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        with contextlib.suppress(ConnectionClosed):  # a client that vanished is no error here
            await self.handler(ws)

    async def start(self) -> LocalWSServer:
        self._server = await serve(self._handle, "127.0.0.1", self.port, **self.options)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop accepting and close every connection with 1001 (going away)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def ws_server() -> AsyncIterator[Callable[..., Awaitable[LocalWSServer]]]:
    """A factory: ``await ws_server(handler, **serve_options)`` starts a server; all stop at
    the end of the test."""
    servers: list[LocalWSServer] = []

    async def start(handler: Handler = echo, **options: Any) -> LocalWSServer:
        server = await LocalWSServer(handler, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def echo_server(ws_server: Callable[..., Awaitable[LocalWSServer]]) -> LocalWSServer:
    return await ws_server(echo)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers (for handshake timeouts): its port."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def free_port() -> int:
    """A port with nothing listening (bound then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def proxy_to() -> AsyncIterator[Callable[[int], Awaitable[HalfOpenRelay]]]:
    """A factory: ``await proxy_to(port)`` starts a :class:`HalfOpenRelay` to ``port``."""
    relays: list[HalfOpenRelay] = []

    async def start(port: int) -> HalfOpenRelay:
        relay = await HalfOpenRelay(port).__aenter__()
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        await relay.aclose()

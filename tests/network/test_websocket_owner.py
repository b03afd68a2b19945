"""With a real WebSocket on a local server: the manager cuts a long reconnect backoff short."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

websocket = pytest.importorskip("pepperpy_core.websocket")
serve = pytest.importorskip("websockets.asyncio.server").serve


async def echo(connection: Any) -> None:
    async for message in connection:
        await connection.send(message)


async def test_back_online_reconnects_a_websocket_at_once(wait_for: Any) -> None:
    """A WebSocket waiting out a 30 s backoff reconnects within a second of the network's return."""
    from pepperpy_core.network import NetworkManager

    server = await serve(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    outages: list[str] = []
    manager = NetworkManager(
        targets=[f"tcp://127.0.0.1:{port}"], interval=0.02, timeout=1.0,
        offline_after=1, online_after=1,
    )
    async with manager:
        ws = manager.websocket(
            f"ws://127.0.0.1:{port}", ping_interval=None,
            reconnect=websocket.ReconnectPolicy(base_delay=30.0, max_delay=30.0, jitter=False),
        )
        ws.start()
        await wait_for(lambda: ws.is_connected)
        assert await manager.check_connection()
        await manager.monitor_connection(on_disconnect=lambda: outages.append("down"))
        server.close()
        await server.wait_closed()
        await wait_for(lambda: outages == ["down"] and not ws.is_connected)
        server = await serve(echo, "127.0.0.1", port)
        await wait_for(lambda: ws.is_connected, 3.0)
        assert ws.connections == 2
    assert ws.closed  # the manager closed the socket it owned
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)

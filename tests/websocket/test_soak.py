"""Soak: a server that drops the connection every K messages while a batching, reconnecting
client sends N messages. Nothing is lost, order holds per connection, no task leaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from pepperpy_core.websocket import BatchWebSocket, ReconnectPolicy, RetryWebSocket

Start = Callable[..., Awaitable[Any]]

N = 3000  # messages the client sends
K = 250  # messages after which the server drops the connection


class Feed(BatchWebSocket, RetryWebSocket):
    """The documented reconnecting, batching composition."""


def dropping_server(
    per_connection: list[list[int]],
) -> Callable[[ServerConnection], Awaitable[None]]:
    """Record every message; after K on one connection, close it (going away, 1001) and keep
    reading what the client had already sent before it saw the close."""

    async def handler(ws: ServerConnection) -> None:
        mine: list[int] = []
        per_connection.append(mine)
        closing = False
        async for frame in ws:
            mine.extend(item["seq"] for item in json.loads(frame))
            if len(mine) >= K and not closing:
                closing = True
                await ws.close(1001, "restarting")

    return handler


async def test_every_message_arrives_in_order_through_repeated_drops(ws_server: Start) -> None:
    """N batched messages through a drop every K: all arrive, ordered per connection."""
    per_connection: list[list[int]] = []
    # max_queue=None: the handler awaits close() inside its loop, so the server must keep
    # reading (and see the client's close frame behind the data it has not consumed yet).
    server = await ws_server(dropping_server(per_connection), max_queue=None)
    ws = Feed(
        server.url,
        batch_size=10,
        flush_interval=0.05,
        max_retries=3,
        retry_delay=0.01,
        reconnect=ReconnectPolicy(base_delay=0.01, max_delay=0.05),
    )
    reconnects: list[int] = []
    ws.on("reconnect", reconnects.append)
    await ws.connect()
    for seq in range(N):
        await ws.send({"seq": seq})
        if seq % 10 == 0:
            await asyncio.sleep(0.001)  # pace the producer so drops land mid-stream
    await ws.flush()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while {s for conn in per_connection for s in conn} != set(range(N)):
        assert loop.time() < deadline, "not every message arrived"
        await asyncio.sleep(0.01)

    for received in per_connection:
        assert received == sorted(received), "order broken within a connection"
    assert len(per_connection) >= N // K and len(reconnects) >= N // K - 1
    while not ws.is_connected:  # the last drop may still be reconnecting
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    await ws.close()
    await server.stop()
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []

"""Soak: a server that drops the connection every K messages while a batching, reconnecting
client sends N messages. Nothing is lost, order holds per connection, no task leaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from waiting import wait_until
from websockets.asyncio.server import ServerConnection

from pepperpy_core.testing.relay import HalfOpenRelay
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


# --------------------------------------------------------------------- faults of every kind

TOTAL = 5000
HALF_OPEN_AT = (700, 2100, 3600)  # the relay silences the live connection after these sends
RESTART_AT = (1400, 2900)  # the server stops (1001 to all) and starts again on its port


async def test_soak_through_half_open_windows_and_server_restarts(
    ws_server: Start, proxy_to: Callable[[int], Awaitable[HalfOpenRelay]]
) -> None:
    """5,000 messages through BatchWebSocket while the relay goes half-open three times and
    the server restarts twice: none lost, duplicates counted, order kept per connection."""
    per_connection: list[list[int]] = []

    async def record(ws: ServerConnection) -> None:
        mine: list[int] = []
        per_connection.append(mine)
        async for frame in ws:
            mine.extend(item["seq"] for item in json.loads(frame))

    server = await ws_server(record, close_timeout=0.2)
    relay = await proxy_to(server.port)
    ws = BatchWebSocket(
        relay.url,
        batch_size=20,
        flush_interval=0.02,
        ping_interval=0.1,
        ping_timeout=0.2,
        auto_reconnect=True,
        reconnect=ReconnectPolicy(base_delay=0.01, max_delay=0.05),
    )
    await ws.connect()
    faults = 0
    for seq in range(TOTAL):
        if seq in HALF_OPEN_AT or seq in RESTART_AT:
            # Each fault hits a fresh connection: wait for the reconnect after the last one
            # (a half-open link still looks connected until the keepalive notices).
            await wait_until(lambda n=faults: ws.connections > n and ws.is_connected, timeout=20)  # type: ignore[misc]
            faults += 1
        if seq in HALF_OPEN_AT:
            assert relay.go_half_open() >= 1
        if seq in RESTART_AT:
            await server.stop()
            await asyncio.sleep(0.05)  # refused connects meanwhile: the backoff retries
            await server.start()
        await ws.send({"seq": seq})
        if seq % 20 == 0:
            await asyncio.sleep(0.002)  # pace the producer so faults land mid-stream
    await ws.flush()

    everything = set(range(TOTAL))
    await wait_until(lambda: {s for c in per_connection for s in c} == everything, timeout=20)
    received = [s for conn in per_connection for s in conn]
    duplicates = len(received) - TOTAL
    for conn in per_connection:
        assert conn == sorted(conn) and len(set(conn)) == len(conn), "order broken"
    assert ws.outbox is not None and ws.outbox.dropped == 0
    assert ws.connections >= 1 + len(HALF_OPEN_AT) + len(RESTART_AT)
    assert relay.dropped_bytes > 0  # the half-open windows really swallowed frames
    # Duplicates are what was replayed but had arrived: bounded by what the outbox resent.
    assert 0 <= duplicates <= ws.outbox.replayed * 20, (duplicates, ws.outbox.replayed)
    await ws.close()
    await server.stop()

"""The client against the ``ws`` package on Node.js (tests/peers/node_ws.py), on both backends:
echo, subscriptions replayed after a server restart, close codes, compression, max_size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from peers.node_ws import NodeWs, node_ws, node_ws_install

from pepperpy_core.exceptions import (
    MessageTooLargeError,
    WebSocketConnectionError,
    WebSocketDisconnectedError,
)
from pepperpy_core.websocket import BatchWebSocket, ReconnectPolicy, RetryWebSocket, WebSocket

__all__ = ["node_ws", "node_ws_install"]  # the fixtures, imported for pytest

Start = Callable[..., NodeWs]
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.1)


async def test_echo_of_json_text_and_binary(node_ws: Start) -> None:
    server = node_ws()
    async with WebSocket(server.url) as ws:
        await ws.send({"n": 1, "text": "olá"})
        assert await ws.receive() == {"n": 1, "text": "olá"}
        await ws.send("plain text")
        assert await ws.receive() == "plain text"
        await ws.send(b"\x00\x01\xff")
        assert await ws.receive() == b"\x00\x01\xff"


async def test_subscriptions_are_replayed_after_the_server_restarts(node_ws: Start) -> None:
    server = node_ws()
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST)
    await ws.connect()
    await ws.subscribe({"op": "subscribe", "channel": "trades"})
    assert await ws.receive() == {"subscribed": "trades", "server": 1}
    await asyncio.to_thread(server.restart)  # the old process closes us with 1001
    assert await asyncio.wait_for(ws.receive(), 10) == {"subscribed": "trades", "server": 2}
    assert ws.connections == 2
    await ws.send({"op": "publish", "channel": "trades", "data": 42})
    assert await ws.receive() == {"channel": "trades", "data": 42}
    await ws.close()


@pytest.mark.parametrize("code", [1000, 1001, 1011, 4001])
async def test_server_close_codes_are_reported(node_ws: Start, code: int) -> None:
    server = node_ws()
    disconnects: list[Any] = []
    errors: list[Any] = []
    ws = WebSocket(server.url)
    ws.on("disconnect", disconnects.append)
    ws.on("error", errors.append)
    await ws.connect()
    await ws.send({"op": "close", "code": code, "reason": "because"})
    with pytest.raises(WebSocketDisconnectedError) as info:
        await ws.receive()
    assert (info.value.code, info.value.reason) == (code, "because")
    assert disconnects == [info.value]
    assert errors == ([] if code in (1000, 1001) else [info.value])
    await ws.close()


async def test_socket_destroyed_without_close_frame_is_1006(node_ws: Start) -> None:
    server = node_ws()
    ws = WebSocket(server.url)
    await ws.connect()
    await ws.send({"op": "drop"})
    with pytest.raises(WebSocketDisconnectedError) as info:
        await ws.receive()
    assert info.value.code == 1006
    await ws.close()


async def test_a_caller_that_stops_reading_still_answers_the_peers_pings(
    node_ws: Start,
) -> None:
    """Node pings a client that has stopped calling receive(): all three pings are answered
    (the peer closes with 4000 + the pongs it saw) and the close is noticed unread."""
    server = node_ws()
    ws = WebSocket(server.url, ping_interval=None)
    await ws.connect()
    await ws.send("hello")
    assert await ws.receive() == "hello"  # then nobody reads
    await ws.send({"op": "ping", "count": 3, "delay": 200})
    for _ in range(400):
        if not ws.is_connected:
            break
        await asyncio.sleep(0.01)
    assert not ws.is_connected
    with pytest.raises(WebSocketDisconnectedError) as info:
        await ws.receive()
    assert (info.value.code, info.value.reason) == (4003, "pongs")
    await ws.close()


@pytest.mark.parametrize("compression", [True, False])
async def test_compression_is_negotiated_with_the_peer(node_ws: Start, compression: bool) -> None:
    server = node_ws(compression=True)
    async with WebSocket(server.url, compression=compression) as ws:
        await ws.send({"op": "info"})
        info = await ws.receive()
        assert ("permessage-deflate" in str(info["extensions"])) is compression
        await ws.send({"z": "x" * 10_000})
        assert await ws.receive() == {"z": "x" * 10_000}


@pytest.mark.parametrize("compression", [True, False])
async def test_max_size_bounds_the_decoded_message(node_ws: Start, compression: bool) -> None:
    """A message of exactly max_size bytes arrives (compressed or not: its frame is far
    smaller than the message); one byte more is refused."""
    server = node_ws(compression=True)
    limit = 50_000
    async with WebSocket(server.url, max_size=limit, compression=compression) as ws:
        await ws.send({"op": "text", "size": limit})
        assert await ws.receive() == "x" * limit
        await ws.send({"op": "text", "size": limit + 1})
        with pytest.raises(MessageTooLargeError):
            await ws.receive()


async def test_sending_over_the_peer_max_payload_is_message_too_large(node_ws: Start) -> None:
    server = node_ws(max_payload=1000, compression=False)
    ws = WebSocket(server.url)
    await ws.connect()
    await ws.send("y" * 2000)
    with pytest.raises(MessageTooLargeError):
        await ws.receive()
    await ws.close()


async def test_batches_survive_a_peer_restart(node_ws: Start) -> None:
    """BatchWebSocket's outbox across a restart of a foreign server: every item arrives."""
    server = node_ws()
    ws = BatchWebSocket(
        server.url, batch_size=10, flush_interval=0.02, auto_reconnect=True, reconnect=FAST
    )
    await ws.connect()
    seen: set[int] = set()
    for n in range(50):
        await ws.send({"n": n})
    await ws.flush()
    await asyncio.to_thread(server.restart)
    for n in range(50, 100):
        await ws.send({"n": n})
    await ws.flush()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while seen != set(range(100)):
        assert loop.time() < deadline, sorted(set(range(100)) - seen)
        frame = await asyncio.wait_for(ws.receive(), 10)
        seen.update(item["n"] for item in frame)
    await ws.close()


async def test_retry_websocket_waits_for_a_foreign_server_that_starts_late(
    node_ws: Start,
) -> None:
    """RetryWebSocket's connect() retries through the shared backoff loop until a Node ``ws``
    server that is down comes up on its port; with max_retries=0 it makes one attempt."""
    server = node_ws()
    await asyncio.to_thread(server.stop)  # the port is known, nothing listens on it
    once = RetryWebSocket(server.url, max_retries=0, auto_reconnect=False)
    with pytest.raises(WebSocketConnectionError, match="after 1 attempt") as failed:
        await once.connect()
    assert failed.value.attempts == 1
    await once.close()
    ws = RetryWebSocket(
        server.url, max_retries=200, retry_delay=0.02, retry_max_delay=0.05,
        retry_jitter=False, auto_reconnect=False,
    )
    connecting = asyncio.create_task(ws.connect())
    await asyncio.sleep(0.3)  # a few refused attempts
    assert not connecting.done()
    await asyncio.to_thread(server.start)
    await asyncio.wait_for(connecting, 10)
    await ws.send({"late": True})
    assert await ws.receive() == {"late": True}
    await ws.close()

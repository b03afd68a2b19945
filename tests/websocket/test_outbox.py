"""Nothing lost: the outbox keeps every frame sent since the last acknowledged keepalive and
sends it again after a reconnect, before new frames. Tested through the half-open relay, whose
silent connections swallow whatever the client writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from waiting import wait_until
from websockets.asyncio.server import ServerConnection

from pepperpy_core.exceptions import ConfigurationError, WebSocketOutboxFullError
from pepperpy_core.testing import capture_events
from pepperpy_core.testing.relay import HalfOpenRelay
from pepperpy_core.websocket import BatchWebSocket, OutboxPolicy, ReconnectPolicy, WebSocket

Start = Callable[..., Awaitable[Any]]
Relay = Callable[[int], Awaitable[HalfOpenRelay]]
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.05)
KEEPALIVE = {"ping_interval": 0.1, "ping_timeout": 0.2}


def recorder(per_connection: list[list[Any]]) -> Callable[[ServerConnection], Awaitable[None]]:
    """Record every decoded message (a JSON array counts as its items), one list per
    connection, in arrival order."""

    async def handler(ws: ServerConnection) -> None:
        mine: list[Any] = []
        per_connection.append(mine)
        async for frame in ws:
            data = json.loads(frame)
            mine.extend(data if isinstance(data, list) else [data])

    return handler


def seqs(per_connection: list[list[Any]]) -> set[int]:
    return {m["seq"] for conn in per_connection for m in conn}


async def send_through_a_half_open_window(
    ws: WebSocket, relay: HalfOpenRelay, per_connection: list[list[Any]]
) -> None:
    """10 messages on a good link, 10 into the void while half-open, 10 after the reconnect."""
    for seq in range(10):
        await ws.send({"seq": seq})
    await wait_until(lambda: seqs(per_connection) == set(range(10)))
    relay.go_half_open()
    for seq in range(10, 20):
        await ws.send({"seq": seq})  # written to the socket; the relay swallows it
    await wait_until(lambda: ws.connections == 2 and ws.is_connected)
    for seq in range(20, 30):
        await ws.send({"seq": seq})


async def test_frames_swallowed_by_a_half_open_link_are_sent_again(
    ws_server: Start, proxy_to: Relay
) -> None:
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    relay = await proxy_to(server.port)
    ws = WebSocket(
        relay.url, outbox=OutboxPolicy(), auto_reconnect=True, reconnect=FAST, **KEEPALIVE
    )
    await ws.connect()
    await send_through_a_half_open_window(ws, relay, per_connection)
    await wait_until(lambda: seqs(per_connection) == set(range(30)))
    assert relay.dropped_bytes > 0  # the swallowed frames really never arrived the first time
    second = [m["seq"] for m in per_connection[-1]]
    assert second == sorted(second), "the replay must come before new frames, in order"
    assert second[0] <= 10 and second[-1] == 29
    assert ws.outbox is not None and ws.outbox.replayed >= 10 and ws.outbox.dropped == 0
    await ws.close()


async def test_without_the_outbox_the_half_open_window_loses_frames(
    ws_server: Start, proxy_to: Relay
) -> None:
    """The control: the same traffic with outbox=None loses what the relay swallowed."""
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    relay = await proxy_to(server.port)
    ws = WebSocket(relay.url, auto_reconnect=True, reconnect=FAST, **KEEPALIVE)
    await ws.connect()
    await send_through_a_half_open_window(ws, relay, per_connection)
    await wait_until(lambda: {20, 29} <= seqs(per_connection))
    assert not set(range(10, 20)) <= seqs(per_connection)
    await ws.close()


async def test_batch_websocket_keeps_batches_across_a_half_open_window(
    ws_server: Start, proxy_to: Relay
) -> None:
    """BatchWebSocket has the outbox by default; ids let the receiver drop duplicates."""
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    relay = await proxy_to(server.port)
    ws = BatchWebSocket(
        relay.url,
        batch_size=5,
        flush_interval=0.02,
        auto_reconnect=True,
        reconnect=FAST,
        **KEEPALIVE,
    )
    await ws.connect()
    await send_through_a_half_open_window(ws, relay, per_connection)
    await ws.flush()
    await wait_until(lambda: seqs(per_connection) == set(range(30)))
    for conn in per_connection:
        got = [m["seq"] for m in conn]
        assert got == sorted(got)
    await ws.close()


async def test_a_pong_acknowledges_everything_sent_before_its_ping(echo_server: Any) -> None:
    ws = WebSocket(echo_server.url, outbox=OutboxPolicy(), ping_interval=0.05, ping_timeout=1)
    await ws.connect()
    for n in range(5):
        await ws.send({"n": n})
    assert ws.outbox is not None and ws.outbox.pending == 5
    await wait_until(lambda: ws.outbox is not None and ws.outbox.pending == 0)
    await ws.close()


async def test_message_ids_let_the_receiver_drop_duplicates(
    ws_server: Start, proxy_to: Relay
) -> None:
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    relay = await proxy_to(server.port)
    ws = WebSocket(
        relay.url,
        outbox=OutboxPolicy(id_field="msg_id"),
        auto_reconnect=True,
        reconnect=FAST,
        **KEEPALIVE,
    )
    await ws.connect()
    await send_through_a_half_open_window(ws, relay, per_connection)
    await wait_until(lambda: seqs(per_connection) == set(range(30)))
    received = [m for conn in per_connection for m in conn]
    unique = {m["msg_id"]: m["seq"] for m in received}
    assert sorted(unique) == list(range(1, 31))  # one increasing id per message sent
    assert all(unique[i] == i - 1 for i in unique)  # a duplicate carries its original id
    await ws.send({"seq": 99, "msg_id": "mine"})  # a message's own id is left alone
    await wait_until(lambda: 99 in seqs(per_connection))
    assert per_connection[-1][-1]["msg_id"] == "mine"
    await ws.close()


# --------------------------------------------------------------------- a full outbox


async def test_full_outbox_raise_policy_raises_at_once(echo_server: Any) -> None:
    policy = OutboxPolicy(max_messages=3, when_full="raise")
    ws = WebSocket(echo_server.url, outbox=policy, ping_interval=60)  # no pong in this test
    await ws.connect()
    for n in range(3):
        await ws.send({"n": n})
    with pytest.raises(WebSocketOutboxFullError, match="max_messages=3"):
        await ws.send({"n": 3})
    await ws.close()


async def test_full_outbox_bytes_bound_counts_payload_bytes(echo_server: Any) -> None:
    policy = OutboxPolicy(max_bytes=20, when_full="raise")
    ws = WebSocket(echo_server.url, outbox=policy, ping_interval=60)
    await ws.connect()
    await ws.send("x" * 12)
    with pytest.raises(WebSocketOutboxFullError, match="max_bytes=20"):
        await ws.send("y" * 12)
    await ws.send("z" * 8)  # 20 bytes in all: still fits
    assert ws.outbox is not None and ws.outbox.pending_bytes == 20
    await ws.close()


async def test_full_outbox_drop_oldest_counts_what_it_dropped(echo_server: Any) -> None:
    policy = OutboxPolicy(max_messages=3, when_full="drop_oldest")
    ws = WebSocket(echo_server.url, outbox=policy, ping_interval=60)
    await ws.connect()
    for n in range(5):
        await ws.send({"n": n})
    assert ws.outbox is not None
    assert (ws.outbox.pending, ws.outbox.dropped) == (3, 2)
    assert [json.loads(e.payload)["n"] for e in ws.outbox.after(0)] == [2, 3, 4]
    await ws.close()


async def test_full_outbox_wait_policy_waits_for_a_pong(echo_server: Any) -> None:
    """ "wait" blocks the sender until a pong frees room, then sends: nothing refused."""
    policy = OutboxPolicy(max_messages=2, when_full="wait")
    ws = WebSocket(echo_server.url, outbox=policy, ping_interval=0.05, ping_timeout=1)
    await ws.connect()
    for n in range(6):
        await ws.send({"n": n})
    assert [await ws.receive() for _ in range(6)] == [{"n": n} for n in range(6)]
    await ws.close()


async def test_full_outbox_wait_policy_gives_up_after_send_wait(echo_server: Any) -> None:
    policy = OutboxPolicy(max_messages=1, when_full="wait")
    ws = WebSocket(echo_server.url, outbox=policy, ping_interval=60, send_wait=0.05)
    await ws.connect()
    await ws.send({"n": 0})
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(WebSocketOutboxFullError):
        await ws.send({"n": 1})
    assert 0.04 <= loop.time() - started < 1.0
    await ws.close()


def test_outbox_policy_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="max_messages"):
        OutboxPolicy(max_messages=0)
    with pytest.raises(ConfigurationError, match="max_bytes"):
        OutboxPolicy(max_bytes=0)
    with pytest.raises(ConfigurationError, match="when_full"):
        OutboxPolicy(when_full="block")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="outbox"):
        WebSocket("ws://127.0.0.1:1", outbox={"max_messages": 5})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ping_interval"):
        WebSocket("ws://127.0.0.1:1", outbox=OutboxPolicy(), ping_interval=None)
    BatchWebSocket("ws://127.0.0.1:1", ping_interval=None, outbox=None)  # off: fine


async def test_a_clean_close_empties_the_outbox(echo_server: Any) -> None:
    """The server's answer to our close frame acknowledges everything before it."""
    ws = WebSocket(echo_server.url, outbox=OutboxPolicy(), ping_interval=60)
    await ws.connect()
    await ws.send({"n": 1})
    assert ws.outbox is not None and ws.outbox.pending == 1
    await ws.close()
    assert ws.outbox.pending == 0


async def test_close_during_a_reconnect_delivers_the_outbox_first(ws_server: Start) -> None:
    """The server restarts mid-feed and close() is called at once, while the client is still
    reconnecting: close waits (up to close_timeout) for the reconnect, which replays the
    outbox, so all 300 messages arrive instead of the half sent after the restart."""
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    ws = BatchWebSocket(
        server.url, batch_size=25, flush_interval=0.05, auto_reconnect=True,
        reconnect=FAST, close_timeout=5.0, **KEEPALIVE,
    )
    await ws.connect()
    for seq in range(150):
        await ws.send({"seq": seq})
    await wait_until(lambda: seqs(per_connection) == set(range(150)))
    await server.stop()
    await server.start()
    for seq in range(150, 300):
        await ws.send({"seq": seq})
    await ws.close()
    assert seqs(per_connection) == set(range(300))
    assert ws.outbox is not None and ws.outbox.pending == 0


async def test_close_with_the_server_gone_warns_what_it_could_not_deliver(
    ws_server: Start,
) -> None:
    """The server does not come back: close gives up after close_timeout and says how many
    frames were never acknowledged (a warning, not silence)."""
    per_connection: list[list[Any]] = []
    server = await ws_server(recorder(per_connection))
    ws = BatchWebSocket(
        server.url, batch_size=5, flush_interval=0.05, auto_reconnect=True,
        reconnect=FAST, close_timeout=0.3, **KEEPALIVE,
    )
    await ws.connect()
    await server.stop()
    for seq in range(10):
        await ws.send({"seq": seq})
    loop = asyncio.get_running_loop()
    with capture_events() as events:
        started = loop.time()
        await ws.close()
        took = loop.time() - started
    assert 0.25 <= took < 2.0
    unsent = [e for e in events if e["event"] == "websocket.outbox_undelivered_at_close"]
    assert ws.outbox is not None and ws.outbox.pending > 0
    assert len(unsent) == 1 and unsent[0]["frames"] == ws.outbox.pending
    assert unsent[0]["log_level"] == "warning"

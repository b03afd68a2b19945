"""BatchWebSocket, its composition with RetryWebSocket, and the specification's own example."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from waiting import wait_until
from websockets.asyncio.server import ServerConnection

from pepperpy_core.exceptions import (
    ConfigurationError,
    WebSocketClosedError,
    WebSocketDisconnectedError,
)
from pepperpy_core.testing import FakeClock
from pepperpy_core.websocket import (
    BatchWebSocket,
    ReconnectPolicy,
    RetryWebSocket,
    WebSocket,
)

Start = Callable[..., Awaitable[Any]]
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.05)


class SpecBatchWebSocket(WebSocket):
    """The specification's example, copied as written (only the name changed)."""

    def __init__(self, url: str, batch_size: int = 100, flush_interval: float = 1.0):
        super().__init__(url)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.batch = []  # type: ignore[var-annotated]
        self.last_flush = time.time()

    async def send(self, data: Any) -> None:
        self.batch.append(data)
        now = time.time()
        should_flush = (
            len(self.batch) >= self.batch_size or now - self.last_flush >= self.flush_interval
        )
        if should_flush:
            await self._flush()

    async def _flush(self) -> None:
        if not self.batch:
            return
        try:
            await super().send(self.batch)
        finally:
            self.batch = []
            self.last_flush = time.time()


class Feed(BatchWebSocket, RetryWebSocket):
    """A batching client that retries connects and reconnects (the documented composition)."""


def frame_recorder(frames: list[list[Any]]) -> Callable[[ServerConnection], Awaitable[None]]:
    """A handler appending each decoded frame, one list per connection."""

    async def handler(ws: ServerConnection) -> None:
        mine: list[Any] = []
        frames.append(mine)
        async for message in ws:
            mine.append(json.loads(message))

    return handler


async def test_full_batch_is_sent_as_one_json_array(ws_server: Start) -> None:
    """batch_size messages go out as a single frame holding a JSON array, in order."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    clock = FakeClock()
    ws = BatchWebSocket(server.url, batch_size=3, flush_interval=60, clock=clock)
    await ws.connect()
    for n in range(7):
        await ws.send({"n": n})
    await wait_until(lambda: len(frames[0]) == 2)
    assert frames[0] == [[{"n": 0}, {"n": 1}, {"n": 2}], [{"n": 3}, {"n": 4}, {"n": 5}]]
    assert ws.batch == [{"n": 6}]
    await ws.close()
    await wait_until(lambda: len(frames[0]) == 3)
    assert frames[0][2] == [{"n": 6}]


async def test_timer_flushes_without_any_send(ws_server: Start) -> None:
    """An old enough batch is sent by the timer even when nobody calls send() again."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    clock = FakeClock()
    ws = BatchWebSocket(
        server.url, batch_size=100, flush_interval=1.0, clock=clock, sleep=clock.sleep
    )
    await ws.connect()
    await ws.send("one")
    await ws.send({"two": 2})
    await wait_until(lambda: bool(frames and frames[0]))
    assert frames[0] == [["one", {"two": 2}]]
    assert clock.total_slept >= 1.0 and ws.batch == []
    await ws.close()


async def test_send_flushes_when_the_interval_has_passed(ws_server: Start) -> None:
    """A send() after flush_interval sends the batch at once, as in the specification."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    clock = FakeClock()
    ws = BatchWebSocket(server.url, batch_size=100, flush_interval=5.0, clock=clock)
    await ws.connect()
    clock.advance(6)
    await ws.send(1)
    await wait_until(lambda: bool(frames and frames[0]))
    assert frames[0] == [[1]]
    await ws.close()


async def test_close_flushes_first_and_ends_the_timer(ws_server: Start) -> None:
    """close() sends what is pending, then no batch task is left running."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    ws = BatchWebSocket(server.url, batch_size=100, flush_interval=60)
    await ws.connect()
    await ws.send({"last": "words"})
    timer = ws._timer
    await ws.close()
    await wait_until(lambda: bool(frames and frames[0]))
    assert frames[0] == [[{"last": "words"}]]
    assert timer is not None and timer.done()
    with pytest.raises(WebSocketClosedError):
        await ws.send({"too": "late"})


async def test_binary_and_unserializable_messages_fail_their_own_send(echo_server: Any) -> None:
    """Bytes and non-JSON objects raise TypeError in send() and never poison the batch."""
    ws = BatchWebSocket(echo_server.url, batch_size=10)
    await ws.connect()
    with pytest.raises(TypeError, match="binary"):
        await ws.send(b"raw")
    with pytest.raises(TypeError):
        await ws.send({"bad": object()})
    assert ws.batch == []
    await ws.close()


def test_bad_batch_settings_are_refused() -> None:
    """batch_size below 1 and a non-positive interval are configuration errors."""
    with pytest.raises(ConfigurationError):
        BatchWebSocket("ws://127.0.0.1:1", batch_size=0)
    with pytest.raises(ConfigurationError):
        BatchWebSocket("ws://127.0.0.1:1", flush_interval=0)


async def test_failed_batch_is_put_back_and_sent_after_reconnect(ws_server: Start) -> None:
    """Without the outbox, a batch whose send fails stays, in order, and goes out once
    reconnected: none lost."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    errors: list[Exception] = []
    ws = BatchWebSocket(
        server.url,
        batch_size=2,
        flush_interval=0.05,
        auto_reconnect=True,
        reconnect=FAST,
        send_wait=0,
        outbox=None,
    )
    ws.on("error", errors.append)
    await ws.connect()
    await server.stop()
    await ws.send({"n": 1})
    await ws.send({"n": 2})  # full: the flush fails (send_wait=0) and the batch is kept
    assert ws.batch == [{"n": 1}, {"n": 2}] and errors
    await ws.send({"n": 3})
    await server.start()
    await wait_until(lambda: len(frames) == 2 and sum(len(f) for f in frames[1]) >= 3)
    assert [item for frame in frames[1] for item in frame] == [{"n": 1}, {"n": 2}, {"n": 3}]
    await ws.close()


async def test_batch_sent_while_reconnecting_waits_in_the_outbox(ws_server: Start) -> None:
    """With the outbox (the default), a batch flushed while reconnecting is accepted at once
    and goes out first on the new connection, in order; nothing reaches the error handlers."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    errors: list[Exception] = []
    ws = BatchWebSocket(
        server.url,
        batch_size=2,
        flush_interval=60,  # only a full batch (or flush()) sends: no timing in this test
        auto_reconnect=True,
        reconnect=FAST,
        send_wait=0,
    )
    ws.on("error", errors.append)
    await ws.connect()
    await server.stop()
    await wait_until(lambda: not ws.is_connected)
    await ws.send({"n": 1})
    await ws.send({"n": 2})  # full: kept in the outbox until the reconnect
    assert ws.batch == [] and ws.outbox is not None and ws.outbox.pending == 1
    await ws.send({"n": 3})
    await ws.flush()
    await server.start()
    await wait_until(lambda: len(frames) == 2 and sum(len(f) for f in frames[1]) >= 3)
    assert [item for frame in frames[1] for item in frame] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert ws.outbox.replayed >= 1
    assert [e for e in errors if not isinstance(e, WebSocketDisconnectedError)] == []
    await ws.close()


async def test_spec_example_batch_websocket_works(ws_server: Start) -> None:
    """The specification's BatchWebSocket, as written, sends full batches as JSON arrays."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    ws = SpecBatchWebSocket(server.url, batch_size=2, flush_interval=60)
    await ws.connect()
    for n in range(4):
        await ws.send(n)
    await wait_until(lambda: bool(frames) and len(frames[0]) == 2)
    assert frames[0] == [[0, 1], [2, 3]]
    await ws.close()


async def test_composed_batching_retrying_client_survives_a_restart(ws_server: Start) -> None:
    """Feed(BatchWebSocket, RetryWebSocket) takes both sets of options and loses nothing."""
    frames: list[list[Any]] = []
    server = await ws_server(frame_recorder(frames))
    ws = Feed(server.url, batch_size=3, flush_interval=0.05, max_retries=2, retry_delay=0.01)
    ws.on("error", lambda e: None)
    assert (ws.batch_size, ws.max_retries) == (3, 2)
    await ws.connect()
    for n in range(3):
        await ws.send(n)
    await wait_until(lambda: len(frames[0]) == 1)
    await server.stop()
    await server.start()
    for n in range(3, 8):
        await ws.send(n)
    await ws.flush()
    # The first batch was never acknowledged by a pong (ping_interval is 20 s), so the outbox
    # sends it again first: at least once, duplicates possible, order kept.
    await wait_until(lambda: len(frames) == 2 and sum(len(f) for f in frames[1]) == 8)
    assert [n for frame in frames[1] for n in frame] == [0, 1, 2, 3, 4, 5, 6, 7]
    await ws.close()

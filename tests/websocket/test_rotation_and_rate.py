"""Planned rotation without a gap (``rotate()``, ``max_connection_age=``, ``dedupe_key=``),
outgoing rate limits (``send_rate=``), and URLs refused before connecting."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from pepperpy_core.behaviours import RateLimit
from pepperpy_core.exceptions import ConfigurationError, InvalidURLError
from pepperpy_core.testing import FakeClock
from pepperpy_core.websocket import ReconnectPolicy, WebSocket

Start = Callable[..., Awaitable[Any]]
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.05)


class Ticker:
    """A feed: a subscribed connection gets the last 3 ticks (a snapshot), then
    ``{"tick": n}`` for every n from then on, the same numbers on every connection (as an
    exchange's stream does). The snapshot makes the overlap of a rotation certain."""

    def __init__(self) -> None:
        self.subscribers: set[ServerConnection] = set()
        self.tick = 0
        self.subscriptions = 0

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                if json.loads(message) == {"sub": "ticks"}:
                    self.subscriptions += 1
                    for n in range(max(1, self.tick - 2), self.tick + 1):
                        await ws.send(json.dumps({"tick": n}))
                    self.subscribers.add(ws)
        finally:
            self.subscribers.discard(ws)

    async def run(self) -> None:
        while True:
            self.tick += 1
            for ws in list(self.subscribers):
                with contextlib.suppress(Exception):
                    await ws.send(json.dumps({"tick": self.tick}))
            await asyncio.sleep(0.002)


@pytest.fixture
async def ticker(ws_server: Start) -> AsyncIterator[tuple[Ticker, Any]]:
    feed = Ticker()
    server = await ws_server(feed.handler)
    task = asyncio.get_running_loop().create_task(feed.run())
    yield feed, server
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def collect(ws: WebSocket, count: int) -> list[int]:
    return [(await asyncio.wait_for(ws.receive(), 5))["tick"] for _ in range(count)]


def tick_key(message: Any) -> Any:
    return message["tick"]


async def test_rotate_is_make_before_break_without_gap_or_duplicate(
    ticker: tuple[Ticker, Any],
) -> None:
    feed, server = ticker
    ws = WebSocket(server.url, dedupe_key=tick_key)
    events: list[str] = []
    ws.on("disconnect", lambda e: events.append("disconnect"))
    ws.on("error", lambda e: events.append(f"error {e!r}"))
    await ws.connect()
    await ws.subscribe({"sub": "ticks"})
    before = await collect(ws, 20)
    rotating = asyncio.get_running_loop().create_task(ws.rotate())
    during = await collect(ws, 40)  # read while the rotation happens
    await rotating
    after = await collect(ws, 40)
    ticks = before + during + after
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a gap or a duplicate"
    assert ws.connections == 2 and feed.subscriptions == 2  # replayed on the new one
    assert len(server.connections) == 2 and server.connections[0].state.name == "CLOSED"
    assert events == []  # a planned rotation is not a disconnect
    await ws.close()


async def test_rotate_delivers_what_the_old_connection_still_held(
    ticker: tuple[Ticker, Any],
) -> None:
    """A reader that lags behind: the old connection holds many unread ticks when the new one
    takes over (its snapshot covers only the last 3). They are read before the new one's."""
    feed, server = ticker
    ws = WebSocket(server.url, dedupe_key=tick_key)
    await ws.connect()
    await ws.subscribe({"sub": "ticks"})
    ticks = await collect(ws, 5)
    backlog_from = feed.tick
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while feed.tick < backlog_from + 30:  # 30 ticks wait unread on the old connection
        assert loop.time() < deadline
        await asyncio.sleep(0.005)
    await ws.rotate()
    ticks += await collect(ws, 80)
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a gap or a duplicate"
    await ws.close()


async def test_without_dedupe_key_the_overlap_shows_duplicates(
    ticker: tuple[Ticker, Any],
) -> None:
    """The control: what the two connections both delivered arrives twice."""
    _, server = ticker
    ws = WebSocket(server.url)
    await ws.connect()
    await ws.subscribe({"sub": "ticks"})
    ticks = await collect(ws, 5)
    await ws.rotate()
    while len(set(ticks)) == len(ticks):  # the old one's rest, then the new one's snapshot
        assert len(ticks) < 2000, "no duplicate came"
        ticks += await collect(ws, 1)
    await ws.close()


async def test_max_connection_age_rotates_by_itself(ticker: tuple[Ticker, Any]) -> None:
    feed, server = ticker
    ws = WebSocket(server.url, dedupe_key=tick_key, max_connection_age=0.15)
    await ws.connect()
    await ws.subscribe({"sub": "ticks"})
    ticks = await collect(ws, 20)
    while ws.connections < 3:
        ticks += await collect(ws, 10)
    ticks += await collect(ws, 10)
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))
    assert feed.subscriptions >= 3
    await ws.close()


async def test_rotate_needs_a_connection(echo_server: Any) -> None:
    ws = WebSocket(echo_server.url)
    with pytest.raises(Exception, match="nothing to rotate"):
        await ws.rotate()
    with pytest.raises(ConfigurationError, match="max_connection_age"):
        WebSocket(echo_server.url, max_connection_age=0)


async def test_rotate_failure_keeps_the_old_connection(echo_server: Any) -> None:
    """When the new connection cannot open, the old one stays and the error is raised."""
    ws = WebSocket(echo_server.url, open_timeout=1)
    await ws.connect()
    await echo_server.stop()  # closes the old one too: then rotate has nothing to replace
    await asyncio.sleep(0.05)
    with pytest.raises(Exception):  # noqa: B017 - either "nothing to rotate" or refused
        await ws.rotate()
    await ws.close()


async def test_dedupe_key_drops_repeats_and_survives_a_failing_key(echo_server: Any) -> None:
    ws = WebSocket(echo_server.url, dedupe_key=lambda m: m["id"])
    await ws.connect()
    for message in ({"id": 1}, {"id": 1}, {"id": 2}, "no id here", {"id": 2}, {"id": 3}):
        await ws.send(message)
    assert [await ws.receive() for _ in range(4)] == [{"id": 1}, {"id": 2}, "no id here", {"id": 3}]
    await ws.close()


# --------------------------------------------------------------------- send_rate


async def test_send_rate_waits_for_a_slot(echo_server: Any) -> None:
    clock = FakeClock()
    ws = WebSocket(
        echo_server.url, send_rate=RateLimit.of((5, 1.0)), sleep=clock.sleep, clock=clock.time
    )
    await ws.connect()
    start = clock.now
    sent_at: list[float] = []
    for n in range(12):
        await ws.send({"n": n})
        sent_at.append(clock.now - start)
    assert sent_at[:5] == [0.0] * 5
    assert all(at >= 1.0 for at in sent_at[5:10]) and all(at >= 2.0 for at in sent_at[10:])
    for i in range(len(sent_at) - 5):  # never more than 5 inside any 1-second window
        assert sent_at[i + 5] - sent_at[i] >= 1.0
    assert [await ws.receive() for _ in range(12)] == [{"n": n} for n in range(12)]
    await ws.close()


async def test_replayed_subscriptions_count_against_send_rate(ws_server: Start) -> None:
    """Real time with a short window (the server stamps arrivals, so a fake clock that the
    client alone advances cannot be used): 2 per 0.2 s, the replay after a restart included."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, float]] = []

    async def record(conn: ServerConnection) -> None:
        async for message in conn:
            seen.append((str(message), loop.time()))

    server = await ws_server(record)
    ws = WebSocket(
        server.url, send_rate=RateLimit.of((2, 0.2)), auto_reconnect=True, reconnect=FAST
    )
    await ws.connect()
    for name in ("a", "b", "c"):
        await ws.subscribe(name)
    await server.stop()
    await server.start()
    deadline = loop.time() + 5
    while len(seen) < 6:
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    assert [m for m, _ in seen] == ["a", "b", "c", "a", "b", "c"]
    times = [t for _, t in seen]
    for i in range(len(times) - 2):  # never 3 inside 0.2 s (arrival jitter allowed for)
        assert times[i + 2] - times[i] >= 0.2 - 0.03, seen
    await ws.close()


def test_send_rate_must_be_a_rate_limit() -> None:
    with pytest.raises(ConfigurationError, match="send_rate"):
        WebSocket("ws://127.0.0.1:1", send_rate=(5, 1.0))  # type: ignore[arg-type]


# --------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:1/a b",
        "ws://127.0.0.1:1/\r\nX-Injected: 1",
        "ws://127.0.0.1:1/\x00",
        "ws://127.0.0.1:1/\x7f",
        "ws://127.0.0.1:1/?q=\t",
        " ws://127.0.0.1:1/",
    ],
)
async def test_url_with_spaces_or_control_characters_is_refused_before_connecting(
    url: str, silent_port: int
) -> None:
    with pytest.raises(InvalidURLError, match="spaces or control characters"):
        WebSocket(url.replace(":1/", f":{silent_port}/"))


def test_refused_url_message_hides_credentials() -> None:
    with pytest.raises(InvalidURLError) as info:
        WebSocket("ws://user:hunter2@127.0.0.1:1/a b?token=s3cret")
    assert "hunter2" not in str(info.value) and "s3cret" not in str(info.value)

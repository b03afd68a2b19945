"""Auto-reconnect: the backoff policy, the retry loop, and reconnects across server restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from pepperpy_core.exceptions import (
    ConfigurationError,
    InvalidURLError,
    WebSocketClosedError,
    WebSocketConnectionError,
    WebSocketError,
    WebSocketHandshakeError,
)
from pepperpy_core.testing import FakeClock
from pepperpy_core.websocket import ReconnectPolicy, WebSocket
from pepperpy_core.websocket.reconnect import is_permanent, retry_connect

Start = Callable[..., Awaitable[Any]]
FAST = ReconnectPolicy(base_delay=0.01, max_delay=0.05)


# --------------------------------------------------------------------- policy and loop


def test_policy_delays_double_up_to_the_cap() -> None:
    """Without jitter the n-th wait is base * 2**(n-1), capped at max_delay."""
    policy = ReconnectPolicy(base_delay=0.5, max_delay=3.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_policy_jitter_draws_below_the_ceiling() -> None:
    """With jitter the wait is the ceiling times the random draw."""
    policy = ReconnectPolicy(base_delay=1.0, max_delay=10.0)
    assert policy.delay(3, random=lambda: 0.25) == 1.0


def test_policy_refuses_bad_values() -> None:
    """Negative delays and retries are configuration errors naming the argument; a count that
    is not an int is a TypeError; 0 retries (never reconnect) is allowed."""
    with pytest.raises(ConfigurationError):
        ReconnectPolicy(base_delay=-1)
    with pytest.raises(ConfigurationError, match=r"ReconnectPolicy\(max_retries=\.\.\.\) must be"):
        ReconnectPolicy(max_retries=-1)
    with pytest.raises(TypeError, match="max_retries"):
        ReconnectPolicy(max_retries=True)
    assert ReconnectPolicy(max_retries=0).max_retries == 0


def test_max_attempts_is_a_deprecated_spelling_of_max_retries() -> None:
    """ReconnectPolicy(max_attempts=N) still works, with a DeprecationWarning, as max_retries=N
    (both counted the reconnects after a loss)."""
    with pytest.warns(DeprecationWarning, match="max_retries"):
        policy = ReconnectPolicy(max_attempts=3)
    assert policy.max_retries == 3 and policy == ReconnectPolicy(max_retries=3)
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigurationError, match="not both"):
        ReconnectPolicy(max_retries=2, max_attempts=3)


def test_permanent_errors_are_not_retried() -> None:
    """Bad settings, a closed client and 4xx refusals are permanent; 5xx, 429, I/O are not."""
    assert is_permanent(InvalidURLError("bad"))
    assert is_permanent(WebSocketClosedError("closed"))
    assert is_permanent(WebSocketHandshakeError("no", status=403))
    assert not is_permanent(WebSocketHandshakeError("busy", status=503))
    assert not is_permanent(WebSocketHandshakeError("slow down", status=429))
    assert not is_permanent(WebSocketConnectionError("refused"))


async def test_retry_connect_retries_then_succeeds_on_a_fake_clock() -> None:
    """Two failures then success: three attempts and two recorded backoff waits."""
    clock = FakeClock()
    failures = [WebSocketConnectionError("down"), WebSocketConnectionError("still down")]

    async def connect() -> None:
        if failures:
            raise failures.pop(0)

    policy = ReconnectPolicy(base_delay=1.0, max_delay=10.0, jitter=False)
    attempts = await retry_connect(connect, policy, sleep=clock.sleep, wait_first=False)
    assert attempts == 3 and clock.sleeps == [1.0, 2.0]


async def test_retry_connect_gives_up_naming_attempts_and_last_error() -> None:
    """Out of attempts: WebSocketConnectionError with the count and the last error."""
    clock = FakeClock()

    async def connect() -> None:
        raise OSError("connection refused")

    policy = ReconnectPolicy(max_retries=4)
    with pytest.raises(
        WebSocketConnectionError, match=r"reconnect .* after 4 attempts: connection refused"
    ) as info:
        await retry_connect(connect, policy, sleep=clock.sleep, wait_first=True)
    assert info.value.attempts == 4 and len(clock.sleeps) == 4


async def test_retry_connect_counts_retries_after_the_first_attempt() -> None:
    """Without wait_first the first attempt is not a retry: max_retries=2 is three attempts
    and two waits; max_retries=0 is one attempt and no wait."""
    for retries, attempts in ((2, 3), (0, 1)):
        clock = FakeClock()
        calls: list[int] = []

        async def connect(calls: list[int] = calls) -> None:
            calls.append(1)
            raise OSError("connection refused")

        policy = ReconnectPolicy(max_retries=retries, jitter=False)
        with pytest.raises(WebSocketConnectionError, match=f"after {attempts} attempt") as info:
            await retry_connect(connect, policy, sleep=clock.sleep, wait_first=False)
        assert info.value.attempts == attempts == len(calls)
        assert clock.sleeps == [0.5, 1.0][:retries]


async def test_retry_connect_raises_permanent_errors_at_once() -> None:
    """A 403 refusal is raised on the first attempt without waiting."""
    clock = FakeClock()

    async def connect() -> None:
        raise WebSocketHandshakeError("forbidden", status=403)

    with pytest.raises(WebSocketHandshakeError):
        await retry_connect(connect, ReconnectPolicy(), sleep=clock.sleep, wait_first=False)
    assert clock.sleeps == []


# --------------------------------------------------------------------- real reconnects


def per_connection_recorder(log: list[list[Any]]) -> Callable[[ServerConnection], Awaitable[None]]:
    """A server handler recording each connection's messages in its own list, echoing them."""

    async def handler(ws: ServerConnection) -> None:
        mine: list[Any] = []
        log.append(mine)
        async for message in ws:
            mine.append(json.loads(message))
            await ws.send(message)

    return handler


async def test_receive_survives_a_server_restart(ws_server: Start) -> None:
    """With auto_reconnect=True receive() reconnects and events fire in order."""
    log: list[list[Any]] = []
    server = await ws_server(per_connection_recorder(log))
    events: list[Any] = []
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST)
    ws.on("connect", lambda: events.append("connect"))
    ws.on("disconnect", lambda error: events.append(("disconnect", getattr(error, "code", None))))
    ws.on("reconnect", lambda attempts: events.append("reconnect"))
    await ws.connect()
    await server.stop()
    await server.start()
    await ws.send({"after": "restart"})
    assert await asyncio.wait_for(ws.receive(), 5) == {"after": "restart"}
    assert events == ["connect", ("disconnect", 1001), "connect", "reconnect"]
    assert ws.connections == 2 and ws.is_connected
    await ws.close()


async def test_subscriptions_are_replayed_first_and_in_order(ws_server: Start) -> None:
    """After a reconnect the subscriptions are resent, in order, before any other message."""
    log: list[list[Any]] = []
    server = await ws_server(per_connection_recorder(log))
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST)
    await ws.subscribe({"op": "sub", "ch": "a"})  # before connect: sent by connect()
    await ws.connect()
    await ws.subscribe({"op": "sub", "ch": "b"})
    await ws.send({"op": "data", "n": 1})
    for _ in range(3):
        await ws.receive()
    await server.stop()
    await server.start()
    await ws.send({"op": "data", "n": 2})
    await asyncio.wait_for(ws.receive(), 5)
    await ws.unsubscribe({"op": "sub", "ch": "a"}, send={"op": "unsub", "ch": "a"})
    await ws.receive()
    await ws.close()
    assert log[0] == [{"op": "sub", "ch": "a"}, {"op": "sub", "ch": "b"}, {"op": "data", "n": 1}]
    assert log[1][:3] == [
        {"op": "sub", "ch": "a"},
        {"op": "sub", "ch": "b"},
        {"op": "data", "n": 2},
    ]
    assert log[1][3] == {"op": "unsub", "ch": "a"}


async def test_send_during_reconnect_waits_then_delivers(ws_server: Start) -> None:
    """A send() while the server is briefly down waits for the reconnect: nothing dropped."""
    log: list[list[Any]] = []
    server = await ws_server(per_connection_recorder(log))
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST, send_wait=5)
    await ws.connect()
    await server.stop()
    sending = asyncio.create_task(ws.send({"n": "waited"}))
    await asyncio.sleep(0.1)
    assert not sending.done()
    await server.start()
    await asyncio.wait_for(sending, 5)
    assert await asyncio.wait_for(ws.receive(), 5) == {"n": "waited"}
    await ws.close()


async def test_send_during_reconnect_raises_when_not_waiting(ws_server: Start) -> None:
    """send_wait=0 raises a clear error at once; a small send_wait raises after it expires."""
    server = await ws_server()
    for wait, expected in ((0, "still reconnecting"), (0.1, "waiting 0.1 s")):
        ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST, send_wait=wait)
        await ws.connect()
        await server.stop()
        with pytest.raises(WebSocketConnectionError, match=expected):
            await asyncio.wait_for(ws.send({"x": 1}), 5)
        await ws.close()
        await server.start()


async def test_reconnect_now_skips_a_long_backoff(ws_server: Start) -> None:
    """reconnect_now() ends the backoff wait at once (here an hour-long one)."""
    server = await ws_server()
    slow = ReconnectPolicy(base_delay=3600, max_delay=3600, jitter=False)
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=slow)
    reconnected = asyncio.Event()
    ws.on("reconnect", lambda attempts: reconnected.set())
    await ws.connect()
    receiving = asyncio.create_task(ws.receive())
    await server.stop()
    await server.start()
    await asyncio.sleep(0.05)
    assert not reconnected.is_set()
    ws.reconnect_now()
    await asyncio.wait_for(reconnected.wait(), 5)
    await ws.send({"back": True})
    assert await asyncio.wait_for(receiving, 5) == {"back": True}
    await ws.close()


async def test_reconnect_now_force_replaces_a_live_connection(echo_server: Any) -> None:
    """reconnect_now(force=True) drops the current connection and opens a new one."""
    ws = WebSocket(echo_server.url, auto_reconnect=True, reconnect=FAST)
    await ws.connect()
    receiving = asyncio.create_task(ws.receive())
    await asyncio.sleep(0.02)
    ws.reconnect_now(force=True)
    await asyncio.sleep(0.1)
    await ws.send({"new": "connection"})
    assert await asyncio.wait_for(receiving, 5) == {"new": "connection"}
    assert ws.connections == 2
    await ws.close()


async def test_bounded_attempts_give_up_with_a_connection_error(ws_server: Start) -> None:
    """With max_retries, a server that stays down ends the wait with the attempts named."""
    server = await ws_server()
    clock = FakeClock()
    policy = ReconnectPolicy(max_retries=3)
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=policy, sleep=clock.sleep)
    await ws.connect()
    await server.stop()
    with pytest.raises(WebSocketConnectionError, match="after 3 attempts") as info:
        await asyncio.wait_for(ws.receive(), 5)
    assert info.value.attempts == 3 and len(clock.sleeps) == 3
    await ws.close()


async def test_listener_reconnects_by_default_and_waits_for_a_late_server(
    ws_server: Start, free_port: int
) -> None:
    """run()/start() reconnect with the default auto_reconnect, even for the first connect."""

    async def greet(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"hello": len(server.connections)}))
        await ws.wait_closed()

    server = await ws_server(greet)
    port = server.port
    await server.stop()
    ws = WebSocket(f"ws://127.0.0.1:{port}", reconnect=FAST)
    got: list[Any] = []
    second = asyncio.Event()

    @ws.on("message")
    def on_message(data: Any) -> None:
        got.append(data)
        if len(got) == 2:
            second.set()

    ws.start()
    await asyncio.sleep(0.05)  # the server is down: the listener keeps trying
    await server.start()
    while not got:
        await asyncio.sleep(0.01)
    await server.stop()
    await server.start()
    await asyncio.wait_for(second.wait(), 5)
    await ws.close()
    assert got == [{"hello": 1}, {"hello": 2}]


async def test_close_during_reconnect_cancels_it(ws_server: Start) -> None:
    """close() while reconnecting ends the reconnect task; waiters see a closed error."""
    server = await ws_server()
    ws = WebSocket(server.url, auto_reconnect=True, reconnect=FAST)
    await ws.connect()
    receiving = asyncio.create_task(ws.receive())
    await server.stop()
    await asyncio.sleep(0.05)
    task = ws._reconnect_task
    assert task is not None and not task.done()
    await ws.close()
    assert task.done()
    with pytest.raises(WebSocketClosedError):
        await receiving


async def test_error_close_code_is_reconnected_under_auto_reconnect(ws_server: Start) -> None:
    """A 1011 close from the server is a disconnect that auto-reconnect recovers from."""

    async def flaky(ws: ServerConnection) -> None:
        if len(server.connections) == 1:
            await ws.close(1011, "oops")
            return
        await ws.send('"second"')
        await ws.wait_closed()

    server = await ws_server(flaky)
    async with WebSocket(server.url, auto_reconnect=True, reconnect=FAST) as ws:
        assert await asyncio.wait_for(ws.receive(), 5) == "second"


async def test_listener_that_gives_up_reports_to_error_handlers(free_port: int) -> None:
    """start() on a server that never comes: after max_retries the error handlers hear it
    and the task ends without an unretrieved exception."""
    clock = FakeClock()
    ws = WebSocket(
        f"ws://127.0.0.1:{free_port}",
        reconnect=ReconnectPolicy(max_retries=2),
        sleep=clock.sleep,
    )
    errors: list[Exception] = []
    ws.on("error", errors.append)
    task = ws.start()
    with pytest.raises(WebSocketError, match="already listening"):
        ws.start()
    await asyncio.wait_for(task, 5)
    assert len(errors) == 1 and "after 2 attempts" in str(errors[0])
    assert isinstance(errors[0], WebSocketConnectionError)
    await ws.close()

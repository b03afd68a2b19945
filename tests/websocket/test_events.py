"""Event handlers: registration, dispatch from every receive path, and the background listener."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from pepperpy_core.exceptions import ConfigurationError, WebSocketError
from pepperpy_core.websocket import EVENTS, WebSocket
from pepperpy_core.websocket.events import EventHandlers

Start = Callable[..., Awaitable[Any]]


def test_unknown_event_is_a_value_error_at_registration() -> None:
    """@ws.on with an unknown name fails when decorating, not later."""
    ws = WebSocket("ws://127.0.0.1:1")
    with pytest.raises(ValueError, match="messages"):
        ws.on("messages")
    with pytest.raises(ConfigurationError):
        ws.on("open", print)
    assert {"message", "error", "connect", "disconnect", "reconnect"} == EVENTS


def test_non_callable_handler_is_refused() -> None:
    """Registering something that cannot be called raises at once."""
    with pytest.raises(ConfigurationError):
        EventHandlers().add("message", "not a function")  # type: ignore[arg-type]


async def test_sync_async_and_zero_argument_handlers_all_run_in_order() -> None:
    """Handlers run in registration order; sync, async and no-argument ones are all fine."""
    handlers = EventHandlers()
    calls: list[Any] = []

    async def first(data: Any) -> None:
        calls.append(("async", data))

    handlers.add("message", first)
    handlers.add("message", lambda data: calls.append(("sync", data)))
    handlers.add("message", lambda: calls.append("no-arg"))
    await handlers.emit("message", {"a": 1})
    assert calls == [("async", {"a": 1}), ("sync", {"a": 1}), "no-arg"]


async def test_failing_handler_goes_to_error_handlers_and_others_still_run() -> None:
    """A raising handler is reported to the error handlers and the next handler runs."""
    handlers = EventHandlers()
    errors: list[Exception] = []
    after: list[Any] = []

    def broken(data: Any) -> None:
        raise RuntimeError("handler bug")

    handlers.add("message", broken)
    handlers.add("message", after.append)
    handlers.add("error", errors.append)
    await handlers.emit("message", 1)
    assert after == [1] and [str(e) for e in errors] == ["handler bug"]


async def test_failing_error_handler_is_logged_not_raised() -> None:
    """An error handler that raises neither recurses nor propagates."""
    handlers = EventHandlers()

    def broken(error: Exception) -> None:
        raise RuntimeError("error handler bug")

    handlers.add("error", broken)
    await handlers.emit("error", ValueError("x"))


async def test_off_removes_a_handler() -> None:
    """off() unregisters, and unknown handlers are ignored."""
    handlers = EventHandlers()
    seen: list[Any] = []
    handlers.add("message", seen.append)
    handlers.remove("message", seen.append)
    handlers.remove("message", print)
    await handlers.emit("message", 1)
    assert seen == [] and not handlers.has("message")


async def test_message_handlers_see_messages_read_by_receive_and_async_for(
    echo_server: Any,
) -> None:
    """Every message goes to the message handlers whether read by receive() or async for."""
    seen: list[Any] = []
    async with WebSocket(echo_server.url) as ws:
        ws.on("message", seen.append)
        await ws.send({"via": "receive"})
        await ws.receive()
        await ws.send({"via": "iteration"})
        async for _ in ws:
            break
    assert seen == [{"via": "receive"}, {"via": "iteration"}]


async def test_spec_example_handlers_and_iteration(ws_server: Start) -> None:
    """The specification's exemplo_websocket works: handlers, subscribe message, async for."""
    printed: list[str] = []

    async def subscribe_feed(ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        for n in range(2):
            await ws.send(json.dumps({"channel": request["channel"], "n": n}))
        await ws.close()

    server = await ws_server(subscribe_feed)

    async def exemplo_websocket() -> None:
        ws = WebSocket(server.url)
        try:
            await ws.connect()

            @ws.on("message")
            async def handle_message(data: dict[str, Any]) -> None:
                printed.append(f"Mensagem: {data}")

            @ws.on("error")
            async def handle_error(error: Exception) -> None:
                printed.append(f"Erro: {error}")

            await ws.send({"type": "subscribe", "channel": "updates"})
            async for message in ws:
                printed.append(f"Recebido: {message}")
        finally:
            await ws.close()

    await exemplo_websocket()
    assert printed == [
        "Mensagem: {'channel': 'updates', 'n': 0}",
        "Recebido: {'channel': 'updates', 'n': 0}",
        "Mensagem: {'channel': 'updates', 'n': 1}",
        "Recebido: {'channel': 'updates', 'n': 1}",
    ]


async def test_start_dispatches_to_handlers_until_close(ws_server: Start) -> None:
    """start() runs the listener in an owned task; a raising handler never stops it."""

    async def ticker(ws: ServerConnection) -> None:
        for n in range(5):
            await ws.send(json.dumps(n))
        await ws.wait_closed()

    server = await ws_server(ticker)
    ws = WebSocket(server.url)
    got: list[int] = []
    errors: list[Exception] = []
    done = asyncio.Event()

    @ws.on("message")
    def handle(n: int) -> None:
        if n == 2:
            raise RuntimeError("bad tick")
        got.append(n)
        if n == 4:
            done.set()

    ws.on("error", errors.append)
    task = ws.start()
    await asyncio.wait_for(done.wait(), 5)
    with pytest.raises(WebSocketError, match="listening"):
        await ws.receive()
    await ws.close()
    assert task.done()
    assert got == [0, 1, 3, 4] and [str(e) for e in errors] == ["bad tick"]


async def test_run_returns_when_the_server_closes_and_reconnect_is_off(ws_server: Start) -> None:
    """run() with auto_reconnect=False ends after a normal server close."""

    async def one_then_close(ws: ServerConnection) -> None:
        await ws.send("1")
        await ws.close()

    server = await ws_server(one_then_close)
    ws = WebSocket(server.url, auto_reconnect=False)
    got: list[Any] = []
    ws.on("message", got.append)
    await asyncio.wait_for(ws.run(), 5)
    assert got == [1]
    await ws.close()


async def test_close_from_inside_a_handler_ends_the_listener(echo_server: Any) -> None:
    """A handler may call close(); the listener then ends without deadlock."""
    ws = WebSocket(echo_server.url)

    @ws.on("message")
    async def stop(data: Any) -> None:
        await ws.close()

    @ws.on("connect")
    async def greet() -> None:
        await ws.send({"bye": True})

    await asyncio.wait_for(ws.run(), 5)
    assert ws.closed


async def test_connect_and_disconnect_events_fire(echo_server: Any) -> None:
    """connect fires on open; disconnect fires with None after close()."""
    events: list[Any] = []
    ws = WebSocket(echo_server.url)
    ws.on("connect", lambda: events.append("connect"))
    ws.on("disconnect", lambda cause: events.append(("disconnect", cause)))
    await ws.connect()
    await ws.close()
    assert events == ["connect", ("disconnect", None)]

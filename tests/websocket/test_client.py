"""The WebSocket client against real local websockets servers: primitives, options, faults."""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import BaseModel
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from pepperpy_core.exceptions import (
    ClientClosedError,
    ConfigurationError,
    InvalidURLError,
    MessageTooLargeError,
    WebSocketClosedError,
    WebSocketConnectionError,
    WebSocketDecodeError,
    WebSocketDisconnectedError,
    WebSocketError,
    WebSocketHandshakeError,
)
from pepperpy_core.testing import capture_events
from pepperpy_core.websocket import WebSocket

Start = Callable[..., Awaitable[Any]]


# --------------------------------------------------------------------- primitives


async def test_dict_goes_out_as_json_text_and_comes_back_as_dict(ws_server: Start) -> None:
    """A dict is sent as compact JSON text and JSON text is received as Python objects."""
    seen: list[Any] = []

    async def record_then_echo(ws: ServerConnection) -> None:
        async for message in ws:
            seen.append(message)
            await ws.send(message)

    server = await ws_server(record_then_echo)
    async with WebSocket(server.url) as ws:
        await ws.send({"type": "hello", "n": [1, 2]})
        assert await ws.receive() == {"type": "hello", "n": [1, 2]}
    assert seen == ['{"type":"hello","n":[1,2]}']


async def test_bytes_stay_binary_and_text_stays_text(echo_server: Any) -> None:
    """Bytes go out and come back as a binary frame; a str is sent as raw text."""
    async with WebSocket(echo_server.url) as ws:
        await ws.send(b"\x00\x01binary")
        assert await ws.receive() == b"\x00\x01binary"
        await ws.send(bytearray(b"ba"))
        assert await ws.receive() == b"ba"
        await ws.send("plain words")
        await ws.send('{"a": 1}')
        assert await ws.receive(raw=True) == "plain words"
        assert await ws.receive(raw=True) == '{"a": 1}'


async def test_decode_json_false_returns_text(echo_server: Any) -> None:
    """With decode_json=False received JSON text stays a str."""
    async with WebSocket(echo_server.url, decode_json=False) as ws:
        await ws.send({"a": 1})
        assert await ws.receive() == '{"a":1}'


async def test_json_scalars_and_pydantic_models_are_sent_as_json(echo_server: Any) -> None:
    """Numbers, None and pydantic models are serialized as JSON."""

    class Order(BaseModel):
        id: int
        side: str

    async with WebSocket(echo_server.url) as ws:
        await ws.send(5)
        await ws.send(None)
        await ws.send(Order(id=1, side="buy"))
        assert [await ws.receive() for _ in range(3)] == [5, None, {"id": 1, "side": "buy"}]


async def test_unserializable_message_is_a_type_error(echo_server: Any) -> None:
    """An object that is not JSON is refused with TypeError before anything is sent."""
    async with WebSocket(echo_server.url) as ws:
        with pytest.raises(TypeError, match="object"):
            await ws.send(object())


async def test_custom_dumps_and_loads_are_used(echo_server: Any) -> None:
    """dumps/loads replace the standard JSON functions."""
    dumps = lambda data: json.dumps(data, sort_keys=True)  # noqa: E731
    loads = lambda text: ("decoded", json.loads(text))  # noqa: E731
    async with WebSocket(echo_server.url, dumps=dumps, loads=loads) as ws:
        await ws.send({"b": 1, "a": 2})
        assert await ws.receive() == ("decoded", {"a": 2, "b": 1})


async def test_async_for_ends_when_the_server_closes_normally(ws_server: Start) -> None:
    """`async for` yields every message then stops on a 1000 close."""

    async def three_then_close(ws: ServerConnection) -> None:
        for i in range(3):
            await ws.send(json.dumps({"i": i}))
        await ws.close()

    server = await ws_server(three_then_close)
    async with WebSocket(server.url) as ws:
        received = [message async for message in ws]
    assert received == [{"i": 0}, {"i": 1}, {"i": 2}]


async def test_async_for_ends_after_close_from_another_task(echo_server: Any) -> None:
    """close() from elsewhere ends a pending `async for` cleanly."""
    ws = WebSocket(echo_server.url)
    await ws.connect()

    async def consume() -> list[Any]:
        return [message async for message in ws]

    consumer = asyncio.create_task(consume())
    await ws.send({"x": 1})
    await asyncio.sleep(0.05)
    await ws.close()
    assert await asyncio.wait_for(consumer, 2) == [{"x": 1}]


async def test_headers_and_subprotocols_reach_the_server(ws_server: Start) -> None:
    """Extra handshake headers are sent and the chosen subprotocol is exposed."""
    got: dict[str, Any] = {}

    async def inspect_request(ws: ServerConnection) -> None:
        assert ws.request is not None
        got["token"] = ws.request.headers.get("X-Token")
        got["subprotocol"] = ws.subprotocol
        await ws.wait_closed()

    server = await ws_server(inspect_request, subprotocols=["v2.feed"])
    headers = {"X-Token": "abc"}
    async with WebSocket(server.url, headers=headers, subprotocols=["v2.feed"]) as ws:
        assert ws.subprotocol == "v2.feed"
    assert got == {"token": "abc", "subprotocol": "v2.feed"}


async def test_compression_off_and_on_both_work(echo_server: Any) -> None:
    """The compression option negotiates permessage-deflate or not, transparently."""
    for compression in (True, False):
        async with WebSocket(echo_server.url, compression=compression) as ws:
            await ws.send({"z": "x" * 1000})
            assert await ws.receive() == {"z": "x" * 1000}


def test_verify_ssl_false_builds_an_unverified_context() -> None:
    """verify_ssl=False turns off certificate and host checks; the default verifies."""
    relaxed = WebSocket("wss://example.invalid/feed", verify_ssl=False)
    assert relaxed._options.ssl_context is not None
    assert relaxed._options.ssl_context.verify_mode == ssl.CERT_NONE
    assert WebSocket("wss://example.invalid/feed")._options.ssl_context is None


async def test_state_properties_follow_the_connection(echo_server: Any) -> None:
    """is_connected and closed reflect connect() and close()."""
    ws = WebSocket(echo_server.url)
    assert not ws.is_connected and not ws.closed
    await ws.connect()
    await ws.connect()  # a second connect() is a no-op
    assert ws.is_connected and ws.connections == 1
    await ws.close()
    await ws.close()  # idempotent
    assert not ws.is_connected and ws.closed
    assert "closed" in repr(ws)


# --------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "url", ["", "http://example.com/ws", "ftp://x", "example.com/ws", "ws://", "wss:///path"]
)
def test_invalid_url_or_scheme_is_refused_at_construction(url: str) -> None:
    """A URL that is not an absolute ws:// or wss:// URL raises InvalidURLError (a ValueError)."""
    with pytest.raises(InvalidURLError):
        WebSocket(url)
    with pytest.raises(ValueError):
        WebSocket(url)


def test_negative_option_is_a_configuration_error() -> None:
    """Negative sizes and timeouts are refused with a message naming the option."""
    with pytest.raises(ConfigurationError, match="ping_interval"):
        WebSocket("ws://127.0.0.1:1", ping_interval=-1)


async def test_handshake_refused_with_403_is_a_connection_error(ws_server: Start) -> None:
    """An HTTP 403 answer to the handshake raises WebSocketHandshakeError with the status."""

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(403, "forbidden\n")

    server = await ws_server(process_request=refuse)
    ws = WebSocket(server.url)
    with pytest.raises(WebSocketHandshakeError, match="403") as info:
        await ws.connect()
    assert info.value.status == 403
    assert isinstance(info.value, builtins.ConnectionError)
    assert not ws.is_connected


async def test_refused_tcp_connection_is_a_connection_error(free_port: int) -> None:
    """Nothing listening raises WebSocketConnectionError (also a built-in ConnectionError)."""
    ws = WebSocket(f"ws://127.0.0.1:{free_port}")
    with pytest.raises(WebSocketConnectionError, match="cannot connect"):
        await ws.connect()
    with pytest.raises(builtins.ConnectionError):
        await ws.connect()


async def test_open_timeout_bounds_a_silent_server(silent_port: int) -> None:
    """A server that never answers the handshake fails after open_timeout seconds."""
    ws = WebSocket(f"ws://127.0.0.1:{silent_port}", open_timeout=0.2)
    with pytest.raises(WebSocketConnectionError, match="timed out"):
        await asyncio.wait_for(ws.connect(), 5)


async def test_server_close_with_error_code_raises_with_the_code(ws_server: Start) -> None:
    """A 1011 close surfaces as WebSocketDisconnectedError carrying code and reason."""

    async def fail(ws: ServerConnection) -> None:
        await ws.close(1011, "internal trouble")

    server = await ws_server(fail)
    ws = WebSocket(server.url)
    await ws.connect()
    with pytest.raises(WebSocketDisconnectedError) as info:
        await ws.receive()
    assert (info.value.code, info.value.reason) == (1011, "internal trouble")
    with pytest.raises(WebSocketDisconnectedError):
        async for _ in ws:
            pass
    await ws.close()


async def test_tcp_killed_mid_stream_is_a_disconnect(ws_server: Start) -> None:
    """A connection aborted without a close frame raises with code 1006 after the data."""

    async def send_then_kill(ws: ServerConnection) -> None:
        await ws.send('{"n":1}')
        await asyncio.sleep(0.05)
        ws.transport.abort()

    server = await ws_server(send_then_kill)
    ws = WebSocket(server.url)
    await ws.connect()
    assert await ws.receive() == {"n": 1}
    with pytest.raises(WebSocketDisconnectedError) as info:
        await ws.receive()
    assert info.value.code == 1006
    with pytest.raises(WebSocketConnectionError):
        await ws.send({"after": "loss"})
    await ws.close()


async def test_text_that_is_not_json_is_a_str_message(ws_server: Start) -> None:
    """Text that is not JSON arrives as a str, through receive() and the handlers alike,
    and is no error; the next message decodes as usual."""

    async def bad_then_good(ws: ServerConnection) -> None:
        await ws.send("{not json")
        await ws.send('{"ok":true}')
        await ws.wait_closed()

    server = await ws_server(bad_then_good)
    errors: list[Exception] = []
    seen: list[Any] = []
    async with WebSocket(server.url) as ws:
        ws.on("error", errors.append)
        ws.on("message", seen.append)
        assert await ws.receive() == "{not json"
        assert await ws.receive() == {"ok": True}
    assert seen == ["{not json", {"ok": True}]
    assert errors == []


async def test_json_nested_too_deep_is_reported_and_the_listener_goes_on(
    ws_server: Start,
) -> None:
    """JSON nested 100,000 deep (a RecursionError in the decoder) goes to the error handlers,
    arrives as its text, and the background listener keeps receiving."""
    deep = "[" * 100_000 + "]" * 100_000

    async def deep_then_good(ws: ServerConnection) -> None:
        await ws.send(deep)
        await ws.send('{"ok":true}')
        await ws.wait_closed()

    server = await ws_server(deep_then_good)
    errors: list[Exception] = []
    seen: list[Any] = []
    got_ok = asyncio.Event()
    ws = WebSocket(server.url)
    ws.on("error", errors.append)

    def record(message: Any) -> None:
        seen.append(message)
        if message == {"ok": True}:
            got_ok.set()

    ws.on("message", record)
    ws.start()
    await asyncio.wait_for(got_ok.wait(), 5)
    assert ws.is_connected
    await ws.close()
    assert seen == [deep, {"ok": True}]
    assert len(errors) == 1 and isinstance(errors[0], WebSocketDecodeError)
    assert errors[0].data == deep


async def test_a_handler_raising_recursion_error_does_not_stop_the_listener(
    ws_server: Start,
) -> None:
    """Any exception from a handler, RecursionError included, reaches the error handlers and
    the listener goes on to the next message."""

    async def two(ws: ServerConnection) -> None:
        await ws.send('{"n":1}')
        await ws.send('{"n":2}')
        await ws.wait_closed()

    server = await ws_server(two)
    errors: list[Exception] = []
    seen: list[Any] = []
    second = asyncio.Event()
    ws = WebSocket(server.url)
    ws.on("error", errors.append)

    def handler(message: Any) -> None:
        seen.append(message)
        if message["n"] == 1:
            raise RecursionError("maximum recursion depth exceeded")
        second.set()

    ws.on("message", handler)
    ws.start()
    await asyncio.wait_for(second.wait(), 5)
    await ws.close()
    assert seen == [{"n": 1}, {"n": 2}]
    assert [type(e) for e in errors] == [RecursionError]


async def test_message_over_max_size_raises_message_too_large(ws_server: Start) -> None:
    """A message bigger than max_size raises MessageTooLargeError and fires error/disconnect."""

    async def big(ws: ServerConnection) -> None:
        await ws.send("x" * 2000)
        await ws.wait_closed()

    server = await ws_server(big)
    events: list[str] = []
    ws = WebSocket(server.url, max_size=1000)
    ws.on("error", lambda e: events.append(f"error:{type(e).__name__}"))
    ws.on("disconnect", lambda e: events.append(f"disconnect:{type(e).__name__}"))
    await ws.connect()
    with pytest.raises(MessageTooLargeError):
        await ws.receive()
    assert events == ["disconnect:MessageTooLargeError", "error:MessageTooLargeError"]
    await ws.close()


@pytest.mark.parametrize("compression", [True, False])
async def test_max_size_is_the_decoded_size_whatever_compression_does(
    ws_server: Start, compression: bool
) -> None:
    """Exactly max_size bytes arrive, incompressible (its deflated frame is bigger than
    max_size) or compressible (far smaller); one byte more is refused, inflated or not."""
    limit = 20_000
    noise = os.urandom(limit)

    async def sender(ws: ServerConnection) -> None:
        await ws.send(noise)
        await ws.send("x" * limit)
        await ws.send("é" * (limit // 2))  # limit bytes of UTF-8 in limit / 2 characters
        await ws.send("x" * (limit + 1))
        await ws.wait_closed()

    server = await ws_server(sender)
    ws = WebSocket(server.url, max_size=limit, compression=compression)
    await ws.connect()
    assert await ws.receive() == noise
    assert await ws.receive() == "x" * limit
    assert await ws.receive() == "é" * (limit // 2)
    with pytest.raises(MessageTooLargeError):
        await ws.receive()
    await ws.close()


async def test_send_and_receive_after_close_raise_closed_error(echo_server: Any) -> None:
    """After close(), send/receive/connect raise WebSocketClosedError (a ClientClosedError)."""
    ws = WebSocket(echo_server.url)
    await ws.connect()
    await ws.close()
    for call in (ws.send({"late": True}), ws.receive(), ws.connect()):
        with pytest.raises(WebSocketClosedError) as info:
            await call
        assert isinstance(info.value, ClientClosedError)


async def test_use_before_connect_is_a_clear_error(echo_server: Any) -> None:
    """send() and receive() before connect() say to call connect() first."""
    ws = WebSocket(echo_server.url)
    with pytest.raises(WebSocketConnectionError, match="connect"):
        await ws.send({"too": "early"})
    with pytest.raises(WebSocketConnectionError, match="connect"):
        await ws.receive()


# --------------------------------------------------------------------- heartbeat


async def test_half_open_connection_is_detected_by_keepalive(
    echo_server: Any, proxy_to: Callable[[int], Awaitable[Any]]
) -> None:
    """When the peer goes silent, the ping timeout turns the connection into a disconnect."""
    proxy = await proxy_to(echo_server.port)
    lost = asyncio.Event()
    ws = WebSocket(
        f"ws://127.0.0.1:{proxy.port}", ping_interval=0.1, ping_timeout=0.2, close_timeout=0.2
    )
    ws.on("disconnect", lambda error: lost.set())
    await ws.connect()
    await ws.send({"alive": 1})
    assert await ws.receive() == {"alive": 1}
    proxy.frozen = True
    with pytest.raises(WebSocketDisconnectedError):
        await asyncio.wait_for(ws.receive(), 5)
    assert lost.is_set() and not ws.is_connected
    await ws.close()


# --------------------------------------------------------------------- logging


async def test_logs_never_contain_secrets(ws_server: Start) -> None:
    """Headers are never logged and secret query values in the URL are redacted."""
    server = await ws_server()
    with capture_events() as logs:
        ws = WebSocket(f"{server.url}/feed?token=s3cr3t", headers={"Authorization": "Bearer k3y"})
        await ws.connect()
        await ws.close()
    text = repr(logs)
    assert "websocket.connected" in text
    assert "s3cr3t" not in text and "k3y" not in text
    assert "s3cr3t" not in repr(ws) and "s3cr3t" not in ws.url


async def test_errors_are_from_our_tree(free_port: int) -> None:
    """Every failure is a WebSocketError: callers never import websockets to catch them."""
    ws = WebSocket(f"ws://127.0.0.1:{free_port}")
    with pytest.raises(WebSocketError):
        await ws.connect()


def test_headers_are_copied_not_shared() -> None:
    """The caller's header mapping can change later without affecting the client."""
    headers = {"X-A": "1"}
    ws = WebSocket("ws://127.0.0.1:1", headers=headers)
    headers["X-B"] = "2"
    assert ws._options.headers == {"X-A": "1"}


async def test_circular_structure_is_a_type_error(echo_server: Any) -> None:
    """A dict that cannot be encoded (here circular) fails with TypeError, not a wire error."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    async with WebSocket(echo_server.url) as ws:
        with pytest.raises(TypeError, match="cannot send dict"):
            await ws.send(loop)


async def test_aiohttp_text_path_sends_through_the_frame_writer_or_send_str() -> None:
    """The aiohttp backend's text fast path hands the encoded text to the connection's frame
    writer (compression included); an aiohttp without that writer gets ``send_str`` instead,
    so a change inside aiohttp costs speed, never a message."""
    from aiohttp import WSMsgType

    from pepperpy_core.websocket._aiohttp import _text_sender

    sent: list[tuple[str, object]] = []

    class Writer:
        async def send_frame(self, data: bytes, kind: WSMsgType) -> None:
            sent.append(("frame", (data, kind)))

    class Bare:
        async def send_str(self, text: str) -> None:
            sent.append(("send_str", text))

    class WithWriter(Bare):
        _writer = Writer()

    await _text_sender(WithWriter())("héllo")
    await _text_sender(Bare())("plain")
    assert sent == [
        ("frame", ("héllo".encode(), WSMsgType.TEXT)),
        ("send_str", "plain"),
    ]


async def test_a_caller_that_stops_reading_still_answers_pings_and_sees_a_close(
    ws_server: Start,
) -> None:
    """After receive() returns and nobody calls it again, the connection still answers the
    server's pings (the aiohttp backend hands reading to its pump ``HANDOVER_S`` after the
    last receive()) and notices the server's close, without a receive() pending."""
    answered: list[float] = []
    done = asyncio.Event()

    async def one_then_ping(conn: ServerConnection) -> None:
        await conn.send(json.dumps({"n": 1}))
        await asyncio.sleep(0.05)  # the client has read and stopped reading by now
        for _ in range(3):
            answered.append(await asyncio.wait_for(await conn.ping(), 1.0))
        await conn.close()
        done.set()

    server = await ws_server(one_then_ping, ping_interval=None)
    async with WebSocket(server.url, ping_interval=None) as ws:
        assert await ws.receive() == {"n": 1}
        await asyncio.wait_for(done.wait(), 5)
        for _ in range(100):  # the close is seen with nobody reading
            if not ws.is_connected:
                break
            await asyncio.sleep(0.01)
        assert not ws.is_connected
    assert len(answered) == 3 and max(answered) < 0.5

"""RetryWebSocket, and the specification's own RetryWebSocket example run against our client."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

import pepperpy_core.exceptions as errors
from pepperpy_core.exceptions import ConfigurationError, WebSocketHandshakeError
from pepperpy_core.testing import FakeClock
from pepperpy_core.websocket import BatchWebSocket, RetryWebSocket, WebSocket

Start = Callable[..., Awaitable[Any]]


class SpecRetryWebSocket(WebSocket):
    """The specification's example, copied as written (only the name changed)."""

    def __init__(self, url: str, max_retries: int = 3, retry_delay: float = 1.0):
        super().__init__(url)
        self.max_retries = max_retries
        self.retry_delay = retry_delay

    async def connect(self) -> None:
        retries = 0
        last_error = None
        while retries < self.max_retries:
            try:
                await super().connect()
                return
            except Exception as e:
                last_error = e
                retries += 1
                if retries < self.max_retries:
                    await asyncio.sleep(self.retry_delay * (2**retries))
        raise ConnectionError(f"Falha após {retries} tentativas: {last_error}")


def refuse_first(count: int, status: int = 503) -> Callable[[ServerConnection, Request], Any]:
    """A process_request hook answering ``status`` to the first ``count`` handshakes."""
    seen = [0]

    def hook(connection: ServerConnection, request: Request) -> Response | None:
        seen[0] += 1
        return connection.respond(status, "not now\n") if seen[0] <= count else None

    return hook


async def test_connect_retries_until_the_server_accepts(ws_server: Start) -> None:
    """Two 503 refusals then success: connect() returns connected after three attempts."""
    server = await ws_server(process_request=refuse_first(2))
    clock = FakeClock()
    ws = RetryWebSocket(server.url, max_retries=3, retry_delay=1.0, sleep=clock.sleep)
    await ws.connect()
    assert ws.is_connected and len(clock.sleeps) == 2
    assert all(0 <= wait < 1.0 * 2**n for n, wait in enumerate(clock.sleeps))
    await ws.send({"ok": 1})
    assert await ws.receive() == {"ok": 1}
    await ws.close()


async def test_exhausted_retries_raise_connection_error_naming_attempts(free_port: int) -> None:
    """max_retries=3 is the first attempt and 3 retries: after 4 failures, a
    WebSocketConnectionError (a built-in ConnectionError, not an HTTP error) with the last
    error, after 3 waits."""
    clock = FakeClock()
    ws = RetryWebSocket(f"ws://127.0.0.1:{free_port}", max_retries=3, sleep=clock.sleep)
    with pytest.raises(builtins.ConnectionError, match="after 4 attempts: cannot connect") as info:
        await ws.connect()
    assert isinstance(info.value, errors.WebSocketConnectionError)
    assert not isinstance(info.value, errors.HTTPError)
    assert info.value.attempts == 4 and len(clock.sleeps) == 3


async def test_zero_retries_is_one_attempt(free_port: int) -> None:
    """max_retries=0 tries once and waits for nothing."""
    clock = FakeClock()
    ws = RetryWebSocket(f"ws://127.0.0.1:{free_port}", max_retries=0, sleep=clock.sleep)
    with pytest.raises(errors.WebSocketConnectionError, match="after 1 attempt: cannot") as info:
        await ws.connect()
    assert info.value.attempts == 1 and clock.sleeps == []


async def test_403_is_not_retried(ws_server: Start) -> None:
    """A 4xx refusal is permanent: raised after one attempt, without waiting."""
    server = await ws_server(process_request=refuse_first(10, status=403))
    clock = FakeClock()
    ws = RetryWebSocket(server.url, max_retries=5, sleep=clock.sleep)
    with pytest.raises(WebSocketHandshakeError) as info:
        await ws.connect()
    assert info.value.status == 403 and info.value.attempts == 1 and clock.sleeps == []


def test_bad_retry_settings_are_refused() -> None:
    """A negative max_retries and negative delays are configuration errors naming the
    argument; a max_retries that is not an int (a bool included) is a TypeError."""
    with pytest.raises(ConfigurationError, match=r"RetryWebSocket\(max_retries=...\) must be >= 0"):
        RetryWebSocket("ws://127.0.0.1:1", max_retries=-1)
    with pytest.raises(ConfigurationError):
        RetryWebSocket("ws://127.0.0.1:1", retry_delay=-1)
    for wrong in (True, 2.5, "3"):
        with pytest.raises(TypeError, match="max_retries"):
            RetryWebSocket("ws://127.0.0.1:1", max_retries=wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RetryWebSocket("ws://127.0.0.1:1", max_retry=3),
         r"RetryWebSocket\(\) got an unexpected keyword argument 'max_retry'; "
         r"did you mean max_retries=\?"),
        (lambda: RetryWebSocket("ws://127.0.0.1:1", ping_intervall=5),
         r"RetryWebSocket\(\) .* 'ping_intervall'; did you mean ping_interval=\?"),
        (lambda: WebSocket("ws://127.0.0.1:1", auto_reconect=True),
         r"WebSocket\(\) .* 'auto_reconect'; did you mean auto_reconnect=\?"),
        (lambda: BatchWebSocket("ws://127.0.0.1:1", batch_sise=10),
         r"BatchWebSocket\(\) .* 'batch_sise'; did you mean batch_size=\?"),
        (lambda: WebSocket("ws://127.0.0.1:1", nothing_like_it=1),
         r"WebSocket\(\) got an unexpected keyword argument 'nothing_like_it'$"),
    ],
)
def test_unknown_keywords_name_the_class_and_the_close_match(
    make: Callable[[], Any], message: str
) -> None:
    """A misspelled keyword is a TypeError naming the class being built, the keyword and what
    was probably meant, whichever class in the chain it reaches."""
    with pytest.raises(TypeError, match=message):
        make()


def test_a_class_built_from_two_checks_keywords_against_both() -> None:
    """class Feed(BatchWebSocket, RetryWebSocket) takes both classes' keywords, and a typo in
    either is named with Feed's name."""

    class Feed(BatchWebSocket, RetryWebSocket):
        pass

    Feed("ws://127.0.0.1:1", batch_size=5, max_retries=1)
    with pytest.raises(TypeError, match=r"Feed\(\) .* 'max_retrys'; did you mean max_retries="):
        Feed("ws://127.0.0.1:1", max_retrys=1)


async def test_retry_websocket_reconnects_after_a_restart(ws_server: Start) -> None:
    """RetryWebSocket reconnects by default, each round using its retrying connect()."""
    server = await ws_server()
    ws = RetryWebSocket(server.url, max_retries=2, retry_delay=0.01)
    await ws.connect()
    await server.stop()
    await server.start()
    await ws.send({"still": "here"})
    assert await asyncio.wait_for(ws.receive(), 5) == {"still": "here"}
    await ws.close()


async def test_spec_example_retry_websocket_works(ws_server: Start, free_port: int) -> None:
    """The specification's RetryWebSocket, as written, connects and reports failure."""
    server = await ws_server(process_request=refuse_first(1))
    ws = SpecRetryWebSocket(server.url, max_retries=3, retry_delay=0.01)
    await ws.connect()
    await ws.send({"type": "hello"})
    assert await ws.receive() == {"type": "hello"}
    await ws.close()

    down = SpecRetryWebSocket(f"ws://127.0.0.1:{free_port}", max_retries=2, retry_delay=0.01)
    with pytest.raises(ConnectionError, match="Falha após 2 tentativas"):
        await down.connect()

"""The adapter over the ``websockets`` library: the only module of ours that imports it.

It opens a connection with our options and translates every ``websockets`` exception into
the pepperpy-core tree, so callers never import ``websockets`` to catch our errors. A broken
open connection surfaces as :class:`ConnectionLost`, an internal signal the client turns into
a disconnect (and maybe a reconnect).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidStatus,
    InvalidURI,
    PayloadTooBig,
)
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from pepperpy_core.exceptions import (
    ConfigurationError,
    InvalidURLError,
    MessageTooLargeError,
    WebSocketConnectionError,
    WebSocketDisconnectedError,
    WebSocketError,
    WebSocketHandshakeError,
)
from pepperpy_core.logging import redact_headers, redact_url

__all__ = [
    "ConnectOptions",
    "ConnectionLost",
    "Wire",
    "WireConnection",
    "frame_limit",
    "open_connection",
    "too_big",
    "translate_closed",
    "validate_url",
]

# Close codes a caller should read as "the server went away on purpose", not as a fault.
NORMAL_CLOSE_CODES = frozenset({1000, 1001})
_MESSAGE_TOO_BIG = 1009
_ABNORMAL = 1006


class _RedactingAdapter(logging.LoggerAdapter[logging.Logger]):
    """The ``websockets`` library logs each handshake header (``"> %s: %s"``) and the request
    path at DEBUG; this logger replaces credential values before any handler sees them."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if len(args) == 2 and isinstance(msg, str) and msg.endswith("%s: %s"):
            name, value = args
            args = (name, redact_headers([(str(name), str(value))])[str(name)])
        elif len(args) == 1 and isinstance(msg, str) and msg.startswith("> GET %s"):
            args = (redact_url(str(args[0])),)
        self.logger.log(level, msg, *args, **kwargs)


#: The logger handed to ``websockets``: its records go to ``pepperpy_core.websocket.wire``.
WIRE_LOGGER = _RedactingAdapter(logging.getLogger("pepperpy_core.websocket.wire"))


class ConnectionLost(Exception):  # an internal signal, never seen by users
    """The open connection broke; ``error`` is the public exception describing why."""

    def __init__(self, error: WebSocketError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class ConnectOptions:
    """Everything needed to open one connection (the client builds it once)."""

    url: str
    headers: Mapping[str, str] | None = None
    subprotocols: Sequence[str] | None = None
    ssl_context: ssl.SSLContext | None = None
    max_size: int | None = 2**20
    compression: bool = True
    open_timeout: float | None = 10.0
    close_timeout: float | None = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    proxy: str | bool | None = True


class Wire(Protocol):
    """The seam: what the client needs from one open connection, whatever the library.
    ``raw_send``/``raw_recv`` raise one of ``LOST`` when the connection is gone, which
    :meth:`lost_error` turns into the public error; the other methods raise
    :class:`ConnectionLost`."""

    LOST: tuple[type[BaseException], ...]
    failure: str | None

    @property
    def raw_send(self) -> Callable[[str | bytes], Awaitable[None]]: ...
    @property
    def raw_recv(self) -> Callable[[], Awaitable[str | bytes]]: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def subprotocol(self) -> str | None: ...
    @property
    def closed_cleanly(self) -> bool: ...
    def lost_error(self, exc: BaseException) -> WebSocketError: ...
    async def send(self, payload: str | bytes) -> None: ...
    async def ping(self) -> asyncio.Future[float]: ...
    async def wait_lost(self) -> WebSocketError: ...
    def fail(self, why: str) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...
    def abort(self) -> None: ...


def validate_url(url: str) -> None:
    """Raise :class:`InvalidURLError` unless ``url`` is an absolute ws:// or wss:// URL
    without spaces or control characters (they could split the request line or a header)."""
    if not isinstance(url, str) or not url:
        raise InvalidURLError(f"WebSocket URL must be a non-empty string, got {url!r}")
    bad = next((c for c in url if ord(c) <= 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise InvalidURLError(
            f"WebSocket URL must not contain spaces or control characters, found {bad!r} in "
            f"{redact_url(url)!r}"
        )
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("ws", "wss"):
        raise InvalidURLError(f"WebSocket URL must use ws:// or wss://, got {redact_url(url)!r}")
    try:
        parse_uri(url)
    except InvalidURI as exc:
        raise InvalidURLError(f"invalid WebSocket URL {redact_url(url)!r}: {exc}") from None


def frame_limit(max_size: int | None) -> int | None:
    """The limit handed to the library for ``max_size``. Libraries bound the frame on the
    wire as well as the inflated message, so a compressed frame carrying a message of exactly
    ``max_size`` bytes (a little bigger when incompressible) would be refused. This leaves
    room for deflate's overhead while still bounding what inflating can produce; the adapter
    then applies ``max_size`` to the decoded message itself (:func:`too_big`)."""
    if not max_size:
        return None
    return max_size + max_size // 64 + 1024


def too_big(data: str | bytes, limit: int) -> bool:
    """Whether a message is over ``limit`` bytes (text counted as UTF-8)."""
    size = len(data)
    if size > limit:
        return True
    if isinstance(data, str) and size * 4 > limit:  # only then can UTF-8 push it over
        return len(data.encode()) > limit
    return False


def default_ssl_context(verify: bool) -> ssl.SSLContext:
    """A client TLS context; ``verify=False`` turns off certificate and hostname checks."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class WireConnection:
    """One open WebSocket connection. Methods raise :class:`ConnectionLost` when it breaks."""

    __slots__ = ("_max_size", "_ws", "failure", "raw_recv", "raw_send")

    #: What raw_send/raw_recv raise when the connection is gone; see :meth:`lost_error`.
    LOST: tuple[type[BaseException], ...] = (ConnectionClosed, ConnectionLost)

    def __init__(self, ws: ClientConnection, max_size: int | None = None) -> None:
        self._ws = ws
        self._max_size = max_size
        self.failure: str | None = None  # why we dropped the connection ourselves
        # The hot path calls the library directly (one coroutine less per message) and
        # catches LOST itself; send()/recv() below are the translated versions. Only with
        # compression can a frame within the library's limit inflate past max_size, so only
        # then is every message measured here.
        self.raw_send = ws.send
        self.raw_recv = ws.recv if max_size is None else self._recv_within_limit

    async def _recv_within_limit(self) -> str | bytes:
        data = await self._ws.recv()
        assert self._max_size is not None
        if too_big(data, self._max_size):
            await self._ws.close(_MESSAGE_TOO_BIG, "message too big")
            raise ConnectionLost(
                MessageTooLargeError(
                    f"message received exceeds the size limit ({self._max_size} bytes)"
                )
            )
        return data

    @property
    def is_open(self) -> bool:
        return self._ws.state is State.OPEN

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    @property
    def closed_cleanly(self) -> bool:
        """Whether the server answered with a close frame (it then had every frame before)."""
        return self._ws.protocol.close_rcvd is not None

    def lost_error(self, exc: BaseException) -> WebSocketError:
        """The public error for an exception in :attr:`LOST` raised by this connection."""
        if isinstance(exc, ConnectionLost):
            return exc.error
        assert isinstance(exc, ConnectionClosed)
        return translate_closed(exc, self.failure)

    async def send(self, payload: str | bytes) -> None:
        try:
            await self._ws.send(payload)
        except ConnectionClosed as exc:
            raise ConnectionLost(translate_closed(exc, self.failure)) from None

    async def recv(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise ConnectionLost(translate_closed(exc, self.failure)) from None

    async def ping(self) -> asyncio.Future[float]:
        """Send a ping; the future completes when its pong (or a later one) arrives."""
        try:
            return await self._ws.ping()  # type: ignore[return-value]
        except ConnectionClosed as exc:
            raise ConnectionLost(translate_closed(exc, self.failure)) from None

    async def wait_lost(self) -> WebSocketError:
        """Wait until the connection is closed (by anyone); the error describing why."""
        await self._ws.wait_closed()
        closed = self._ws.protocol.close_exc
        return translate_closed(closed, self.failure)

    def fail(self, why: str) -> None:
        """Drop the connection at once (no closing handshake), remembering ``why``."""
        self.failure = why
        self.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closing handshake, bounded by the connection's close timeout; never raises."""
        try:
            await self._ws.close(code, reason)
        except Exception:  # closing a dead connection must not fail the caller
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake."""
        transport = self._ws.transport
        if transport is not None:
            transport.abort()


async def open_connection(options: ConnectOptions) -> WireConnection:
    """Open one connection; every failure is raised as a pepperpy-core error."""
    secure = options.url.lower().startswith("wss:")
    extra: dict[str, Any] = {}
    if secure:
        extra["ssl"] = options.ssl_context or default_ssl_context(True)
    try:
        ws = await connect(
            options.url,
            additional_headers=dict(options.headers) if options.headers else None,
            subprotocols=[Subprotocol(p) for p in options.subprotocols]
            if options.subprotocols
            else None,
            compression="deflate" if options.compression else None,
            open_timeout=options.open_timeout,
            close_timeout=options.close_timeout,
            # The client drives the keepalive on ping() (it must know which frames a pong
            # acknowledged, and drop a dead connection at once, not after close_timeout).
            ping_interval=None,
            ping_timeout=None,
            # The limit is on the decoded message: exact without compression; with it, the
            # library gets room for deflate's overhead and the connection measures.
            max_size=frame_limit(options.max_size) if options.compression else options.max_size,
            logger=WIRE_LOGGER,
            proxy=True if options.proxy is True else (options.proxy or None),
            **extra,
        )
    except Exception as exc:
        raise translate_open_error(exc, options) from None
    compressed = options.compression and ws.protocol.extensions
    return WireConnection(ws, options.max_size if compressed else None)


def translate_open_error(exc: Exception, options: ConnectOptions) -> Exception:
    """The pepperpy-core error for a failed opening handshake."""
    where = redact_url(options.url)
    if isinstance(exc, InvalidURI):
        return InvalidURLError(f"invalid WebSocket URL {where!r}: {exc}")
    if isinstance(exc, InvalidProxy):
        return ConfigurationError(f"invalid proxy for {where!r}: {exc}")
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return WebSocketHandshakeError(
            f"server refused the WebSocket handshake to {where!r} with HTTP {status}",
            status=status,
        )
    if isinstance(exc, InvalidHandshake):
        return WebSocketHandshakeError(f"WebSocket handshake to {where!r} failed: {exc}")
    if isinstance(exc, ssl.SSLError):
        return WebSocketConnectionError(f"TLS failure connecting to {where!r}: {exc}")
    if isinstance(exc, TimeoutError):
        return WebSocketConnectionError(
            f"timed out after {options.open_timeout} s opening {where!r}"
        )
    if isinstance(exc, OSError):
        return WebSocketConnectionError(f"cannot connect to {where!r}: {exc}")
    return WebSocketConnectionError(f"cannot connect to {where!r}: {exc!r}")


def translate_closed(exc: ConnectionClosed, failure: str | None = None) -> WebSocketError:
    """The pepperpy-core error for a connection that closed or broke while open. The code is
    the server's close code, or 1006 when the server sent no close frame (``failure``: why
    we dropped it ourselves, such as a keepalive timeout)."""
    frame = exc.rcvd
    code = frame.code if frame is not None else _ABNORMAL
    reason = frame.reason if frame is not None else ""
    too_big = exc.sent is not None and exc.sent.code == _MESSAGE_TOO_BIG
    if code == _MESSAGE_TOO_BIG or too_big or isinstance(exc.__cause__, PayloadTooBig):
        side = "received" if exc.rcvd is None else "sent"
        return MessageTooLargeError(f"message {side} exceeds the size limit ({exc})")
    if frame is None:
        text = "connection lost without a close frame (code 1006)"
        if failure:
            text += f": {failure}"
            reason = failure
    else:
        text = f"connection closed with code {code}" + (f" ({reason})" if reason else "")
    return WebSocketDisconnectedError(text, code=code, reason=reason)

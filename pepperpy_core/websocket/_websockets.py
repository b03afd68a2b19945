"""The adapter over the ``websockets`` library: the only module of ours that imports it.

It opens a connection with our options and translates every ``websockets`` exception into
the pepperpy-core tree, so callers never import ``websockets`` to catch our errors. A broken
open connection surfaces as :class:`ConnectionLost`, an internal signal the client turns into
a disconnect (and maybe a reconnect).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
from pepperpy_core.logging import redact_url

__all__ = [
    "CLOSED",
    "ConnectOptions",
    "ConnectionLost",
    "WireConnection",
    "open_connection",
    "translate_closed",
    "validate_url",
]

#: What the raw send/recv of a :class:`WireConnection` raise when the connection is gone;
#: the client's hot path catches it and calls :func:`translate_closed`.
CLOSED = ConnectionClosed

# Close codes a caller should read as "the server went away on purpose", not as a fault.
NORMAL_CLOSE_CODES = frozenset({1000, 1001})
_MESSAGE_TOO_BIG = 1009
_ABNORMAL = 1006


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


def validate_url(url: str) -> None:
    """Raise :class:`InvalidURLError` unless ``url`` is an absolute ws:// or wss:// URL."""
    if not isinstance(url, str) or not url:
        raise InvalidURLError(f"WebSocket URL must be a non-empty string, got {url!r}")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("ws", "wss"):
        raise InvalidURLError(f"WebSocket URL must use ws:// or wss://, got {redact_url(url)!r}")
    try:
        parse_uri(url)
    except InvalidURI as exc:
        raise InvalidURLError(f"invalid WebSocket URL {redact_url(url)!r}: {exc}") from None


def default_ssl_context(verify: bool) -> ssl.SSLContext:
    """A client TLS context; ``verify=False`` turns off certificate and hostname checks."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class WireConnection:
    """One open WebSocket connection. Methods raise :class:`ConnectionLost` when it breaks."""

    __slots__ = ("_ws", "raw_recv", "raw_send")

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        # The hot path calls the library directly (one coroutine less per message) and
        # catches CLOSED itself; send()/recv() below are the translated versions.
        self.raw_send = ws.send
        self.raw_recv = ws.recv

    @property
    def is_open(self) -> bool:
        return self._ws.state is State.OPEN

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    async def send(self, payload: str | bytes) -> None:
        try:
            await self._ws.send(payload)
        except ConnectionClosed as exc:
            raise ConnectionLost(translate_closed(exc)) from exc

    async def recv(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise ConnectionLost(translate_closed(exc)) from exc

    async def wait_lost(self) -> WebSocketError:
        """Wait until the connection is closed (by anyone); the error describing why."""
        await self._ws.wait_closed()
        closed = self._ws.protocol.close_exc
        return translate_closed(closed)

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
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            max_size=options.max_size,
            proxy=True if options.proxy is True else (options.proxy or None),
            **extra,
        )
    except Exception as exc:
        raise translate_open_error(exc, options) from exc
    return WireConnection(ws)


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


def translate_closed(exc: ConnectionClosed) -> WebSocketError:
    """The pepperpy-core error for a connection that closed or broke while open."""
    frame = exc.rcvd or exc.sent
    code = frame.code if frame is not None else _ABNORMAL
    reason = frame.reason if frame is not None else ""
    if code == _MESSAGE_TOO_BIG or isinstance(exc.__cause__, PayloadTooBig):
        side = "received" if exc.rcvd is None else "sent"
        return MessageTooLargeError(f"message {side} exceeds the size limit ({exc})")
    if frame is None:
        text = "connection lost without a close frame"
    else:
        text = f"connection closed with code {code}" + (f" ({reason})" if reason else "")
    return WebSocketDisconnectedError(text, code=code, reason=reason)

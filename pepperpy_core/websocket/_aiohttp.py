"""The adapter over aiohttp's WebSocket client: the same seam as ``_websockets.py``.

``WebSocket(url, backend="aiohttp")`` opens connections here. aiohttp parses frames in its
protocol but answers pings and reads close frames only inside ``receive()``, so each
connection runs one reader task that does that and queues the data messages; the client's
keepalive drives :meth:`AiohttpConnection.ping` like it does on the default backend.
Every aiohttp exception is translated into the pepperpy-core tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from typing import Any

import aiohttp
from aiohttp import WSMsgType

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
from pepperpy_core.websocket._websockets import (
    ConnectionLost,
    ConnectOptions,
    default_ssl_context,
)

__all__ = ["AiohttpConnection", "open_connection"]

_MESSAGE_TOO_BIG = 1009
_ABNORMAL = 1006
_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)
_END = object()  # queued after the last message


class AiohttpConnection:
    """One open aiohttp WebSocket; methods raise :class:`ConnectionLost` when it breaks."""

    LOST: tuple[type[BaseException], ...] = (ConnectionLost,)

    def __init__(self, session: aiohttp.ClientSession, ws: Any) -> None:
        self._session = session
        self._ws = ws
        self.failure: str | None = None
        self._messages: deque[object] = deque()
        self._ready: asyncio.Future[None] | None = None
        self._pings: deque[asyncio.Future[float]] = deque()
        self._error: WebSocketError | None = None
        self._close_rcvd = False
        self._done = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self.raw_send = self.send
        self.raw_recv = self.recv

    # ------------------------------------------------------------ reading

    async def _read(self) -> None:
        ws = self._ws
        try:
            while True:
                msg = await ws.receive()
                kind = msg.type
                if kind in _DATA:
                    self._push(msg.data)
                elif kind is WSMsgType.PING:
                    with contextlib.suppress(Exception):
                        await ws.pong(msg.data)
                elif kind is WSMsgType.PONG:
                    if self._pings:
                        waiter = self._pings.popleft()
                        if not waiter.done():
                            waiter.set_result(0.0)
                elif kind is WSMsgType.CLOSE:
                    self._close_rcvd = True
                    self._error = _closed_error(int(msg.data or _ABNORMAL), msg.extra or "")
                else:  # CLOSING, CLOSED, ERROR
                    if self._error is None:
                        self._error = self._broken(msg)
                    break
        except Exception as exc:  # the transport broke under receive()
            if self._error is None:
                self._error = _closed_error(_ABNORMAL, "", detail=str(exc))
        finally:
            self._finish()

    def _broken(self, msg: aiohttp.WSMessage) -> WebSocketError:
        data = msg.data
        if msg.type is WSMsgType.ERROR and getattr(data, "code", None) == _MESSAGE_TOO_BIG:
            return MessageTooLargeError(f"message received exceeds the size limit ({data})")
        code = self._ws.close_code
        if code == _MESSAGE_TOO_BIG:
            return MessageTooLargeError("message received exceeds the size limit")
        return _closed_error(_ABNORMAL, "", detail=self.failure)

    def _push(self, item: object) -> None:
        self._messages.append(item)
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    def _finish(self) -> None:
        error = self._error or _closed_error(_ABNORMAL, "", detail=self.failure)
        self._error = error
        for waiter in self._pings:
            if not waiter.done():
                waiter.set_exception(ConnectionLost(error))
                waiter.exception()  # retrieved: nobody may await it
        self._pings.clear()
        self._push(_END)
        self._done.set()

    async def recv(self) -> str | bytes:
        while True:
            messages = self._messages
            if messages:
                item = messages[0]
                if item is _END:
                    assert self._error is not None
                    raise ConnectionLost(self._error)
                messages.popleft()
                return item  # type: ignore[return-value]
            self._ready = asyncio.get_running_loop().create_future()
            await self._ready

    # ------------------------------------------------------------ state and sending

    @property
    def is_open(self) -> bool:
        return not self._done.is_set() and not self._ws.closed

    @property
    def subprotocol(self) -> str | None:
        return str(self._ws.protocol) if self._ws.protocol else None

    @property
    def closed_cleanly(self) -> bool:
        return self._close_rcvd

    def lost_error(self, exc: BaseException) -> WebSocketError:
        assert isinstance(exc, ConnectionLost)
        return exc.error

    def _lost_now(self) -> ConnectionLost:
        return ConnectionLost(self._error or _closed_error(_ABNORMAL, "", detail=self.failure))

    async def send(self, payload: str | bytes) -> None:
        if self._done.is_set():
            raise self._lost_now()
        try:
            if isinstance(payload, str):
                await self._ws.send_str(payload)
            else:
                await self._ws.send_bytes(payload)
        except (ConnectionError, OSError, RuntimeError):
            raise self._lost_now() from None

    async def ping(self) -> asyncio.Future[float]:
        if self._done.is_set():
            raise self._lost_now()
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pings.append(waiter)
        try:
            await self._ws.ping()
        except (ConnectionError, OSError, RuntimeError):
            raise self._lost_now() from None
        return waiter

    async def wait_lost(self) -> WebSocketError:
        await self._done.wait()
        assert self._error is not None
        return self._error

    def fail(self, why: str) -> None:
        self.failure = why
        self._error = _closed_error(_ABNORMAL, "", detail=why)
        self.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        try:
            if not self._done.is_set():
                await self._ws.close(code=code, message=reason.encode())
        except Exception:
            self.abort()
        finally:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            await self._session.close()

    def abort(self) -> None:
        transport = self._transport()
        if transport is not None:
            transport.abort()

    def _transport(self) -> asyncio.Transport | None:
        response = getattr(self._ws, "_response", None)
        connection = getattr(response, "connection", None)
        return getattr(connection, "transport", None)


def _closed_error(code: int, reason: str, *, detail: str | None = None) -> WebSocketError:
    if code == _ABNORMAL:
        text = "connection lost without a close frame (code 1006)"
        if detail:
            text += f": {detail}"
        return WebSocketDisconnectedError(text, code=code, reason=detail or "")
    if code == _MESSAGE_TOO_BIG:
        return MessageTooLargeError(f"message sent exceeds the server's size limit ({reason})")
    text = f"connection closed with code {code}" + (f" ({reason})" if reason else "")
    return WebSocketDisconnectedError(text, code=code, reason=reason)


async def open_connection(options: ConnectOptions) -> AiohttpConnection:
    """Open one connection on aiohttp; every failure is raised as a pepperpy-core error."""
    where = redact_url(options.url)
    secure = options.url.lower().startswith("wss:")
    ssl_context: ssl.SSLContext | bool = True
    if secure:
        ssl_context = options.ssl_context or default_ssl_context(True)
    proxy = options.proxy if isinstance(options.proxy, str) else None
    session = aiohttp.ClientSession(trust_env=options.proxy is True)
    try:
        ws = await asyncio.wait_for(
            session.ws_connect(
                options.url,
                headers=dict(options.headers) if options.headers else None,
                protocols=tuple(options.subprotocols or ()),
                compress=15 if options.compression else 0,
                max_msg_size=options.max_size or 0,
                autoping=False,
                autoclose=True,
                heartbeat=None,
                ssl=ssl_context if secure else True,
                proxy=proxy,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=options.close_timeout),
            ),
            options.open_timeout,
        )
    except BaseException as exc:
        await session.close()
        if isinstance(exc, Exception):
            raise _open_error(exc, where, options) from None
        raise
    return AiohttpConnection(session, ws)


def _open_error(exc: Exception, where: str, options: ConnectOptions) -> Exception:
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        status = exc.status
        if 300 <= status < 600 and status != 101:
            return WebSocketHandshakeError(
                f"server refused the WebSocket handshake to {where!r} with HTTP {status}",
                status=status,
            )
        return WebSocketHandshakeError(f"WebSocket handshake to {where!r} failed: {exc.message}")
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidURLError(f"invalid WebSocket URL {where!r}")
    if isinstance(exc, ValueError) and "proxy" in str(exc).lower():
        return ConfigurationError(f"invalid proxy for {where!r}")
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return WebSocketConnectionError(f"TLS failure connecting to {where!r}: {exc}")
    if isinstance(exc, TimeoutError):
        return WebSocketConnectionError(
            f"timed out after {options.open_timeout} s opening {where!r}"
        )
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return WebSocketConnectionError(f"cannot connect to {where!r}: {type(exc).__name__}")
    return WebSocketConnectionError(f"cannot connect to {where!r}: {type(exc).__name__}")

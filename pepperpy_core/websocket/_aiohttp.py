"""The adapter over aiohttp's WebSocket client: the same seam as ``_websockets.py``.

``WebSocket(url, backend="aiohttp")`` opens connections here. aiohttp parses frames in its
protocol but answers pings and reads close frames only inside ``receive()``, so each
connection runs one reader task that does that and queues the data messages. The keepalive
is the client's own, on :meth:`AiohttpConnection.ping` (pings carry a counter and a pong
answers its own ping), not aiohttp's ``heartbeat=``: that one waits ``heartbeat / 2`` for a
pong and cannot say which frames a pong acknowledged, which the outbox needs. So the bound
(``ping_interval + ping_timeout``) and the replay are the same on both backends.
Every aiohttp exception is translated into the pepperpy-core tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

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
    frame_limit,
    too_big,
)

__all__ = ["AiohttpConnection", "open_connection"]

_MESSAGE_TOO_BIG = 1009
_ABNORMAL = 1006
_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)
_END = object()  # queued after the last message
#: When a caller of recv() stops reading, how soon (seconds) the pump reads for it: answers
#: pings, sees pongs and a close. Our own keepalive ping starts the pump at once.
HANDOVER_S = 0.1


def _text_sender(ws: Any) -> Callable[[str], Awaitable[None]]:
    """What ``send_str`` does, minus its own coroutine frame: a plain function handing the
    UTF-8 text to the frame writer of the connection (the same ``send_frame`` call, with the
    connection's compression). Where aiohttp has no such writer, ``send_str`` itself."""
    send_frame = getattr(getattr(ws, "_writer", None), "send_frame", None)
    if send_frame is None:
        sender: Callable[[str], Awaitable[None]] = ws.send_str
        return sender
    text_frame = WSMsgType.TEXT

    def send_text(text: str) -> Awaitable[None]:
        awaitable: Awaitable[None] = send_frame(text.encode(), text_frame)
        return awaitable

    return send_text


class AiohttpConnection:
    """One open aiohttp WebSocket; methods raise :class:`ConnectionLost` when it breaks."""

    #: raw_send_text is aiohttp's frame writer (see _text_sender): a dead transport raises a
    #: ConnectionError.
    LOST: tuple[type[BaseException], ...] = (ConnectionLost, ConnectionError)

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws: Any,
        close_timeout: float | None = None,
        max_size: int | None = None,
    ) -> None:
        self._session = session
        self._max_size = max_size or None
        self._close_timeout = close_timeout
        self._ws = ws
        self.failure: str | None = None
        self._messages: deque[object] = deque()
        self._ready: asyncio.Future[None] | None = None
        # Pings in flight, oldest first, each with its payload: a pong answers the ping with
        # the same payload and every earlier one (an unsolicited pong acknowledges nothing).
        self._pings: deque[tuple[bytes, asyncio.Future[float]]] = deque()
        self._ping_count = 0
        self._error: WebSocketError | None = None
        self._close_rcvd = False
        self._closing = False  # close() was called
        self._done = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # One reader at a time inside aiohttp's receive(): a caller of recv() reads itself
        # (no hand-off between tasks on the hot path); when nobody is reading, the pump task
        # does, so pings are answered, pongs seen and a close noticed on an idle connection.
        self._reading = False
        self._pump: asyncio.Task[None] | None = None
        self._pump_check = False  # a _maybe_pump() call is scheduled (_hand_over_later)
        self._wanted = False  # a caller of recv() waits on the pump
        self._maybe_pump()
        self.raw_send = self.send
        self.raw_send_text = _text_sender(ws)  # the hot path
        self.raw_recv = self.recv

    # ------------------------------------------------------------ reading

    async def _read_one(self) -> str | bytes | None:
        """Read one frame from aiohttp: a data message, or None after handling a control
        frame. At the end of the connection, finish it and raise :class:`ConnectionLost`."""
        ws = self._ws
        self._reading = True
        try:
            msg = await ws.receive()
        except Exception as exc:  # the transport broke under receive()
            await self._end(_closed_error(_ABNORMAL, "", detail=str(exc)))
        finally:
            self._reading = False
        kind = msg.type
        if kind in _DATA:
            limit = self._max_size
            # under a quarter of the limit in characters: small enough even as UTF-8
            if limit is not None and len(msg.data) * 4 > limit and too_big(msg.data, limit):
                too_large = MessageTooLargeError(
                    f"message received exceeds the size limit ({limit} bytes)"
                )
                self._error = self._error or too_large
                with contextlib.suppress(Exception):
                    await ws.close(code=_MESSAGE_TOO_BIG, message=b"message too big")
                await self._end(too_large)
            return msg.data  # type: ignore[no-any-return]
        if kind is WSMsgType.PING:
            with contextlib.suppress(Exception):
                await ws.pong(msg.data)
        elif kind is WSMsgType.PONG:
            self._pong(msg.data)
        elif kind is WSMsgType.CLOSE:
            self._close_rcvd = True
            self._error = _closed_error(int(msg.data or _ABNORMAL), msg.extra or "")
        else:  # CLOSING, CLOSED, ERROR
            await self._end(self._error or self._broken(msg))
        return None

    async def _end(self, error: WebSocketError) -> NoReturn:
        """The connection is over: record why, wake everyone, release the session."""
        if not self._done.is_set():
            if self._error is None:
                self._error = error
            self._finish()
            # The session holds only this connection: release it as soon as the connection
            # is lost (nobody may call close() on it). close() releases it itself.
            if not self._closing:
                await self._session.close()
        assert self._error is not None
        raise ConnectionLost(self._error)

    def _maybe_pump(self) -> None:
        """Start the pump unless someone is reading (``HANDOVER_S`` after a recv())."""
        self._pump_check = False
        if self._reading or self._pump is not None or self._done.is_set() or self._closing:
            return
        self._pump = self._loop.create_task(self._run_pump())

    def _hand_over_later(self) -> None:
        """If nobody reads within ``HANDOVER_S`` of now, the pump takes over. One timer
        covers every read until it fires, so a busy reader costs no call per message."""
        self._pump_check = True
        self._loop.call_later(HANDOVER_S, self._maybe_pump)

    async def _run_pump(self) -> None:
        """Read while nobody else does; stop once a caller of recv() waits (it then reads
        itself), handing it what was read. Once close() has begun, read to the end."""
        try:
            while not self._wanted or self._closing:  # closing: read to the end
                data = await self._read_one()
                if data is not None:
                    self._push(data)
        except ConnectionLost:
            pass
        finally:
            self._pump = None
            self._wanted = False
            self._wake()  # a waiting caller reads itself from now on

    def _broken(self, msg: aiohttp.WSMessage) -> WebSocketError:
        data = msg.data
        if msg.type is WSMsgType.ERROR and getattr(data, "code", None) == _MESSAGE_TOO_BIG:
            return MessageTooLargeError(f"message received exceeds the size limit ({data})")
        code = self._ws.close_code
        if code == _MESSAGE_TOO_BIG:
            return MessageTooLargeError("message received exceeds the size limit")
        return _closed_error(_ABNORMAL, "", detail=self.failure)

    def _pong(self, data: bytes) -> None:
        pings = self._pings
        if not any(payload == data for payload, _ in pings):
            return
        while pings:
            payload, waiter = pings.popleft()
            if not waiter.done():
                waiter.set_result(0.0)
            if payload == data:
                return

    def _push(self, item: object) -> None:
        self._messages.append(item)
        self._wake()

    def _wake(self) -> None:
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    def _finish(self) -> None:
        error = self._error or _closed_error(_ABNORMAL, "", detail=self.failure)
        self._error = error
        for _, waiter in self._pings:
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
                if self._pump is None and not self._pump_check:
                    self._hand_over_later()
                return item  # type: ignore[return-value]
            if self._pump is None and not self._reading:
                data = await self._read_one()
                if data is None:
                    continue
                if not self._pump_check:
                    self._hand_over_later()
                return data
            self._wanted = True  # the pump stops after its current read
            self._ready = self._loop.create_future()
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
        if isinstance(exc, ConnectionLost):
            return exc.error
        return self._lost_now().error

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
        self._maybe_pump()  # its pong must be read even if nobody receives
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._ping_count += 1
        payload = self._ping_count.to_bytes(8, "big")
        self._pings.append((payload, waiter))
        try:
            await self._ws.ping(payload)
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
        """Closing handshake (bounded by the close timeout), then the reader ends and the
        session is released; never raises."""
        ws = self._ws
        # aiohttp's close() drops the frames it holds unread: unless someone is reading, the
        # pump moves them to our queue first (it reads without suspending while frames are
        # buffered, and once _closing is set it reads to the end).
        self._maybe_pump()
        self._closing = True
        await asyncio.sleep(0)
        try:
            if not self._done.is_set() and not ws.closed:
                # aiohttp stops the reader's receive() first, sends our close frame and
                # reads until the server's: its code is then close_code.
                await ws.close(code=code, message=reason.encode())
                if ws.close_code is not None and ws.close_code != _ABNORMAL:
                    self._close_rcvd = True
        except Exception:
            self.abort()
        finally:
            pump = self._pump
            if pump is not None and not pump.done():  # it got CLOSING: it ends now
                await asyncio.wait({pump}, timeout=self._close_timeout)
                if not pump.done():
                    self.abort()
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
            if not self._done.is_set():  # nobody was reading: close() read the rest itself
                self._error = self._error or WebSocketDisconnectedError(
                    f"connection closed by the client with code {code}", code=code, reason=reason
                )
                self._finish()
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
                max_msg_size=frame_limit(options.max_size) or 0,
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
    return AiohttpConnection(session, ws, options.close_timeout, options.max_size)


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

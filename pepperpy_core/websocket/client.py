"""The WebSocket client: primitives, event handlers, heartbeat and auto-reconnect.

``connect()``, ``send()``, ``receive()``, ``async for`` and ``close()`` are the primitives;
``connect`` and ``send`` are the documented hooks that subclasses (retry, batching) override.
Handlers registered with ``@ws.on(...)`` are a layer over the receive path, so every message
reaches them however it is read. Reconnection is one owned background task at a time; every
caller that notices a lost connection joins it instead of starting its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random as _random
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypedDict, overload

import pepperpy_core._observe as _observe
from pepperpy_core._signature import class_signature, keywords_checked
from pepperpy_core.behaviours import RateLimit
from pepperpy_core.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    MessageTooLargeError,
    WebSocketClosedError,
    WebSocketConnectionError,
    WebSocketDecodeError,
    WebSocketDisconnectedError,
    WebSocketError,
    WebSocketOutboxFullError,
)
from pepperpy_core.logging import get_logger, redact_url
from pepperpy_core.websocket._websockets import (
    NORMAL_CLOSE_CODES,
    ConnectionLost,
    ConnectOptions,
    Wire,
    default_ssl_context,
    open_connection,
    validate_url,
)
from pepperpy_core.websocket.events import EventHandlers, H, Handler, decorator_for
from pepperpy_core.websocket.outbox import Outbox, OutboxPolicy
from pepperpy_core.websocket.reconnect import ReconnectPolicy, retry_connect
from pepperpy_core.websocket.sendrate import SendRate

__all__ = ["BatchOptions", "RetryOptions", "WebSocket", "WebSocketOptions"]

_log = get_logger("pepperpy_core.websocket")

Sleep = Callable[[float], Awaitable[None]]


# One encoder built once: json.dumps() with options builds a new encoder on every call.
_dumps: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_JSON_CONTAINERS = (dict, list)
_DEDUPE_MEMORY = 10_000  # keys remembered by dedupe_key
Backend = Literal["websockets", "aiohttp"]
_DEFAULT_BACKEND: Backend = "websockets"  # what backend=None means (the suite runs on both)


class _SocketOptions(TypedDict, total=False):
    headers: Mapping[str, str] | None
    subprotocols: Sequence[str] | None
    verify_ssl: bool
    ssl_context: ssl.SSLContext | None
    max_size: int | None
    compression: bool
    open_timeout: float | None
    close_timeout: float | None
    ping_interval: float | None
    ping_timeout: float | None
    proxy: str | bool | None
    reconnect: ReconnectPolicy | None
    send_wait: float | None
    decode_json: bool
    dumps: Callable[[Any], str] | None
    loads: Callable[[str | bytes], Any] | None
    send_rate: RateLimit | None
    max_connection_age: float | None
    dedupe_key: Callable[[Any], Hashable] | None
    backend: Backend | None
    sleep: Sleep | None
    random: Callable[[], float] | None


class BatchOptions(_SocketOptions, total=False):
    """What :class:`BatchWebSocket` forwards (its own ``clock`` is the batch timer's, and it
    names ``outbox`` itself)."""

    auto_reconnect: bool | None


class RetryOptions(_SocketOptions, total=False):
    """What :class:`RetryWebSocket` forwards (it sets ``auto_reconnect`` itself)."""

    clock: Callable[[], float] | None
    outbox: OutboxPolicy | None


class WebSocketOptions(BatchOptions, RetryOptions, total=False):
    """Every keyword :class:`WebSocket` takes, for ``**options`` in the classes built on it
    (``RetryWebSocket(url, 5, ping_interval=10)``). Types, defaults and units are documented
    on ``WebSocket``; a test keeps the two lists the same."""


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    """Mark a background task's exception as seen; its waiters (if any) re-raise it."""
    if not task.cancelled():
        task.exception()


class WebSocket:
    """A WebSocket client that sends and receives Python objects as JSON and can stay up for
    days: keepalive detects dead connections and a backoff loop reconnects.

    ``url`` is a ``ws://`` or ``wss://`` URL. Every option is keyword-only:

    - ``headers``: extra HTTP headers for the opening handshake (None: none). Values are never
      logged.
    - ``subprotocols``: subprotocols to offer, in preference order (None: none).
    - ``verify_ssl``: verify the server's certificate and host name for ``wss://`` (default
      True). ``ssl_context``: a ready ``ssl.SSLContext`` that overrides ``verify_ssl``.
    - ``max_size``: bytes; largest incoming message accepted (None: no limit). A bigger one
      closes the connection (code 1009) and raises :class:`MessageTooLargeError`.
    - ``compression``: negotiate permessage-deflate (default True).
    - ``open_timeout`` / ``close_timeout``: seconds for the opening / closing handshake
      (None: wait forever).
    - ``ping_interval`` / ``ping_timeout``: seconds; the keepalive sends a ping
      ``ping_interval`` after the previous pong and drops the connection at once (code 1006,
      "keepalive ping timeout" in the message) when no pong arrives within ``ping_timeout``.
      A half-open connection (a silent network drop) is therefore a disconnect within
      ``ping_interval + ping_timeout`` plus the event loop's scheduling delay (milliseconds);
      about 40 s with the defaults. None disables the keepalive (or its timeout).
    - ``proxy``: proxy URL; True uses the environment's proxy settings, None uses none.
    - ``auto_reconnect``: reconnect when an open connection is lost. None (default):
      only while the background listener runs (``run()``/``start()``); True: also for
      ``send()``, ``receive()`` and ``async for``; False: never.
    - ``reconnect``: the :class:`ReconnectPolicy` (backoff base, cap, jitter, attempts);
      None: the default policy (0.5 s base, 30 s cap, jitter, unlimited attempts).
    - ``send_wait``: seconds ``send()`` waits for a reconnect in progress before raising
      :class:`WebSocketConnectionError`; 0 raises at once; None waits as long as it takes.
    - ``decode_json``: turn received text into Python objects with ``loads`` (default True);
      False returns text as ``str``. ``receive(raw=True)`` skips decoding for one call.
    - ``dumps`` / ``loads``: JSON functions (None: the standard library, compact output).
    - ``outbox``: an :class:`OutboxPolicy` to keep every frame sent since the last
      acknowledged keepalive and send it again after a reconnect, before new frames (at least
      once delivery; None: off). With it, ``send()`` during a reconnect returns at once and
      the frame goes out with the replay.
    - ``send_rate``: a :class:`~pepperpy_core.behaviours.RateLimit` for outgoing messages
      (only its ``rates`` are used): ``send()`` waits for a slot; replayed subscriptions and
      frames count too. ``RateLimit.of((5, 1.0))`` keeps under 5 messages per second.
    - ``max_connection_age``: seconds; a connection this old is replaced make-before-break
      (see :meth:`rotate`). None: never.
    - ``dedupe_key``: a function ``message -> key``; a message whose key was among the last
      10,000 seen is dropped (messages seen on both connections during a rotation or
      replayed by the server arrive once). None: every message is delivered.
    - ``backend``: ``"websockets"`` or ``"aiohttp"``: the library under the wire (None:
      ``"websockets"``). Both keep every guarantee described here.
    - ``sleep``: the async sleep used for backoff, rate and rotation waits (None:
      ``asyncio.sleep``); pass a ``FakeClock().sleep`` in tests, with ``clock=FakeClock().time``
      (None: the event loop's clock). ``random``: the jitter source (None: ``random.random``).
    """

    @keywords_checked()
    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        verify_ssl: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        max_size: int | None = 2**20,
        compression: bool = True,
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        proxy: str | bool | None = True,
        auto_reconnect: bool | None = None,
        reconnect: ReconnectPolicy | None = None,
        send_wait: float | None = 30.0,
        decode_json: bool = True,
        dumps: Callable[[Any], str] | None = None,
        loads: Callable[[str | bytes], Any] | None = None,
        outbox: OutboxPolicy | None = None,
        send_rate: RateLimit | None = None,
        max_connection_age: float | None = None,
        dedupe_key: Callable[[Any], Hashable] | None = None,
        backend: Backend | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        validate_url(url)
        backend = backend or _DEFAULT_BACKEND
        if backend not in ("websockets", "aiohttp"):
            raise ConfigurationError(
                f"WebSocket backend must be 'websockets' or 'aiohttp', got {backend!r}"
            )
        if outbox is not None and not isinstance(outbox, OutboxPolicy):
            raise ConfigurationError(f"outbox must be an OutboxPolicy or None, got {outbox!r}")
        if outbox is not None and ping_interval is None:
            raise ConfigurationError(
                "outbox needs the keepalive: a pong is what acknowledges kept frames; set "
                "ping_interval (or outbox=None)"
            )
        if send_rate is not None and not isinstance(send_rate, RateLimit):
            raise ConfigurationError(f"send_rate must be a RateLimit or None, got {send_rate!r}")
        if max_connection_age is not None and max_connection_age <= 0:
            raise ConfigurationError(
                f"WebSocket max_connection_age must be > 0 seconds or None, got "
                f"{max_connection_age}"
            )
        _check_non_negative(
            max_size=max_size,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            send_wait=send_wait,
        )
        if ssl_context is None and not verify_ssl and url.lower().startswith("wss:"):
            ssl_context = default_ssl_context(False)
        self._options = ConnectOptions(
            url=url,
            headers=dict(headers) if headers else None,
            subprotocols=tuple(subprotocols) if subprotocols else None,
            ssl_context=ssl_context,
            max_size=max_size,
            compression=compression,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            proxy=proxy,
        )
        self._safe_url = redact_url(url)
        self._auto_reconnect = auto_reconnect
        self._policy = reconnect or ReconnectPolicy()
        self._send_wait = send_wait
        self._decode_json = decode_json
        self._dumps = dumps or _dumps
        self._loads = loads or json.loads
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock = clock
        self._random = random or _random.random
        self._open: Callable[[ConnectOptions], Awaitable[Wire]] = (
            open_connection if backend == "websockets" else _open_aiohttp
        )
        self.backend = backend
        #: The frames kept for replay (None without an ``outbox`` policy).
        self.outbox: Outbox | None = Outbox(outbox) if outbox is not None else None
        self._outbox_freed = asyncio.Event()
        self._send_rate = SendRate(send_rate.rates) if send_rate is not None else None
        self._plain_send = outbox is None and send_rate is None
        self._max_age = max_connection_age
        self._dedupe_key = dedupe_key
        self._seen_keys: set[Hashable] = set()
        self._seen_order: deque[Hashable] = deque()
        self._rotate_task: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()
        self._events = EventHandlers()
        self._subscriptions: list[str | bytes] = []
        self._conn: Wire | None = None
        self._draining: Wire | None = None  # the connection a rotation replaced, until spent
        self._retiring: set[asyncio.Task[None]] = set()  # its closing handshake
        self._closing = False
        self._listening = False
        self._last_error: WebSocketError | None = None
        self._connect_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._listener_task: asyncio.Task[None] | None = None
        self.connections = 0  # successful opens so far; 2 or more means it reconnected

    # ----------------------------------------------------------------- state


    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give every subclass a signature that shows all it takes, WebSocket's options
        included (``inspect.signature(RetryWebSocket)``, ``help()``, IDEs)."""
        super().__init_subclass__(**kwargs)
        cls.__signature__ = class_signature(cls)  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """The URL with credentials redacted (safe to log or display)."""
        return self._safe_url

    @property
    def is_connected(self) -> bool:
        """Whether a connection is open right now."""
        return self._conn is not None and self._conn.is_open

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (a closed WebSocket cannot be reused)."""
        return self._closing

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose (None when not connected or none chosen)."""
        return None if self._conn is None else self._conn.subprotocol

    # ----------------------------------------------------------------- events

    @overload
    def on(self, event: str) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str, handler: H) -> H: ...

    def on(self, event: str, handler: H | None = None) -> Callable[[H], H] | H:
        """Register a sync or async handler: ``@ws.on("message")`` or ``ws.on(name, fn)``.

        Events: ``message`` (the message), ``error`` (the exception), ``connect`` (nothing),
        ``disconnect`` (the cause, None after ``close()``), ``reconnect`` (attempts taken).
        Handlers may also take no argument. An unknown name raises ``ValueError`` now.
        """
        register = decorator_for(self._events, event)
        return register if handler is None else register(handler)

    def off(self, event: str, handler: Handler) -> None:
        """Unregister a handler (ignored when it is not registered)."""
        self._events.remove(event, handler)

    # ----------------------------------------------------------------- connect

    async def connect(self) -> None:
        """Open the connection; a no-op when already open. The documented hook for
        subclasses. Subscriptions are (re)sent before anyone else can send."""
        self._check_not_closed()
        async with self._connect_lock:
            if self._conn is not None and self._conn.is_open:
                return
            conn = await _observe.traced("websocket.connect", self._safe_url,
                                         self._open(self._options))
            try:
                await self._prime(conn, replay=True)
            except ConnectionLost as lost:
                conn.abort()
                raise lost.error from None
            except BaseException:
                conn.abort()
                raise
            if self._closing:
                await conn.close()
                raise WebSocketClosedError("the WebSocket was closed while connecting")
            self._conn = conn
            self._last_error = None
            self._wake.clear()
            self.connections += 1
            self._watch(conn)
        _log.info("websocket.connected", url=self._safe_url, connections=self.connections)
        await self._events.emit("connect")

    async def _prime(self, conn: Wire, *, replay: bool) -> None:
        """Send the subscriptions on a new connection, then (``replay``) the outbox: the
        frames not acknowledged on the previous one, and any added meanwhile, in order."""
        for payload in self._subscriptions:
            await self._rate_slot()
            await conn.send(payload)
        outbox = self.outbox
        if not replay or outbox is None:
            return
        kept = outbox.after(0)
        for entry in kept:
            entry.written = False  # not on this connection yet
        last = 0
        while batch := outbox.after(last):  # frames added during the replay go out too
            for entry in batch:
                await self._rate_slot()
                await conn.send(entry.payload)
                entry.written = True
                last = entry.seq
        outbox.replayed += len(kept)
        if kept:
            _log.info("websocket.outbox_replayed", url=self._safe_url, frames=len(kept))

    async def _rate_slot(self) -> None:
        if self._send_rate is not None:
            await self._send_rate.acquire(self._now, self._sleep)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    # ----------------------------------------------------------------- rotation

    async def rotate(self) -> None:
        """Replace the connection make-before-break: open a new one, send the subscriptions
        (and any outbox frames not yet acknowledged) on it, switch sending and receiving over,
        then close the old one in the background. Receivers first read what the old one
        still holds, then the new one's messages; those both delivered during the overlap
        arrive once when ``dedupe_key`` is given. A failure to open the new connection leaves
        the old one in place and is raised."""
        self._check_not_closed()
        async with self._connect_lock:
            old = self._conn
            if old is None:
                raise WebSocketConnectionError(
                    f"not connected to {self._safe_url}: nothing to rotate"
                )
            new = await self._open(self._options)
            try:
                # The outbox goes again on the new connection, in order, before anything
                # newer: at least once even if the old one dies before acknowledging.
                await self._prime(new, replay=True)
            except ConnectionLost as lost:
                new.abort()
                raise lost.error from None
            except BaseException:
                new.abort()
                raise
            if self._closing or self._conn is not old:
                await new.close()
                self._check_not_closed()
                return
            self._draining = old  # receivers finish what it holds, then read the new one
            self._conn = new
            self.connections += 1
            self._watch(new)
        _log.info("websocket.rotated", url=self._safe_url, connections=self.connections)
        # Closed in the background: while a reader is behind, the old connection's close
        # frame waits behind unread messages, and the reader must be free to read them.
        retire = asyncio.get_running_loop().create_task(
            old.close(), name=f"pepperpy-websocket-retire {self._safe_url}"
        )
        retire.add_done_callback(_consume_outcome)
        retire.add_done_callback(self._retiring.discard)
        self._retiring.add(retire)
        await self._events.emit("connect")

    def _rotate_later(self, conn: Wire) -> asyncio.Task[None] | None:
        if self._max_age is None:
            return None
        age = self._max_age

        async def rotate_when_old() -> None:
            await self._sleep(age)
            if conn is self._conn and not self._closing:
                task = asyncio.get_running_loop().create_task(
                    self._rotate_quietly(), name=f"pepperpy-websocket-rotate {self._safe_url}"
                )
                task.add_done_callback(_consume_outcome)
                self._rotate_task = task

        return asyncio.get_running_loop().create_task(rotate_when_old())

    async def _rotate_quietly(self) -> None:
        try:
            await self.rotate()
        except WebSocketClosedError:
            return
        except Exception as exc:  # the old connection stays; the next loss reconnects
            _log.warning("websocket.rotate_failed", url=self._safe_url, error=str(exc))
            await self._events.emit("error", exc)

    async def subscribe(self, message: Any) -> None:
        """Send ``message`` now (when connected) and again after every reconnect, in the order
        subscriptions were made and before any other message."""
        payload = self._encode(message)
        async with self._connect_lock:
            self._subscriptions.append(payload)
            conn = self._conn
        if conn is not None:
            await self._rate_slot()
            await self._send_payload(payload)

    async def unsubscribe(self, message: Any, *, send: Any = None) -> None:
        """Stop replaying ``message`` after reconnects; if ``send`` is given, send it now
        (for example the server's unsubscribe request)."""
        payload = self._encode(message)
        async with self._connect_lock:
            if payload in self._subscriptions:
                self._subscriptions.remove(payload)
        if send is not None:
            await self.send(send)

    def reconnect_now(self, *, force: bool = False) -> None:
        """Skip the remaining backoff wait of a reconnect in progress. With ``force``, also
        drop the current connection so a reconnect starts at once (for example when the
        network just came back and the old socket may be dead)."""
        self._wake.set()
        if force and self._conn is not None:
            self._conn.abort()

    # ----------------------------------------------------------------- send

    async def send(self, data: Any) -> None:
        """Send one message: dict, list and other JSON values as JSON text, ``str`` as text,
        bytes as a binary frame, a pydantic model as its JSON. The documented hook.

        While a reconnect is in progress it waits up to ``send_wait`` seconds; it raises
        :class:`WebSocketClosedError` after ``close()`` and
        :class:`WebSocketConnectionError` when it cannot send. It never drops silently.
        """
        if not self._plain_send:
            await self._send_kept(self._encode(self._with_id(data)))
            return
        if type(data) in _JSON_CONTAINERS:  # _encode()'s first case, inline: once a message
            try:
                payload: str | bytes = self._dumps(data)
            except (TypeError, ValueError) as exc:
                raise _not_json(data, exc) from exc
        else:
            payload = self._encode(data)
        conn = self._conn
        if conn is None:
            await self._send_payload(payload)
            return
        try:  # hot path: connected, straight to the library
            if type(payload) is str:
                await conn.raw_send_text(payload)
            else:
                await conn.raw_send(payload)
        except conn.LOST as exc:
            await self._connection_lost(conn, conn.lost_error(exc))
            await self._send_payload(payload)

    def _with_id(self, data: Any) -> Any:
        """``data`` with the outbox's message id added (dict messages, ``id_field`` set)."""
        outbox = self.outbox
        if outbox is None or outbox.policy.id_field is None or type(data) is not dict:
            return data
        field = outbox.policy.id_field
        if field in data:
            return data
        return {**data, field: outbox.next_id()}

    async def _send_kept(self, payload: str | bytes) -> None:
        """Send with the rate limit and/or the outbox. A frame in the outbox is sent again
        after a reconnect, so a loss while reconnecting is not an error here."""
        self._check_not_closed()
        await self._rate_slot()
        outbox = self.outbox
        if outbox is None:
            await self._send_payload(payload)
            return
        await self._outbox_room(outbox, len(payload))
        entry = outbox.add(payload)
        conn = self._conn
        if conn is None:
            if self._reconnect_in_progress():
                return  # connect() replays it, in order, before anything newer
            outbox.discard(entry)  # never written anywhere: not accepted
            await self._send_payload(payload)  # raises the reason (or sends, if reconnected)
            outbox.add(payload).written = True
            return
        try:
            await conn.raw_send(payload)
        except conn.LOST as exc:
            # Kept in the outbox: replayed by the reconnect, or by the next connect().
            await self._connection_lost(conn, conn.lost_error(exc))
            return
        entry.written = True

    async def _outbox_room(self, outbox: Outbox, size: int) -> None:
        if outbox.has_room(size):
            return
        policy = outbox.policy
        if policy.when_full == "drop_oldest":
            before = outbox.dropped
            outbox.make_room(size)
            _log.warning(
                "websocket.outbox_dropped", url=self._safe_url, frames=outbox.dropped - before
            )
            return
        full = WebSocketOutboxFullError(
            f"the outbox of {self._safe_url} is full ({outbox.pending} frames, "
            f"{outbox.pending_bytes} bytes unacknowledged; max_messages="
            f"{policy.max_messages}, max_bytes={policy.max_bytes})"
        )
        if policy.when_full == "raise":
            raise full
        loop = asyncio.get_running_loop()
        deadline = None if self._send_wait is None else loop.time() + self._send_wait
        while not outbox.has_room(size):
            self._check_not_closed()
            timeout = None if deadline is None else deadline - loop.time()
            if timeout is not None and timeout <= 0:
                raise full
            self._outbox_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_freed.wait(), timeout)

    def _encode(self, data: Any) -> str | bytes:
        """``data`` as a frame's payload: text and bytes as they are, anything else as JSON.
        This runs once per message sent, so the common case (a dict or a list) comes first
        and goes straight to the encoder."""
        if type(data) in _JSON_CONTAINERS:
            try:
                return self._dumps(data)
            except (TypeError, ValueError) as exc:
                raise _not_json(data, exc) from exc
        if isinstance(data, (str, bytes)):
            return data
        if isinstance(data, (bytearray, memoryview)):
            return bytes(data)
        return self._json_text(data)

    def _json_text(self, data: Any) -> str:
        """``data`` as JSON text; pydantic models serialize themselves."""
        try:
            if type(data) not in _JSON_CONTAINERS:  # dicts and lists skip the model lookup
                model_dump_json = getattr(data, "model_dump_json", None)
                if callable(model_dump_json):
                    return str(model_dump_json())
            return self._dumps(data)
        except (TypeError, ValueError) as exc:
            raise _not_json(data, exc) from exc

    async def _send_payload(self, payload: str | bytes) -> None:
        """Send on the open connection, waiting (``send_wait``) for a reconnect in progress."""
        conn = self._conn
        if conn is not None:  # fast path: connected
            try:
                await conn.send(payload)
                return
            except ConnectionLost as lost:
                await self._connection_lost(conn, lost.error)
        deadline = None
        if self._send_wait is not None:
            deadline = asyncio.get_running_loop().time() + self._send_wait
        while True:
            conn = await self._await_connection(deadline)
            try:
                await conn.send(payload)
                return
            except ConnectionLost as lost:
                await self._connection_lost(conn, lost.error)

    # ----------------------------------------------------------------- receive

    async def receive(self, *, raw: bool = False) -> Any:
        """The next message: JSON text as Python objects (text that is not JSON goes to the
        error handlers and is skipped), other text as ``str``, binary as ``bytes``. With
        ``raw=True``, text is returned undecoded. Message handlers see it too."""
        if self._listening:
            raise WebSocketError(
                "receive() cannot be used while run()/start() is listening; "
                "register @ws.on('message') handlers instead"
            )
        return await self._receive(raw)

    async def _receive(self, raw: bool) -> Any:
        while True:
            if self._draining is not None:  # a rotation: the old connection's rest first
                data = await self._drain_old()
                if data is None:
                    continue
            else:
                conn = self._conn or await self._await_connection(None)
                try:
                    data = await conn.raw_recv()
                except conn.LOST as exc:
                    await self._connection_lost(conn, conn.lost_error(exc))
                    continue
            if not raw and self._decode_json and isinstance(data, str):
                try:
                    message = self._loads(data)
                except ValueError:
                    message = data  # text that is not JSON is still a message: a str
                except Exception as exc:  # e.g. RecursionError: JSON nested too deep
                    await self._decode_failed(data, exc)
                    message = data
            else:
                message = data
            if self._dedupe_key is not None and self._seen_before(message):
                continue
            if self._events.has("message"):
                await self._events.emit("message", message)
            return message

    async def _drain_old(self) -> str | bytes | None:
        """The next message the replaced connection still holds; None once it is spent."""
        old = self._draining
        assert old is not None
        try:
            return await old.raw_recv()
        except old.LOST:
            if self._draining is old:
                self._draining = None
            return None

    def _seen_before(self, message: Any) -> bool:
        """Whether ``dedupe_key(message)`` was among the last keys seen (and remember it)."""
        assert self._dedupe_key is not None
        try:
            key = self._dedupe_key(message)
            if key in self._seen_keys:
                return True
        except Exception as exc:  # a failing key function must not drop the message
            _log.warning("websocket.dedupe_key_failed", url=self._safe_url, error=repr(exc))
            return False
        self._seen_keys.add(key)
        self._seen_order.append(key)
        if len(self._seen_order) > _DEDUPE_MEMORY:
            self._seen_keys.discard(self._seen_order.popleft())
        return False

    async def _decode_failed(self, text: str, exc: Exception) -> None:
        error = WebSocketDecodeError(f"cannot decode received text: {exc!r}", data=text)
        _log.warning("websocket.decode_failed", url=self._safe_url, error=repr(exc))
        await self._events.emit("error", error)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        """The next message; iteration ends after ``close()`` or a normal server close
        (1000/1001) when not reconnecting, and raises on an abnormal one."""
        try:
            return await self.receive()
        except WebSocketClosedError:
            raise StopAsyncIteration from None
        except WebSocketDisconnectedError as exc:
            if exc.code in NORMAL_CLOSE_CODES:
                raise StopAsyncIteration from None
            raise

    # ----------------------------------------------------------------- listener

    async def run(self) -> None:
        """Receive and dispatch every message to the handlers until ``close()``.

        Reconnects on loss unless ``auto_reconnect=False`` (then it returns after a normal
        server close and raises after an abnormal one). Raises when reconnecting gives up.
        """
        if self._listening:
            raise WebSocketError("this WebSocket is already listening")
        self._listening = True
        try:
            await self._connect_for_listener()
            while True:
                try:
                    await self._receive(False)
                except WebSocketClosedError:
                    return
                except WebSocketDisconnectedError as exc:
                    if exc.code in NORMAL_CLOSE_CODES:
                        return
                    raise
        finally:
            self._listening = False

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a background task owned by this WebSocket (``close()`` ends it).
        Its failure goes to the error handlers; the task never ends with an exception."""
        if self._listener_task is not None and not self._listener_task.done():
            raise WebSocketError("this WebSocket is already listening")
        self._check_not_closed()
        task = asyncio.get_running_loop().create_task(
            self._run_in_background(), name=f"pepperpy-websocket-listener {self._safe_url}"
        )
        self._listener_task = task
        return task

    async def _run_in_background(self) -> None:
        try:
            await self.run()
        except WebSocketClosedError:
            return
        except Exception as exc:  # reported here, since nobody awaits this task
            _log.error("websocket.listener_failed", url=self._safe_url, error=str(exc))
            await self._events.emit("error", exc)

    async def _connect_for_listener(self) -> None:
        """Connect for run(): when reconnecting is allowed, a failed first try starts the
        reconnect loop instead of failing the listener."""
        if self._conn is not None:
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            try:
                await self.connect()
                return
            except WebSocketClosedError:
                raise
            except Exception as exc:
                if self._auto_reconnect is False:
                    raise
                _log.warning("websocket.connect_failed", url=self._safe_url, error=str(exc))
                self._start_reconnect()
        await self._await_connection(None)

    # ----------------------------------------------------------------- loss and reconnect

    def _reconnect_enabled(self) -> bool:
        return self._auto_reconnect is True or (self._auto_reconnect is None and self._listening)

    async def _connection_lost(self, conn: Wire, error: WebSocketError) -> None:
        """Handle ``conn`` breaking (once, whoever notices first): start a reconnect or raise
        ``error``. Returning means a reconnect is under way or already done."""
        if self._closing:
            raise WebSocketClosedError("the WebSocket was closed") from error
        if conn is self._conn:
            self._conn = None
            self._last_error = error
            # Start the reconnect before the handlers run, so other callers can join it.
            if self._reconnect_enabled():
                self._start_reconnect()
            _log.warning("websocket.disconnected", url=self._safe_url, error=str(error))
            await self._events.emit("disconnect", error)
            normal = isinstance(error, WebSocketDisconnectedError) and (
                error.code in NORMAL_CLOSE_CODES
            )
            if not normal or isinstance(error, MessageTooLargeError):
                await self._events.emit("error", error)
        if self._conn is None and not self._reconnect_in_progress():
            raise error from None  # our error says what happened; the library's stays behind

    def _watch(self, conn: Wire) -> None:
        """Notice a loss even when nobody is sending or receiving, so an idle client that
        reconnects does so at once instead of at its next send."""
        task = asyncio.get_running_loop().create_task(
            self._watch_connection(conn), name=f"pepperpy-websocket-watch {self._safe_url}"
        )
        task.add_done_callback(_consume_outcome)
        task.add_done_callback(self._watchers.discard)
        self._watchers.add(task)

    async def _watch_connection(self, conn: Wire) -> None:
        """Keepalive and age for ``conn`` while it lives; then report its loss."""
        children = [t for t in (self._keepalive_task(conn), self._rotate_later(conn)) if t]
        try:
            error = await conn.wait_lost()
        finally:
            for child in children:
                child.cancel()
            await asyncio.gather(*children, return_exceptions=True)
        if conn is self._conn and not self._closing and self._reconnect_enabled():
            await self._connection_lost(conn, error)

    def _keepalive_task(self, conn: Wire) -> asyncio.Task[None] | None:
        if self._options.ping_interval is None:
            return None
        return asyncio.get_running_loop().create_task(self._keepalive(conn))

    async def _keepalive(self, conn: Wire) -> None:
        """Ping ``ping_interval`` after each pong; no pong within ``ping_timeout`` drops the
        connection at once. A pong acknowledges the outbox frames written before its ping."""
        interval = self._options.ping_interval
        timeout = self._options.ping_timeout
        assert interval is not None
        while True:
            await asyncio.sleep(interval)
            mark = self.outbox.mark() if self.outbox is not None else 0
            try:
                pong = await conn.ping()
            except ConnectionLost:
                return
            try:
                await asyncio.wait_for(pong, timeout)
            except TimeoutError:
                conn.fail(f"keepalive ping timeout: no pong within {timeout:g} s")
                return
            except Exception:  # the connection closed meanwhile: the watcher reports it
                return
            if self.outbox is not None and conn is self._conn:
                self.outbox.acknowledge(mark)
                self._outbox_freed.set()

    def _reconnect_in_progress(self) -> bool:
        return self._reconnect_task is not None and not self._reconnect_task.done()

    def _start_reconnect(self) -> None:
        if self._reconnect_in_progress():
            return
        task = asyncio.get_running_loop().create_task(
            _observe.traced("websocket.reconnect", self._safe_url, self._reconnect_loop()),
            name=f"pepperpy-websocket-reconnect {self._safe_url}",
        )
        task.add_done_callback(_consume_outcome)
        self._reconnect_task = task

    async def _reconnect_loop(self) -> None:
        try:
            attempts = await retry_connect(
                self.connect,
                self._policy,
                sleep=self._backoff_wait,
                random=self._random,
                wait_first=True,
                target=self._safe_url,
            )
        except WebSocketClosedError:
            raise
        except Exception as exc:
            _log.error("websocket.reconnect_gave_up", url=self._safe_url, error=str(exc))
            raise
        _log.info("websocket.reconnected", url=self._safe_url, attempts=attempts)
        await self._events.emit("reconnect", attempts)

    async def _backoff_wait(self, seconds: float) -> None:
        """Sleep ``seconds`` through the injected sleep, ending early on reconnect_now()."""
        if self._wake.is_set():
            self._wake.clear()
            return
        if seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        sleeper = loop.create_task(self._sleep_for(seconds))
        waker = loop.create_task(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)
        self._wake.clear()

    async def _sleep_for(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def _await_connection(self, deadline: float | None) -> Wire:
        """The open connection, waiting for a reconnect in progress until ``deadline``
        (loop time; None: no limit)."""
        loop = asyncio.get_running_loop()
        while True:
            self._check_not_closed()
            if self._conn is not None:
                return self._conn
            task = self._reconnect_task
            if task is None or task.done():
                raise self._not_connected_error(task)
            timeout = None if deadline is None else deadline - loop.time()
            if timeout is not None and timeout <= 0:
                raise WebSocketConnectionError(
                    f"not connected to {self._safe_url}: still reconnecting after waiting "
                    f"{self._send_wait} s (send_wait)"
                )
            await asyncio.wait({task}, timeout=timeout)

    def _not_connected_error(self, task: asyncio.Task[None] | None) -> BaseException:
        if task is not None and not task.cancelled() and task.exception() is not None:
            return task.exception()  # type: ignore[return-value]
        if self._last_error is not None:
            return self._last_error
        return WebSocketConnectionError(f"not connected to {self._safe_url}: call connect() first")

    def _check_not_closed(self) -> None:
        if self._closing:
            raise WebSocketClosedError(f"the WebSocket to {self._safe_url} is closed")

    # ----------------------------------------------------------------- close

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection and end the background tasks this WebSocket owns.
        Idempotent; afterwards every send/receive raises :class:`WebSocketClosedError`.
        With frames in the outbox while a reconnect is under way, it first waits (up to
        ``close_timeout``) for the reconnect to deliver them; what it cannot deliver is
        reported as a ``websocket.outbox_undelivered_at_close`` warning."""
        if self._closing:
            return
        await self._let_reconnect_deliver_outbox()
        self._closing = True
        conn, self._conn = self._conn, None
        draining, self._draining = self._draining, None
        if draining is not None:
            draining.abort()
        me = asyncio.current_task()
        tasks = (
            self._reconnect_task,
            self._listener_task,
            self._rotate_task,
            *self._watchers,
        )
        owned = [t for t in tasks if t is not None]
        pending = [t for t in owned if t is not me and not t.done()]
        reconnect = self._reconnect_task
        if reconnect is not None and reconnect in pending:
            reconnect.cancel()  # stop connecting before closing what we have
        if conn is not None:
            await conn.close(code, reason)
            if self.outbox is not None:
                if conn.closed_cleanly:  # the server's close frame acknowledges everything
                    self.outbox.clear()
                elif self.outbox.pending:
                    _log.warning(
                        "websocket.outbox_unacknowledged_at_close",
                        url=self._safe_url,
                        frames=self.outbox.pending,
                    )
        elif self.outbox is not None and self.outbox.pending:
            _log.warning(
                "websocket.outbox_undelivered_at_close", url=self._safe_url,
                frames=self.outbox.pending,
            )
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._retiring:  # a rotated-out connection: aborted above, its close ends now
            await asyncio.gather(*self._retiring, return_exceptions=True)
        _log.info("websocket.closed", url=self._safe_url, code=code)
        if conn is not None:
            await self._events.emit("disconnect", None)

    async def _let_reconnect_deliver_outbox(self) -> None:
        """Frames wait in the outbox for a reconnect under way: give it up to
        ``close_timeout`` (10 s when that is None: a reconnect may retry forever) to replay
        them before closing, rather than dropping them."""
        task = self._reconnect_task
        if (
            self.outbox is None or not self.outbox.pending or task is None or task.done()
            or task is asyncio.current_task()
        ):
            return
        with contextlib.suppress(Exception):  # it failed or ran out of time: warned below
            limit = self._options.close_timeout
            await asyncio.wait_for(asyncio.shield(task), 10.0 if limit is None else limit)

    async def __aenter__(self) -> WebSocket:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closing else "open" if self.is_connected else "not connected"
        return f"<{type(self).__name__} {self._safe_url} {state}>"


async def _open_aiohttp(options: ConnectOptions) -> Wire:
    """aiohttp's client, imported when first used."""
    from pepperpy_core.websocket._aiohttp import open_connection as open_with_aiohttp

    return await open_with_aiohttp(options)


def _not_json(data: Any, exc: Exception) -> ArgumentTypeError:
    return ArgumentTypeError(f"send(data): cannot send {type(data).__name__} as JSON: {exc}")


def _check_non_negative(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and value < 0:
            raise ConfigurationError(f"WebSocket {name} must be >= 0 or None, got {value}")

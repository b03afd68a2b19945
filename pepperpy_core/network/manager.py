"""``NetworkManager``: "am I online?", a background monitor with callbacks, and one owner
for a service's network clients.

One check runs every probe concurrently, each bounded by its own timeout, and stops as soon as
the answer is known (with ``require="any"`` the first success decides). Results go through a
:class:`Hysteresis`; transitions are queued to a single dispatcher task that runs the callbacks
one at a time, outside the probing loop, so a slow callback never delays a check.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import Unpack

from pepperpy_core.config import ClientOptions, validate_config
from pepperpy_core.exceptions import ClientClosedError, ConfigurationError
from pepperpy_core.http.client import HttpClient
from pepperpy_core.logging import get_logger
from pepperpy_core.network.probes import (
    DEFAULT_TARGETS,
    Probe,
    ProbeContext,
    ProbeResult,
    parse_target,
)
from pepperpy_core.network.state import ConnectionState, Hysteresis, Transition

if TYPE_CHECKING:
    from pepperpy_core.websocket import WebSocket
    from pepperpy_core.websocket.client import WebSocketOptions

__all__ = ["NetworkManager", "NetworkManagerConfig"]

_log = get_logger("pepperpy_core.network")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: A callback: a plain function or an ``async def``; called with no argument.
Callback = Callable[[], object]
C = TypeVar("C")


class NetworkManagerConfig(BaseModel):
    """The manager's numbers, validated; units are seconds and counts of checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: float = Field(5.0, gt=0)
    timeout: float = Field(3.0, gt=0)
    offline_after: int = Field(3, ge=1)
    online_after: int = Field(2, ge=1)
    require: Literal["any", "all"] = "any"


class NetworkManager:
    """Connectivity checks and monitoring, and the owner of a service's network clients.

    Every option is keyword-only:

    - ``targets``: what to probe: strings (``"tcp://host:port"``, ``"host:port"``,
      ``"http(s)://..."``, ``"dns://name"``) or probe objects (:class:`TcpProbe`,
      :class:`HttpProbe`, :class:`DnsProbe`, or anything with ``async check(context)``).
      None: :data:`DEFAULT_TARGETS`, several well-known public endpoints.
    - ``require``: ``"any"`` (default): online when any target is up; ``"all"``: every one.
    - ``interval``: seconds between the end of one monitor check and the start of the next.
    - ``timeout``: seconds each probe may take; a slower probe counts as failed.
    - ``offline_after`` / ``online_after``: failed / successful checks in a row needed to
      change state (the first check ever decides at once).
    - ``clock``: monotonic time in seconds (None: ``time.monotonic``); latencies and state
      times use it. ``sleep``: async sleep for the waits between checks (None:
      ``asyncio.sleep``). Pass a ``FakeClock``'s ``time`` and ``sleep`` in tests; per-probe
      timeouts always run on the event loop's own clock.

    Constructing does no I/O; ``initialize()`` (or ``async with``) prepares the probe client,
    and every method calls it on demand.
    """

    def __init__(
        self,
        *,
        targets: Iterable[str | Probe] | None = None,
        require: Literal["any", "all"] = "any",
        interval: float = 5.0,
        timeout: float = 3.0,
        offline_after: int = 3,
        online_after: int = 2,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config: NetworkManagerConfig = validate_config(
            NetworkManagerConfig, type(self).__name__,
            {"interval": interval, "timeout": timeout, "offline_after": offline_after,
             "online_after": online_after, "require": require},
        )
        self._targets = _parse_targets(targets)
        self._hysteresis = Hysteresis(self.config.offline_after, self.config.online_after)
        self._clock: Clock = clock or time.monotonic
        self._sleep: Sleep = sleep or asyncio.sleep
        self._state = ConnectionState()
        self._online = asyncio.Event()
        self._check_lock = asyncio.Lock()
        self._callbacks: dict[Transition, list[Callback]] = {"disconnect": [], "reconnect": []}
        self._transitions: asyncio.Queue[Transition] = asyncio.Queue()
        self._monitor_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self._clients: list[Any] = []
        self._probe_client: HttpClient | None = None
        self._closed = False

    # ----------------------------------------------------------------- state

    @property
    def targets(self) -> tuple[Probe, ...]:
        """The probes each check runs."""
        return self._targets

    @property
    def state(self) -> ConnectionState:
        """A snapshot of the connection state (an immutable value; read it any time)."""
        return self._state

    @property
    def is_online(self) -> bool:
        """True when the (hysteresis-filtered) state is online; False when offline or unknown."""
        return self._state.online is True

    @property
    def monitoring(self) -> bool:
        """Whether the background monitor is running."""
        return self._monitor_task is not None and not self._monitor_task.done()

    @property
    def clients(self) -> tuple[Any, ...]:
        """The registered clients, in registration order."""
        return tuple(self._clients)

    @property
    def closed(self) -> bool:
        return self._closed

    # ----------------------------------------------------------------- lifecycle

    async def initialize(self) -> None:
        """Prepare the probe HTTP client (no network I/O). Idempotent; optional."""
        self._check_open()
        self._http_for_probes()

    async def __aenter__(self) -> NetworkManager:
        await self.initialize()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the monitor and the callback dispatcher, then close every registered client
        and the probe client. Idempotent; a client that fails to close is logged."""
        if self._closed:
            return
        self._closed = True
        await self.stop_monitoring()
        clients, self._clients = self._clients, []
        outcomes = await asyncio.gather(*(_close_client(c) for c in clients),
                                        return_exceptions=True)
        for client, outcome in zip(clients, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _log.error("network.client_close_failed", client=repr(client), error=str(outcome))
        probe_client, self._probe_client = self._probe_client, None
        if probe_client is not None:
            await probe_client.close()
        self._online.clear()

    aclose = close

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("NetworkManager is closed; create a new one")

    # ----------------------------------------------------------------- checks

    async def check_connection(self) -> bool:
        """Probe the targets once, now; update the state and return this check's own result
        (before hysteresis: ``is_online`` may take more checks to follow it)."""
        self._check_open()
        async with self._check_lock:
            ok, results = await self._probe_all()
            self._record(ok, results)
        return ok

    async def wait_until_online(self, timeout: float | None = None) -> bool:
        """Wait until the state is online; True then, False after ``timeout`` seconds (None:
        wait as long as it takes). Checks by itself at ``interval`` when not monitoring."""
        self._check_open()
        deadline = None if timeout is None else self._clock() + timeout
        while not self._online_now():
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                return False
            if not self.monitoring:
                await self.check_connection()
                if self._online_now():
                    break
            step = self.config.interval if remaining is None else min(self.config.interval,
                                                                      remaining)
            await self._sleep_unless_online(step)
            self._check_open()
        return True

    def _online_now(self) -> bool:
        return self.is_online  # a call, so type checkers do not keep a stale narrowing

    async def _probe_all(self) -> tuple[bool, tuple[ProbeResult, ...]]:
        context = ProbeContext(timeout=self.config.timeout, http=self._http_for_probes)
        loop = asyncio.get_running_loop()
        pending = {loop.create_task(self._run_probe(p, context)) for p in self._targets}
        results: list[ProbeResult] = []
        decisive = self.config.require == "any"  # the result that settles the check early
        try:
            while pending and not any(r.ok is decisive for r in results):
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                results.extend(task.result() for task in done)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if decisive:
            ok = any(r.ok for r in results)
        else:
            ok = len(results) == len(self._targets) and all(r.ok for r in results)
        return ok, tuple(results)

    async def _run_probe(self, probe: Probe, context: ProbeContext) -> ProbeResult:
        started = self._clock()
        try:
            await asyncio.wait_for(probe.check(context), context.timeout)
        except asyncio.TimeoutError:  # the builtin's alias only from 3.11 on
            return ProbeResult(str(probe), False, error=f"no answer within {context.timeout} s")
        except Exception as exc:  # any failure of a probe means "down", never a crash
            return ProbeResult(str(probe), False, error=_reason(exc))
        return ProbeResult(str(probe), True, latency=max(0.0, self._clock() - started))

    def _record(self, ok: bool, results: tuple[ProbeResult, ...]) -> None:
        before = self._state
        self._state, transition = self._hysteresis.apply(
            before, ok=ok, results=results, now=self._clock()
        )
        if self._state.online != before.online:
            self._announce(before.online)
        if transition == "reconnect":
            self._wake_websockets()
        if transition is not None and self._dispatch_task is not None:
            self._transitions.put_nowait(transition)

    def _announce(self, previous: bool | None) -> None:
        state = self._state
        if state.online:
            self._online.set()
            latency_ms = None if state.latency is None else round(state.latency * 1000, 2)
            _log.info("network.online", previous=previous, latency_ms=latency_ms)
        else:
            self._online.clear()
            _log.warning("network.offline", previous=previous, error=state.last_error)

    async def _sleep_unless_online(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        waiters = {
            loop.create_task(self._online.wait()),
            loop.create_task(self._sleep_for(seconds)),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _sleep_for(self, seconds: float) -> None:
        await self._sleep(seconds)

    # ----------------------------------------------------------------- monitoring

    async def monitor_connection(
        self,
        *,
        on_disconnect: Callback | None = None,
        on_reconnect: Callback | None = None,
    ) -> None:
        """Start checking every ``interval`` seconds in the background and return at once.

        ``on_disconnect`` runs when the state turns offline (including a first check that
        finds it offline), ``on_reconnect`` when it turns online again; each once per
        transition. Both may be plain functions or ``async def``. Callbacks run one at a time
        in a dispatcher task, so they never overlap; one that raises is logged and the
        monitor carries on. Calling again adds callbacks; the monitor runs once.
        """
        await self.initialize()
        if on_disconnect is not None:
            self._callbacks["disconnect"].append(on_disconnect)
        if on_reconnect is not None:
            self._callbacks["reconnect"].append(on_reconnect)
        loop = asyncio.get_running_loop()
        if self._dispatch_task is None or self._dispatch_task.done():
            self._dispatch_task = loop.create_task(
                self._dispatch(), name="pepperpy-network-callbacks"
            )
        if not self.monitoring:
            self._monitor_task = loop.create_task(self._monitor(), name="pepperpy-network-monitor")
            _log.info("network.monitor_started", targets=[str(t) for t in self._targets],
                      interval=self.config.interval)

    async def stop_monitoring(self) -> None:
        """Stop the monitor and the callback dispatcher (callbacks stay registered; a later
        ``monitor_connection()`` resumes). Transitions not yet dispatched are dropped."""
        me = asyncio.current_task()
        tasks = [t for t in (self._monitor_task, self._dispatch_task) if t is not None]
        self._monitor_task = self._dispatch_task = None
        # A callback may call close(): its own task ends by itself once the callback returns.
        others = [t for t in tasks if t is not me and not t.done()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        while not self._transitions.empty():
            self._transitions.get_nowait()

    async def _monitor(self) -> None:
        while True:
            try:
                await self.check_connection()
            except ClientClosedError:
                return
            except Exception as exc:  # a bug must not silently end monitoring
                _log.exception("network.monitor_error", error=str(exc))
            await self._sleep(self.config.interval)

    async def _dispatch(self) -> None:
        me = asyncio.current_task()
        while self._dispatch_task is me:
            transition = await self._transitions.get()
            for callback in tuple(self._callbacks[transition]):
                await _invoke(transition, callback)

    # ----------------------------------------------------------------- owned clients

    def register(self, client: C) -> C:
        """Own ``client`` (anything with ``async close()`` or ``aclose()``): ``close()``
        closes it; a client with ``reconnect_now()`` (a WebSocket) is told to reconnect at
        once when the network comes back. Returns the client."""
        self._check_open()
        if not callable(getattr(client, "aclose", None)) and not callable(
            getattr(client, "close", None)
        ):
            raise ConfigurationError(
                f"register: {type(client).__name__} has no close() or aclose() method"
            )
        if not any(existing is client for existing in self._clients):
            self._clients.append(client)
        return client

    def unregister(self, client: object) -> None:
        """Stop owning ``client`` (it stays open). Ignored when it is not registered."""
        self._clients = [c for c in self._clients if c is not client]

    def http_client(self, **options: Unpack[ClientOptions]) -> HttpClient:
        """A new :class:`HttpClient` (the same keywords, ``base_url=`` included), registered
        with this manager."""
        return self.register(HttpClient(**options))

    def websocket(self, url: str, **options: Unpack[WebSocketOptions]) -> WebSocket:
        """A new ``WebSocket`` (same arguments), registered with this manager."""
        from pepperpy_core.websocket import WebSocket  # imported on use: an optional layer

        return self.register(WebSocket(url, **options))

    def _http_for_probes(self) -> HttpClient:
        # No retries (the next check is the retry) and no redirects (a captive portal's
        # redirect must read as "offline", not be followed to its login page).
        if self._probe_client is None:
            self._check_open()
            self._probe_client = HttpClient(
                timeout=self.config.timeout, retries=0, follow_redirects=False,
                headers={"Cache-Control": "no-cache"},
            )
        return self._probe_client

    def _wake_websockets(self) -> None:
        for client in self._clients:
            reconnect_now = getattr(client, "reconnect_now", None)
            if not callable(reconnect_now) or getattr(client, "closed", False):
                continue
            if getattr(client, "is_connected", False):
                continue  # nothing to skip, and a stale wake would cut its next backoff short
            try:
                reconnect_now()
            except Exception as exc:
                _log.error("network.reconnect_now_failed", client=repr(client), error=str(exc))

    def __repr__(self) -> str:
        state = {True: "online", False: "offline", None: "unknown"}[self._state.online]
        return f"<NetworkManager {state} targets={len(self._targets)}>"


# --------------------------------------------------------------------- helpers


def _parse_targets(targets: Iterable[str | Probe] | None) -> tuple[Probe, ...]:
    if targets is None:
        return DEFAULT_TARGETS
    if isinstance(targets, str):
        raise ConfigurationError(
            f"NetworkManager: targets: pass a list, e.g. targets=[{targets!r}]"
        )
    parsed: list[Probe] = []
    for index, target in enumerate(targets):
        try:
            parsed.append(parse_target(target))
        except ConfigurationError as exc:
            raise ConfigurationError(f"NetworkManager: targets[{index}]: {exc}") from None
    if not parsed:
        raise ConfigurationError("NetworkManager: targets: must not be empty (None: defaults)")
    return tuple(parsed)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _invoke(transition: Transition, callback: Callback) -> None:
    try:
        result = callback()
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # a user's callback must never stop the monitor
        _log.exception(
            "network.callback_failed", transition=transition,
            callback=getattr(callback, "__qualname__", repr(callback)), error=str(exc),
        )


async def _close_client(client: Any) -> None:
    closer = getattr(client, "aclose", None)
    if not callable(closer):
        closer = client.close
    result = closer()
    if inspect.isawaitable(result):
        await result

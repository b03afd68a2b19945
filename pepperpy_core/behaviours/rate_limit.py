"""Rate limit: the policy (several rates, a key, wait or raise), the storage protocol with an
in-memory store, the middleware, the mixin, and the documents' ``RateLimitedClient``.

The layer sits inside retry, so every attempt that reaches the server waits for its own token,
and inside the cache, so a cache hit spends none. Counting is a sliding-window log: at most
``max_requests`` weight in *any* ``window`` seconds, which is what servers enforce (a token
bucket would let almost twice that through across one window boundary). Requests less than a
thousandth of the window apart share one log entry that expires with the latest of them, so a
log holds at most about a thousand entries whatever the rate, and the limit errs only on the
safe side (a wait at most 0.1% of the window longer than strictly needed).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from typing_extensions import Unpack

from pepperpy_core.behaviours._mixin import Clock, Sleep, TimedMixin
from pepperpy_core.behaviours.backoff import parse_retry_after
from pepperpy_core.config import ClientOptions, check_number
from pepperpy_core.exceptions import ConfigurationError, RateLimitError
from pepperpy_core.http.chain import RANK_RATE_LIMIT, CallNext, Middleware
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = [
    "MemoryRateLimitStore",
    "Rate",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitMixin",
    "RateLimitStore",
    "RateLimitedClient",
]

_log = get_logger("pepperpy_core.rate_limit")

KeyFunc = Callable[[Request], str]


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Rate:
    """At most ``max_requests`` units of weight in any ``window`` seconds."""

    max_requests: int
    window: float

    def __post_init__(self) -> None:
        if isinstance(self.max_requests, bool) or self.max_requests < 1:
            raise ConfigurationError(f"Rate.max_requests must be >= 1, got {self.max_requests}")
        if self.window <= 0:
            raise ConfigurationError(f"Rate.window must be > 0 seconds, got {self.window}")

    def __str__(self) -> str:
        return f"{self.max_requests}/{self.window:g}s"


@dataclass(frozen=True)
class RateLimit:
    """A client-side rate limit. Immutable; ``limit.with_(per="host")`` makes a changed copy.

    - ``rates``: one or more :class:`Rate` (or ``(max_requests, window)`` pairs), all enforced
      together, e.g. ``[(10, 1.0), (1200, 60.0)]``.
    - ``per``: ``"global"`` (one budget for every request), ``"host"`` (one per scheme+host+port)
      or a function ``request -> key``.
    - ``on_limit``: ``"wait"`` (default) sleeps until a token is free; ``"raise"`` raises
      :class:`~pepperpy_core.RateLimitError` with ``retry_after`` instead.
    - ``max_wait``: seconds one request may wait in total; past it ``RateLimitError`` is raised
      (``None``: no bound).
    - ``pause_statuses``: a response with one of these statuses and a ``Retry-After`` header
      pauses the whole key, for every task sharing the limiter, for that long (capped at
      ``pause_max`` seconds).
    """

    rates: tuple[Rate, ...]
    per: Literal["global", "host"] | KeyFunc = "global"
    on_limit: Literal["wait", "raise"] = "wait"
    max_wait: float | None = None
    pause_statuses: frozenset[int] = frozenset({429, 503})
    pause_max: float = 300.0
    default_weight: int = field(default=1)

    def __post_init__(self) -> None:
        rates = _normalise_rates(self.rates)
        if not rates:
            raise ConfigurationError("RateLimit needs at least one rate")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "pause_statuses", frozenset(self.pause_statuses))
        if self.on_limit not in ("wait", "raise"):
            raise ConfigurationError(f"RateLimit.on_limit must be 'wait' or 'raise', got "
                                     f"{self.on_limit!r}")
        if not (callable(self.per) or self.per in ("global", "host")):
            raise ConfigurationError("RateLimit.per must be 'global', 'host' or a function")
        if self.max_wait is not None and self.max_wait < 0:
            raise ConfigurationError("RateLimit.max_wait must be >= 0 seconds or None")
        self._checked_weight(self.default_weight)

    @classmethod
    def of(cls, *rates: Rate | tuple[int, float], **options: Any) -> RateLimit:
        """``RateLimit.of((10, 1.0), (1200, 60.0), per="host")``: several rates at once."""
        return cls(rates=tuple(_as_rate(r) for r in rates), **options)

    @classmethod
    def per_window(cls, max_requests: int, window: float, **options: Any) -> RateLimit:
        """The documents' shape: ``max_requests`` per ``window`` seconds."""
        return cls(rates=(Rate(max_requests, window),), **options)

    def with_(self, **changes: Any) -> RateLimit:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def key_for(self, request: Request) -> str:
        """The budget this request draws from."""
        if callable(self.per):
            return self.per(request)
        if self.per == "global":
            return "*"
        parts = urlsplit(request.url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"

    def weight_of(self, request: Request) -> int:
        """The request's weight (``weight=`` per request, else ``default_weight``)."""
        return self._checked_weight(request.extensions.get("weight", self.default_weight))

    def _checked_weight(self, weight: Any) -> int:
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ConfigurationError(f"weight must be an int >= 1, got {weight!r}")
        too_heavy = [r for r in self.rates if weight > r.max_requests]
        if too_heavy:
            raise ConfigurationError(
                f"weight {weight} can never pass the rate {too_heavy[0]} (max_requests too low)"
            )
        return weight


def _normalise_rates(value: Any) -> tuple[Rate, ...]:
    """A Rate, one ``(max_requests, window)`` pair, or an iterable of either."""
    if isinstance(value, Rate):
        return (value,)
    items = tuple(value)
    if len(items) == 2 and all(isinstance(x, (int, float)) for x in items):
        return (_as_rate(items),)
    return tuple(_as_rate(x) for x in items)


def _as_rate(value: Any) -> Rate:
    if isinstance(value, Rate):
        return value
    max_requests, window = value
    return Rate(int(max_requests), float(window))


# --------------------------------------------------------------------------- storage


@runtime_checkable
class RateLimitStore(Protocol):
    """Where the counts live. An in-memory store now; a shared one (Redis sorted sets) fits the
    same two calls, so the layer never changes. ``now`` comes from the layer's clock."""

    async def acquire(self, key: str, rates: Sequence[Rate], weight: int, now: float) -> float:
        """Record ``weight`` under ``key`` if every rate allows it now and the key is not
        paused, returning 0; otherwise record nothing and return the seconds to wait."""
        ...

    async def pause(self, key: str, until: float) -> None:
        """Hold every request on ``key`` until time ``until`` (a later pause wins)."""
        ...


class _Window:
    """The log of one rate under one key, oldest first: ``[latest time, weight, first time]``
    per slot of ``window / 1000`` seconds, newer than the window."""

    __slots__ = ("log", "slot", "used")

    def __init__(self, window: float) -> None:
        self.log: deque[list[float]] = deque()
        self.used = 0
        self.slot = window / 1000

    def expire(self, horizon: float) -> None:
        log = self.log
        while log and log[0][0] <= horizon:
            self.used -= int(log.popleft()[1])

    def wait_for(self, rate: Rate, weight: int, now: float) -> float:
        """Seconds until ``weight`` more fits (0 if it fits now); the log is already expired."""
        excess = self.used + weight - rate.max_requests
        if excess <= 0:
            return 0.0
        for stamp, amount, _ in self.log:  # oldest first: each expiry frees its weight
            excess -= int(amount)
            if excess <= 0:
                return stamp + rate.window - now
        return rate.window  # unreachable while weight <= max_requests


class _KeyState:
    """One key's logs (one per rate) and pause; ``rates``/``current`` remember the windows of the
    last rate set asked for, so the usual call (same limiter, same rates) does no lookups."""

    __slots__ = ("current", "paused_until", "rates", "windows")

    def __init__(self) -> None:
        self.windows: dict[tuple[int, float], _Window] = {}
        self.paused_until = 0.0
        self.rates: Sequence[Rate] | None = None
        self.current: list[tuple[_Window, Rate]] = []

    def windows_for(self, rates: Sequence[Rate]) -> list[tuple[_Window, Rate]]:
        if rates is not self.rates:  # identity: held here, so it cannot be a recycled id
            found = self.windows
            self.current = [
                (found.get((rate.max_requests, rate.window)) or found.setdefault(
                    (rate.max_requests, rate.window), _Window(rate.window)), rate)
                for rate in rates
            ]
            self.rates = rates
        return self.current


class MemoryRateLimitStore:
    """Counts in this process's memory: bounded by ``max_requests`` entries per rate and key;
    keys idle for longer than their longest window are dropped at the next sweep, which runs
    every ``sweep_every`` new log slots."""

    def __init__(self, *, sweep_every: int = 4096) -> None:
        self._keys: dict[str, _KeyState] = {}
        self._sweep_every = sweep_every
        self._since_sweep = 0

    async def acquire(self, key: str, rates: Sequence[Rate], weight: int, now: float) -> float:
        return self.acquire_now(key, rates, weight, now)

    def acquire_now(self, key: str, rates: Sequence[Rate], weight: int, now: float) -> float:
        """The synchronous body of :meth:`acquire` (it never needs to suspend)."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        if state.paused_until > now:
            return state.paused_until - now
        windows = state.current if rates is state.rates else state.windows_for(rates)
        wait = 0.0
        for window, rate in windows:
            log = window.log
            if log and log[0][0] <= now - rate.window:  # anything to expire? (seldom)
                window.expire(now - rate.window)
            if window.used + weight > rate.max_requests:
                wait = max(wait, window.wait_for(rate, weight, now))
        if wait > 0:
            return wait
        opened = False
        for window, _ in windows:  # join the newest slot, or open one
            log = window.log
            if log and now - log[-1][2] < window.slot:
                last = log[-1]
                last[0] = now
                last[1] += weight
            else:
                log.append([now, weight, now])
                opened = True
            window.used += weight
        # Memory grows only by new slots (and the keys they bring), so counting those bounds
        # it as well as counting every request would, at a fraction of the cost.
        if opened:
            self._since_sweep += 1
            if self._since_sweep >= self._sweep_every:
                self._sweep(now)
        return 0.0

    async def pause(self, key: str, until: float) -> None:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        if until > state.paused_until:
            state.paused_until = until

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key, state in list(self._keys.items()):
            for (limit, window_s), window in list(state.windows.items()):
                window.expire(now - window_s)
                if not window.log:
                    del state.windows[(limit, window_s)]
                    state.rates = None  # a window was dropped: look them up again next time
            if not state.windows and state.paused_until <= now:
                del self._keys[key]

    def __len__(self) -> int:
        """Number of (key, rate) logs held (for tests of the memory bound)."""
        return sum(len(state.windows) for state in self._keys.values())


# --------------------------------------------------------------------------- the middleware


class RateLimitMiddleware:
    """The rate-limit layer. Several instances compose (one per host plus one global).

    Waiters on one key queue in arrival order, so a burst of tasks is released one by one
    rather than all waking at once. Records ``rate_limit_wait_s`` and ``rate_limit_waits``
    (across all attempts of the request) in ``response.metadata``.
    """

    rank = RANK_RATE_LIMIT

    def __init__(
        self,
        limit: RateLimit,
        *,
        store: RateLimitStore | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.store: RateLimitStore = store if store is not None else MemoryRateLimitStore()
        # The memory store never suspends: call its synchronous body and save a coroutine.
        self._sync_store = (
            self.store if isinstance(self.store, MemoryRateLimitStore)
            and type(self.store).acquire is MemoryRateLimitStore.acquire else None
        )
        self._clock = clock
        self._sleep = sleep
        # key -> [its lock, tasks queued or holding it]; dropped when the last one leaves
        self._queues: dict[str, list[Any]] = {}

    @property
    def limit(self) -> RateLimit:
        """The :class:`RateLimit` this layer applies (may be replaced at run time)."""
        return self._limit

    @limit.setter
    def limit(self, value: RateLimit) -> None:
        self._limit = value
        self._global = value.per == "global"

    def __repr__(self) -> str:
        return f"RateLimitMiddleware({self.limit!r})"

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        limit = self._limit
        key = "*" if self._global else limit.key_for(request)
        weight = (
            limit.weight_of(request) if "weight" in request.extensions else limit.default_weight
        )
        if key in self._queues:  # others are waiting: queue behind them
            await self._queue_up(request, key, weight)
        else:
            store = self._sync_store
            wait = (
                store.acquire_now(key, limit.rates, weight, self._clock()) if store is not None
                else await self.store.acquire(key, limit.rates, weight, self._clock())
            )
            if wait > 0:
                await self._queue_up(request, key, weight)
        response = await call_next(request)
        facts = request.metadata
        if "rate_limit_waits" in facts:  # waits of this and earlier attempts
            response.metadata["rate_limit_wait_s"] = facts["rate_limit_wait_s"]
            response.metadata["rate_limit_waits"] = facts["rate_limit_waits"]
        if response.status in limit.pause_statuses:
            await self._maybe_pause(key, response)
        return response

    async def _queue_up(self, request: Request, key: str, weight: int) -> float:
        """Wait (or raise) in arrival order until a token is free for ``request``."""
        slot = self._queues.get(key)
        if slot is None:
            slot = self._queues[key] = [asyncio.Lock(), 0]
        slot[1] += 1
        try:
            async with slot[0]:
                waited = await self._wait_turn(request, key, weight)
        finally:
            slot[1] -= 1
            if not slot[1] and self._queues.get(key) is slot:
                del self._queues[key]
        request.metadata["rate_limit_wait_s"] = (
            request.metadata.get("rate_limit_wait_s", 0.0) + waited
        )
        request.metadata["rate_limit_waits"] = request.metadata.get("rate_limit_waits", 0) + 1
        return waited

    async def _wait_turn(self, request: Request, key: str, weight: int) -> float:
        waited = 0.0
        while True:
            wait = await self.store.acquire(key, self.limit.rates, weight, self._clock())
            if wait <= 0:
                return waited
            self._check_wait(request, key, waited, wait)
            _log.debug("http.rate_limit.wait", key=key, url=redact_url(request.url),
                       wait_s=round(wait, 3))
            await self._sleep(wait)
            waited += wait

    def _check_wait(self, request: Request, key: str, waited: float, wait: float) -> None:
        limit = self.limit
        if limit.on_limit == "wait" and (limit.max_wait is None or waited + wait <= limit.max_wait):
            return
        rates = ", ".join(str(r) for r in limit.rates)
        why = "limit reached" if limit.on_limit == "raise" else f"would wait past max_wait="\
            f"{limit.max_wait}s"
        raise RateLimitError(
            f"rate limit {rates} for {key!r}: {why}; retry after {wait:.3f}s",
            retry_after=wait, request=request,
        )

    async def _maybe_pause(self, key: str, response: Response) -> None:
        asked = parse_retry_after(response.headers.get("retry-after"))
        if asked is None or asked <= 0:
            return
        pause = min(asked, self.limit.pause_max)
        _log.debug("http.rate_limit.pause", key=key, status=response.status, pause_s=pause)
        await self.store.pause(key, self._clock() + pause)


# --------------------------------------------------------------------------- the mixin


class RateLimitMixin(TimedMixin):
    """Adds a rate-limit layer to a client class.

    ``rate_limit=`` (a :class:`RateLimit`, or a list of them for e.g. per-host plus global)
    overrides the class attribute ``rate_limit``; ``rate_limit_store=`` shares counts between
    clients (default: a fresh in-memory store per client).
    """

    rate_limit: RateLimit | Sequence[RateLimit] | None = None

    def __init__(
        self,
        *args: Any,
        rate_limit: RateLimit | Sequence[RateLimit] | None = None,
        rate_limit_store: RateLimitStore | None = None,
        **kwargs: Any,
    ) -> None:
        if rate_limit is not None:
            self.rate_limit = rate_limit
        self._rate_limit_store = rate_limit_store
        super().__init__(*args, **kwargs)

    def _default_layers(self) -> list[Middleware]:
        limits = self.rate_limit
        if limits is None:
            return super()._default_layers()
        store = self._rate_limit_store
        layers: list[Middleware] = [
            RateLimitMiddleware(
                limit, store=store, clock=self._clock_or(time.monotonic),
                sleep=self._sleep_or_default(),
            )
            for limit in ([limits] if isinstance(limits, RateLimit) else limits)
        ]
        return [*super()._default_layers(), *layers]


# --------------------------------------------------------------------------- the documents' class


class RateLimitedClient(RateLimitMixin, HttpClient):
    """The documents' ``RateLimitedClient(max_requests=100, window=60.0)``, improved: it waits
    for a free slot by default; ``raise_on_limit=True`` raises ``RateLimitError`` as the
    documents' example does. Every other keyword is :class:`HttpClient`'s."""

    def __init__(
        self,
        max_requests: int = 100,
        window: float = 60.0,
        *,
        raise_on_limit: bool = False,
        max_wait: float | None = None,
        per: Literal["global", "host"] = "global",
        rate_limit: RateLimit | Sequence[RateLimit] | None = None,
        rate_limit_store: RateLimitStore | None = None,
        **kwargs: Unpack[ClientOptions],
    ) -> None:
        owner = type(self).__name__
        check_number(owner, "max_requests", max_requests, wanted="an int", integer=True)
        check_number(owner, "window", window, wanted="a number of seconds")
        self.max_requests = max_requests
        self.window = window
        super().__init__(
            rate_limit=rate_limit or RateLimit.per_window(
                max_requests, window, on_limit="raise" if raise_on_limit else "wait",
                max_wait=max_wait, per=per,
            ),
            rate_limit_store=rate_limit_store, **kwargs,
        )

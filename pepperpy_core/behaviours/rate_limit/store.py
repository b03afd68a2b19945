"""Where the counts live: the :class:`RateLimitStore` protocol and the in-memory store.

Counting is a sliding-window log: at most ``max_requests`` weight in *any* ``window`` seconds,
which is what servers enforce (a token bucket would let almost twice that through across one
window boundary). Requests less than a thousandth of the window apart share one log entry that
expires with the latest of them, so a log holds at most about a thousand entries whatever the
rate, and the limit errs only on the safe side (a wait at most 0.1% of the window longer than
strictly needed).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from pepperpy_core.behaviours.rate_limit.rules import Rate

__all__ = ["HoldingRateLimitStore", "MemoryRateLimitStore", "RateLimitStore"]


@runtime_checkable
class RateLimitStore(Protocol):
    """Where the counts live. The store decides what "now" is: ``now`` is the caller's clock,
    which a store kept in this process uses (so a fake clock drives it in tests) and a shared
    store ignores in favour of one clock for every process (Redis's ``TIME``). That is also why
    pauses are given in seconds from now, never as a point in one process's time."""

    async def acquire(
        self, key: str, rates: Sequence[Rate], weight: int, now: float | None = None
    ) -> float:
        """Record ``weight`` under ``key`` if every rate allows it now and the key is not
        paused, returning 0; otherwise record nothing and return the seconds to wait."""
        ...

    async def pause(self, key: str, seconds: float, now: float | None = None) -> None:
        """Hold every request on ``key`` for ``seconds`` from now (a later end wins)."""
        ...

    async def correct(
        self, key: str, rate: Rate, used: int, reset: float | None, now: float | None = None
    ) -> None:
        """The server says at least ``used`` of ``rate`` is spent under ``key``, and (if
        ``reset`` is not None) that this spending ends ``reset`` seconds from now: raise the
        count to ``used`` if it is lower (never lower it)."""
        ...


@runtime_checkable
class HoldingRateLimitStore(RateLimitStore, Protocol):
    """A store that can count a request from its grant until a window after its answer (the
    layer then settles every request it let through). Counting from the grant alone lets a
    server see more than the quota in one of its windows when the time from grant to arrival
    varies; holding the count until the answer closes that gap (the arrival lies between)."""

    async def acquire_held(
        self, key: str, rates: Sequence[Rate], weight: int, now: float | None = None
    ) -> tuple[float, object | None]:
        """As :meth:`acquire`, and when it records the weight, a hold to :meth:`settle`."""
        ...

    async def settle(self, hold: object, now: float | None = None) -> None:
        """The request of ``hold`` has its answer: its weight counts for a window from now."""
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

    def __init__(
        self, *, sweep_every: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keys: dict[str, _KeyState] = {}
        self._sweep_every = sweep_every
        self._since_sweep = 0
        self._clock = clock  # when a caller gives no ``now``

    async def acquire(
        self, key: str, rates: Sequence[Rate], weight: int, now: float | None = None
    ) -> float:
        return self.acquire_now(key, rates, weight, self._clock() if now is None else now)

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

    async def pause(self, key: str, seconds: float, now: float | None = None) -> None:
        until = (self._clock() if now is None else now) + seconds
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        if until > state.paused_until:
            state.paused_until = until

    async def correct(
        self, key: str, rate: Rate, used: int, reset: float | None, now: float | None = None
    ) -> None:
        if now is None:
            now = self._clock()
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        window = state.windows.get((rate.max_requests, rate.window))
        if window is None:
            window = state.windows[(rate.max_requests, rate.window)] = _Window(rate.window)
            state.rates = None  # a new window: look them up again next time
        window.expire(now - rate.window)
        missing = min(used, rate.max_requests) - window.used
        if missing <= 0:
            return
        stamp = _stamp_for(now, rate.window, reset)
        log = window.log
        at = len(log)
        while at and log[at - 1][0] > stamp:  # keep the log ordered by expiry
            at -= 1
        log.insert(at, [stamp, missing, stamp])
        window.used += missing

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


def _stamp_for(now: float, window: float, reset: float | None) -> float:
    """When to date weight the server reports, so that it leaves the window ``reset`` seconds
    from now (or a whole window from now, the safe side, when the server does not say)."""
    if reset is None:
        return now
    return min(now, max(now - window + window / 1000, now + reset - window))

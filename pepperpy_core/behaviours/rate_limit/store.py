"""Where the counts live: the :class:`RateLimitStore` protocol and the in-memory store.

Counting is a sliding-window log: at most ``max_requests`` weight in *any* ``window`` seconds,
which is what servers enforce (a token bucket would let almost twice that through across one
window boundary). Requests less than a thousandth of the window apart share one log entry that
expires with the latest of them, so a log holds at most about a thousand entries whatever the
rate, and the limit errs only on the safe side (a wait at most 0.1% of the window longer than
strictly needed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pepperpy_core.behaviours.rate_limit.rules import Rate

__all__ = ["MemoryRateLimitStore", "RateLimitStore"]


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

"""Outgoing message rate for a WebSocket: the ``rates`` of a :class:`RateLimit`, enforced by
waiting. A sliding log per rate: a message may go when fewer than ``max_requests`` went in
the last ``window`` seconds. Pure decisions (:meth:`SendRate.delay`) plus a small driver."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from pepperpy_core.behaviours import Rate

__all__ = ["SendRate"]


class SendRate:
    """The send times of one client, per rate."""

    def __init__(self, rates: Sequence[Rate]) -> None:
        self._logs = [(rate, deque[float]()) for rate in rates]

    def delay(self, now: float) -> float:
        """Seconds to wait before one more message may go at ``now`` (0: at once)."""
        wait = 0.0
        for rate, log in self._logs:
            while log and log[0] <= now - rate.window:
                log.popleft()
            if len(log) >= rate.max_requests:
                wait = max(wait, log[len(log) - rate.max_requests] + rate.window - now)
        return wait

    def record(self, now: float) -> None:
        for _, log in self._logs:
            log.append(now)

    async def acquire(
        self, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        """Wait until one more message may go, and count it."""
        while (wait := self.delay(clock())) > 0:
            await sleep(wait)
        self.record(clock())

"""A fake clock for testing anything in pepperpy-core that waits.

Layers take ``clock=`` (a monotonic time source) and ``sleep=`` (an async sleep). Pass a
:class:`FakeClock`'s ``time`` and ``sleep``: sleeping advances virtual time at once, and the
clock records every wait, so a test of a 60-second backoff runs in microseconds.
"""

from __future__ import annotations

import asyncio

from pepperpy_core.exceptions import ConfigurationError

__all__ = ["FakeClock"]


class FakeClock:
    """Virtual monotonic time; ``await sleep(s)`` advances it by ``s`` and yields to the loop."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        """The current virtual time in seconds."""
        return self.now

    __call__ = time

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without sleeping."""
        if seconds < 0:
            raise ConfigurationError("FakeClock.advance(seconds): must be >= 0")
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance virtual time, and let other tasks run once."""
        seconds = max(0.0, float(seconds))
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    @property
    def total_slept(self) -> float:
        """Sum of every recorded sleep, in seconds."""
        return sum(self.sleeps)

"""Backoff shared by the HTTP retry layer, WebSocket reconnects and downloads: the arithmetic
(:func:`full_jitter`, :func:`parse_retry_after`, pure functions) and :class:`Backoff`, the one
loop state that counts retries, picks each wait and sleeps it.

Every caller keeps its own verdict (which errors or statuses are worth another attempt, where
a download resumes); :class:`Backoff` only answers "may I retry, and after how long?" the same
way for all of them. ``max_retries`` is the number of retries after the first attempt:
``max_retries=3`` is at most 4 attempts, ``0`` one attempt, None no limit.
"""

from __future__ import annotations

import asyncio
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["Backoff", "full_jitter", "parse_retry_after"]


def full_jitter(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: bool = True,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)``
    capped at ``cap``, and with full jitter a uniform draw in ``[0, that)`` (AWS's recipe, which
    spreads synchronized clients apart)."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(ceiling * random()) if jitter else float(ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP-date; None if absent or
    unparseable. A date in the past gives 0."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = now or datetime.now(timezone.utc)
        return max(0.0, (when - current).total_seconds())
    if seconds != seconds or seconds < 0:  # NaN or negative: ignore the header
        return None
    return seconds


class Backoff:
    """The retries of one operation: how many are left, how long to wait before the next one,
    and the wait itself, through an injected ``sleep`` (and ``clock``) so tests run on a fake
    clock. A new one per operation that failed once; an operation that succeeds at once never
    needs one.

    - ``max_retries``: retries after the first attempt (None: no limit).
    - ``base`` / ``cap`` / ``jitter``: the wait before retry n is :func:`full_jitter`'s.
    - ``retry_after_max``: seconds; a server that asks (``Retry-After``) for longer ends the
      retries rather than being waited for.
    - ``deadline``: seconds for all attempts and waits together, counted from ``start`` (a
      ``clock()`` reading; default: now); a wait that would end past it is not started.

    The loop, for a caller that has just seen attempt ``backoff.retries + 1`` fail::

        delay = backoff.next_delay(asked=retry_after)   # None: give up, the outcome stands
        await backoff.sleep(delay)                      # counts the retry, then try again
    """

    __slots__ = ("_clock", "_random", "_sleep", "_start", "base", "cap", "deadline", "jitter",
                 "max_retries", "retries", "retry_after_max", "waited")

    def __init__(
        self,
        max_retries: int | None,
        *,
        base: float,
        cap: float,
        jitter: bool = True,
        retry_after_max: float = math.inf,
        deadline: float | None = None,
        start: float | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.max_retries = max_retries
        self.base, self.cap, self.jitter = base, cap, jitter
        self.retry_after_max = retry_after_max
        self.deadline = deadline
        if deadline is not None and start is None:
            start = clock()
        self._start = start or 0.0
        self._sleep, self._clock, self._random = sleep, clock, random
        #: Retries started so far (so the attempt under way is ``retries + 1``).
        self.retries = 0
        #: Seconds slept so far.
        self.waited = 0.0

    @property
    def exhausted(self) -> bool:
        """Whether every retry allowed has been made."""
        return self.max_retries is not None and self.retries >= self.max_retries

    @property
    def attempts(self) -> int:
        """Attempts made so far, counting the one under way."""
        return self.retries + 1

    def next_delay(self, asked: float | None = None) -> float | None:
        """Seconds to wait before the next retry: what the server ``asked`` for (its
        ``Retry-After``, in seconds) or else the backoff. None when there is no next retry:
        the budget is spent, the server asked for more than ``retry_after_max``, or the wait
        would end past the deadline."""
        if self.exhausted:
            return None
        if asked is None:
            delay = full_jitter(self.retries + 1, base=self.base, cap=self.cap,
                                jitter=self.jitter, random=self._random)
        elif asked > self.retry_after_max:
            return None
        else:
            delay = asked
        if self.deadline is not None and self._clock() - self._start + delay > self.deadline:
            return None
        return delay

    async def sleep(self, delay: float) -> None:
        """Count the next retry and wait ``delay`` seconds (from :meth:`next_delay`) for it."""
        self.retries += 1
        self.waited += delay
        await self._sleep(delay)

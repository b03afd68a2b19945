"""The rate-limit layer: :class:`RateLimitMiddleware`. It sits inside retry, so every attempt
that reaches the server waits for its own token, and inside the cache, so a cache hit spends
none."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from pepperpy_core._backoff import parse_retry_after
from pepperpy_core.behaviours.rate_limit.announced import Announced
from pepperpy_core.behaviours.rate_limit.rules import RateLimit
from pepperpy_core.behaviours.rate_limit.store import (
    HoldingRateLimitStore,
    MemoryRateLimitStore,
    RateLimitStore,
)
from pepperpy_core.config import Clock, Sleep
from pepperpy_core.exceptions import RateLimitError
from pepperpy_core.http.chain import RANK_RATE_LIMIT, CallNext
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["RateLimitMiddleware"]

_log = get_logger("pepperpy_core.rate_limit")


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
        # A store that holds a request's count until its answer (Redis): settle each one.
        self._holding = (
            self.store if isinstance(self.store, HoldingRateLimitStore) else None
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
        hold: object | None = None
        if key in self._queues:  # others are waiting: queue behind them
            hold = await self._queue_up(request, key, weight)
        else:
            store = self._sync_store
            if store is not None:
                wait = store.acquire_now(key, limit.rates, weight, self._clock())
            else:
                wait, hold = await self._acquire(key, weight)
            if wait > 0:
                hold = await self._queue_up(request, key, weight)
        if hold is None:
            response = await call_next(request)
        else:
            try:
                response = await call_next(request)
            finally:  # answered, failed or cancelled: the count runs a window from now
                await self._settle(hold)
        facts = request.metadata
        if "rate_limit_waits" in facts:  # waits of this and earlier attempts
            response.metadata["rate_limit_wait_s"] = facts["rate_limit_wait_s"]
            response.metadata["rate_limit_waits"] = facts["rate_limit_waits"]
        if response.status in limit.pause_statuses:
            await self._maybe_pause(key, response)
        reader = limit.from_headers
        if reader is not None:
            announced = reader(response.headers)
            if announced:
                await self._follow_server(key, announced)
        return response

    async def _acquire(self, key: str, weight: int) -> tuple[float, object | None]:
        holding = self._holding
        if holding is not None:
            return await holding.acquire_held(key, self.limit.rates, weight, self._clock())
        return await self.store.acquire(key, self.limit.rates, weight, self._clock()), None

    async def _settle(self, hold: object) -> None:
        if self._holding is not None:
            await self._holding.settle(hold, self._clock())

    async def _queue_up(self, request: Request, key: str, weight: int) -> object | None:
        """Wait (or raise) in arrival order until a token is free for ``request``; the hold
        to settle, if the store gives one."""
        slot = self._queues.get(key)
        if slot is None:
            slot = self._queues[key] = [asyncio.Lock(), 0]
        slot[1] += 1
        try:
            async with slot[0]:
                waited, hold = await self._wait_turn(request, key, weight)
        finally:
            slot[1] -= 1
            if not slot[1] and self._queues.get(key) is slot:
                del self._queues[key]
        request.metadata["rate_limit_wait_s"] = (
            request.metadata.get("rate_limit_wait_s", 0.0) + waited
        )
        request.metadata["rate_limit_waits"] = request.metadata.get("rate_limit_waits", 0) + 1
        return hold

    async def _wait_turn(
        self, request: Request, key: str, weight: int
    ) -> tuple[float, object | None]:
        waited = 0.0
        while True:
            wait, hold = await self._acquire(key, weight)
            if wait <= 0:
                return waited, hold
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
        await self.store.pause(key, pause, self._clock())

    async def _follow_server(self, key: str, announced: Sequence[Announced]) -> None:
        """Count what the server says is spent (shared through the store); an exhausted quota
        with a known reset pauses the key until then."""
        limit = self.limit
        for fact in announced:
            if fact.remaining == 0 and fact.reset:
                pause = min(fact.reset, limit.pause_max)
                _log.debug("http.rate_limit.exhausted", key=key, pause_s=round(pause, 3))
                await self.store.pause(key, pause, self._clock())
            rate = limit.rate_for(fact)
            if rate is None:
                continue
            spent = fact.used if fact.used is not None else 0
            if fact.remaining is not None:
                spent = max(spent, rate.max_requests - fact.remaining)
            if spent > 0:
                await self.store.correct(key, rate, spent, fact.reset, self._clock())

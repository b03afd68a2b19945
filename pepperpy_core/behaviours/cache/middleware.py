"""The cache layer: lookups, request collapsing, revalidation, stale-if-error, invalidation."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from multidict import CIMultiDict

from pepperpy_core.behaviours._mixin import Clock
from pepperpy_core.behaviours.cache.entry import CacheEntry, make_entry, refreshed
from pepperpy_core.behaviours.cache.memory import MemoryCacheStorage
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.rules import (
    _CACHE_CONTROL,
    _NO_DIRECTIVES,
    _UNSAFE,
    ERROR_STATUSES,
    cache_key,
    parse_cache_control,
)
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.exceptions import TransportError
from pepperpy_core.http.chain import RANK_CACHE, CallNext
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["PASS_KEYS", "PASS_SECONDS", "CacheMiddleware"]

_log = get_logger("pepperpy_core.cache")

#: How long, and for how many URLs, an unstorable answer turns collapsing off (Varnish calls
#: this "hit-for-miss"): polling an uncacheable URL from many tasks must not serialise them.
PASS_SECONDS = 60.0
PASS_KEYS = 1024


class CacheMiddleware:
    """The cache layer. Tags every response it passes with ``from_cache`` and ``cache``
    (``"hit"``, ``"revalidated"``, ``"stale"``, ``"miss"`` or ``"bypass"``) in its metadata.

    ``clock`` is wall-clock seconds (entries may outlive the process). Per request,
    ``cache=False`` bypasses the cache (no read, no write); ``cache=True`` opts a POST in.

    Identical concurrent misses share one request (``CachePolicy.collapse``), except for a URL
    whose last answer could not be stored: for ``PASS_SECONDS`` its requests go out side by
    side, since queueing them behind a leader would only delay them.
    """

    rank = RANK_CACHE

    def __init__(
        self,
        policy: CachePolicy | None = None,
        *,
        storage: CacheStorage | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.policy = policy or CachePolicy()
        self.storage: CacheStorage = storage if storage is not None else MemoryCacheStorage()
        self._clock = clock
        # key -> None while a leader fetches alone, or the future its followers wait on (created
        # by the first follower, so a miss nobody shares costs no future)
        self._inflight: dict[str, asyncio.Future[CacheEntry | None] | None] = {}
        # keys whose last response could not be stored -> until when not to collapse them
        self._passes: OrderedDict[str, float] = OrderedDict()

    @property
    def storage(self) -> CacheStorage:
        return self._storage

    @storage.setter
    def storage(self, value: CacheStorage) -> None:
        self._storage = value
        # The memory LRU never suspends: its synchronous methods save a coroutine per call.
        plain = isinstance(value, MemoryCacheStorage) and all(
            getattr(type(value), name) is getattr(MemoryCacheStorage, name)
            for name in ("get", "set", "delete")
        )
        self._memory = value if plain and isinstance(value, MemoryCacheStorage) else None
        # A shared storage may lock a miss across processes; it hears when the fetch is over.
        self._release_fetch = getattr(value, "release_fetch", None)

    def __repr__(self) -> str:
        return f"CacheMiddleware({self.policy!r}, storage={type(self.storage).__name__})"

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        control = request.header_view.get(_CACHE_CONTROL)
        directives = parse_cache_control(control) if control else _NO_DIRECTIVES
        if not self.policy.applies_to(request, directives):
            response = await call_next(request)
            response.metadata.setdefault("from_cache", False)
            response.metadata.setdefault("cache", "bypass")
            await self._invalidate_after(request, response)
            return response
        key = cache_key(request)
        memory = self._memory
        entry = memory.get_now(key) if memory is not None else await self.storage.get(key)
        if entry is not None:
            if not entry.matches(request):
                entry = None
            elif "no-cache" not in directives:
                now = self._clock()
                if entry.is_fresh(now):
                    return entry.to_response(request, now, "hit")
        inflight = self._inflight
        collapse = self.policy.collapse
        if collapse and self._passes:
            until = self._passes.get(key)
            if until is not None:
                if until > self._clock():
                    collapse = False  # unstorable lately: no queueing behind a leader
                else:
                    del self._passes[key]
        if collapse and key in inflight:
            shared = await asyncio.shield(self._follow(key))
            if shared is not None and shared.matches(request):
                return shared.to_response(request, self._clock(), "hit")
            response, _ = await self._fetch(request, key, entry, call_next)
            return response
        if collapse:  # lead: identical requests arriving meanwhile await this one's result
            inflight[key] = None
        stored: CacheEntry | None = None
        try:
            if entry is not None:
                response, stored = await self._fetch(request, key, entry, call_next)
                return response
            # A plain miss, inline: nothing to revalidate, nothing stale to fall back on.
            response = await call_next(request)
            stored = make_entry(request, response, self.policy, self._clock())
            if stored is not None:
                if memory is not None:
                    memory.set_now(key, stored)
                else:
                    await self.storage.set(key, stored)
                if self._passes:
                    self._passes.pop(key, None)
            elif collapse:
                self._mark_pass(key)
            response.metadata["from_cache"] = False
            response.metadata["cache"] = "miss"
            return response
        finally:
            if self._release_fetch is not None:
                await self._release_fetch(key)
            if collapse:
                followers = inflight.pop(key)
                if followers is not None:  # never an exception: followers then fetch themselves
                    followers.set_result(stored)

    def _mark_pass(self, key: str) -> None:
        """Remember that ``key`` answered with something unstorable: for a while, identical
        requests go out side by side instead of queueing behind one that will not be stored."""
        passes = self._passes
        passes[key] = self._clock() + PASS_SECONDS
        passes.move_to_end(key)
        if len(passes) > PASS_KEYS:
            passes.popitem(last=False)

    def _follow(self, key: str) -> asyncio.Future[CacheEntry | None]:
        pending = self._inflight[key]
        if pending is None:
            pending = self._inflight[key] = asyncio.get_running_loop().create_future()
        return pending

    async def _fetch(
        self, request: Request, key: str, entry: CacheEntry | None, call_next: CallNext
    ) -> tuple[Response, CacheEntry | None]:
        outgoing = request
        if entry is not None and entry.validators():
            headers = CIMultiDict(request.headers)
            headers.update(entry.validators())
            # Shares metadata, so retry/rate-limit facts land where metrics reads them.
            outgoing = request.copy_with(headers=headers, metadata=request.metadata)
        try:
            response = await call_next(outgoing)
        except TransportError:
            if entry is not None and entry.usable_on_error(self._clock()):
                return self._stale(request, entry), None
            raise
        return await self._store(request, key, entry, response)

    async def _store(
        self, request: Request, key: str, entry: CacheEntry | None, response: Response
    ) -> tuple[Response, CacheEntry | None]:
        now = self._clock()
        if entry is not None and response.status == 304:
            entry = refreshed(entry, response, self.policy, now)
            await self.storage.set(key, entry)
            served = entry.to_response(request, now, "revalidated")
            _carry_facts(response, served)
            return served, entry
        if entry is not None and response.status in ERROR_STATUSES and entry.usable_on_error(now):
            await response.aclose()
            return self._stale(request, entry, response), None
        new = make_entry(request, response, self.policy, now)
        if new is not None:
            await self.storage.set(key, new)
        elif entry is not None:
            await self.storage.delete(key)
        response.metadata["from_cache"] = False
        response.metadata["cache"] = "miss"
        return response, new

    def _stale(
        self, request: Request, entry: CacheEntry, failed: Response | None = None
    ) -> Response:
        _log.warning("http.cache.stale_if_error", url=redact_url(request.url))
        served = entry.to_response(request, self._clock(), "stale")
        if failed is not None:
            _carry_facts(failed, served)
        return served

    async def _invalidate_after(self, request: Request, response: Response) -> None:
        """A successful unsafe request makes stored GET/HEAD answers for its URL stale."""
        if request.method in _UNSAFE and response.status < 400:
            for method in ("GET", "HEAD"):
                await self.storage.delete(cache_key(request.copy_with(method=method)))


def _carry_facts(source: Response, target: Response) -> None:
    """Copy what inner layers recorded (attempts, waits) onto the response served instead."""
    for name, value in source.metadata.items():
        if name not in ("from_cache", "cache"):
            target.metadata[name] = value

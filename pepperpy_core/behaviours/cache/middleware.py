"""The cache layer: lookups, request collapsing, revalidation, stale-if-error, invalidation."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from pepperpy_core.behaviours.cache.entry import CacheEntry, make_entry, refreshed
from pepperpy_core.behaviours.cache.memory import MemoryCacheStorage
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.rules import (
    _CACHE_CONTROL,
    _IF_MODIFIED_SINCE,
    _IF_NONE_MATCH,
    _NO_DIRECTIVES,
    _PRAGMA,
    _SAFE,
    ERROR_STATUSES,
    _must_revalidate,
    cache_key,
    delta_seconds,
    request_directives,
    vary_value,
)
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.config import Clock
from pepperpy_core.exceptions import PepperPyError, TransportError
from pepperpy_core.http.chain import RANK_CACHE, CallNext
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["PASS_KEYS", "PASS_SECONDS", "CacheMiddleware"]

_log = get_logger("pepperpy_core.cache")

#: How long, and for how many URLs, an unstorable answer turns collapsing off (Varnish calls
#: this "hit-for-miss"): polling an uncacheable URL from many tasks must not serialise them.
PASS_SECONDS = 60.0
PASS_KEYS = 1024
#: Request directives that rule out serving stale while revalidating.
_REFUSE_STALE = frozenset({"no-cache", "max-age", "min-fresh"})
#: How many ``Vary`` variants of one URL are kept besides the latest.
MAX_VARIANTS = 16


class CacheMiddleware:
    """The cache layer. Tags every response it passes with ``from_cache`` and ``cache``
    (``"hit"``, ``"revalidated"``, ``"stale"``, ``"miss"`` or ``"bypass"``) in its metadata.

    ``clock`` is wall-clock seconds (entries may outlive the process). Per request,
    ``cache=False`` bypasses the cache (no read, no write); ``cache=True`` opts a POST in.

    ``stale-while-revalidate`` refreshes run as background tasks: ``CachedClient`` (and the
    classes built on it) cancel them on close; a layer you add yourself to
    ``HttpClient(middlewares=[...])`` wants ``await layer.aclose()`` before the client closes.

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
        # keys being refreshed in the background (stale-while-revalidate) -> the task
        self._refreshing: dict[str, asyncio.Task[None]] = {}

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
        view = request.header_view
        if _CACHE_CONTROL in view or _PRAGMA in view:
            directives = request_directives(view)
        else:  # the common case: two lookups, no call
            directives = _NO_DIRECTIVES
        if not self.policy.applies_to(request, directives):
            response = await call_next(request)
            response.metadata.setdefault("from_cache", False)
            response.metadata.setdefault("cache", "bypass")
            await self._invalidate_after(request, response)
            return response
        key = cache_key(request, shared=self.policy.shared)
        memory = self._memory
        primary = memory.get_now(key) if memory is not None else await self.storage.get(key)
        entry = primary
        if primary is not None and not primary.matches(request):
            entry = await self._variant(key, primary, request)
        if entry is not None:
            now = self._clock()
            fresh = entry.initial_age + now - entry.stored_at < entry.lifetime  # is_fresh()
            if fresh and (not directives or _fresh_enough(entry, directives, now)):
                if (_IF_NONE_MATCH in view or _IF_MODIFIED_SINCE in view) and (
                    entry.not_modified_for(request)
                ):
                    return entry.to_not_modified(request, now)
                return entry.to_response(request, now, "hit")
            if self._stale_allowed(entry, directives, now):
                return entry.to_response(request, now, "stale")
            window = entry.revalidate_window(self.policy)
            if (window is not None and entry.staleness(now) <= window
                    and not _REFUSE_STALE.intersection(directives)):
                self._refresh_later(request, key, entry, primary, call_next)
                return entry.to_response(request, now, "stale")
        if "only-if-cached" in directives:
            return _gateway_timeout(request)
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
            response, _ = await self._fetch(request, key, entry, primary, call_next)
            return response
        if collapse:  # lead: identical requests arriving meanwhile await this one's result
            inflight[key] = None
        stored: CacheEntry | None = None
        try:
            if entry is not None:
                response, stored = await self._fetch(request, key, entry, primary, call_next)
                return response
            # A plain miss, inline: nothing to revalidate, nothing stale to fall back on.
            response = await call_next(request)
            stored = make_entry(request, response, self.policy, self._clock())
            if stored is not None:
                if memory is not None and primary is None:
                    memory.set_now(key, stored)
                else:
                    await self._put(key, stored, primary)
                if self._passes:
                    self._passes.pop(key, None)
            elif collapse:
                self._mark_pass(key)
            response.metadata["from_cache"] = False
            response.metadata["cache"] = "miss"
            if request.method not in _SAFE:
                await self._invalidate_after(request, response)
            return response
        finally:
            if self._release_fetch is not None:
                await self._release_fetch(key)
            if collapse:
                followers = inflight.pop(key)
                if followers is not None:  # never an exception: followers then fetch themselves
                    followers.set_result(stored)

    def _stale_allowed(
        self, entry: CacheEntry, directives: Mapping[str, str | None], now: float
    ) -> bool:
        """Whether the request's ``max-stale`` lets this stale entry be served as it is."""
        if "max-stale" not in directives or "no-cache" in directives:
            return False
        if "no-cache" in entry.directives or _must_revalidate(entry.directives, self.policy):
            return False
        limit = directives["max-stale"]
        if limit is None:
            return True
        seconds = delta_seconds(limit)
        return seconds is not None and entry.staleness(now) <= seconds

    async def _variant(self, key: str, primary: CacheEntry, request: Request) -> CacheEntry | None:
        """The stored variant of ``key`` whose ``Vary`` headers match ``request``, if any."""
        if not primary.variants:
            return None
        digest = _variant_digest(primary.vary, request)
        if digest not in primary.variants:
            return None
        found = await self.storage.get(f"{key} vary:{digest}")
        return found if found is not None and found.matches(request) else None

    async def _put(self, key: str, new: CacheEntry, primary: CacheEntry | None) -> None:
        """Store ``new`` as the entry for ``key``; the variant it displaces (another ``Vary``
        match of the same URL) moves to a key of its own, up to ``MAX_VARIANTS`` of them."""
        if primary is not None and new.vary and [n for n, _ in primary.vary] == [
            n for n, _ in new.vary
        ]:
            old_digest = _variant_digest(primary.vary)
            new_digest = _variant_digest(new.vary)
            if old_digest != new_digest:
                await self.storage.set(f"{key} vary:{old_digest}", replace(primary, variants=()))
                kept = (old_digest, *(d for d in primary.variants if d != new_digest))
                new = replace(new, variants=kept[:MAX_VARIANTS])
            else:
                new = replace(new, variants=primary.variants)
        await self.storage.set(key, new)

    def _refresh_later(
        self, request: Request, key: str, entry: CacheEntry, primary: CacheEntry | None,
        call_next: CallNext,
    ) -> None:
        """Revalidate ``entry`` in the background (``stale-while-revalidate``), once per key."""
        if key in self._refreshing:
            return
        task = asyncio.get_running_loop().create_task(
            self._refresh(request.copy_with(), key, entry, primary, call_next)
        )
        self._refreshing[key] = task
        task.add_done_callback(lambda _: self._refreshing.pop(key, None))

    async def _refresh(
        self, request: Request, key: str, entry: CacheEntry, primary: CacheEntry | None,
        call_next: CallNext,
    ) -> None:
        try:
            response, _ = await self._fetch(request, key, entry, primary, call_next)
            await response.aclose()
        except Exception as error:  # the stale entry stays; the next request tries again
            level = _log.debug if isinstance(error, PepperPyError) else _log.warning
            level("http.cache.refresh_failed", url=redact_url(request.url),
                  error=type(error).__name__)

    async def aclose(self) -> None:
        """Cancel background refreshes still running (the client calls this on close)."""
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
        self, request: Request, key: str, entry: CacheEntry | None, primary: CacheEntry | None,
        call_next: CallNext,
    ) -> tuple[Response, CacheEntry | None]:
        outgoing = request
        own = _is_conditional(request)  # the client's own validators go out as they are
        if entry is not None and not own and entry.validators():
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
        return await self._store(request, key, entry, primary, response, own)

    async def _store(
        self, request: Request, key: str, entry: CacheEntry | None, primary: CacheEntry | None,
        response: Response, own: bool,
    ) -> tuple[Response, CacheEntry | None]:
        now = self._clock()
        if entry is not None and response.status == 304:
            if own:  # the client asked: it gets the 304; the entry is refreshed if it is the one
                if _same_etag(entry, response):
                    await self._put(key, refreshed(entry, response, self.policy, now), primary)
                response.metadata["from_cache"] = False
                response.metadata["cache"] = "miss"
                return response, None
            entry = refreshed(entry, response, self.policy, now)
            await self._put(key, entry, primary)
            served = entry.to_response(request, now, "revalidated")
            _carry_facts(response, served)
            return served, entry
        if entry is not None and response.status in ERROR_STATUSES and entry.usable_on_error(now):
            await response.aclose()
            return self._stale(request, entry, response), None
        new = make_entry(request, response, self.policy, now)
        if new is not None:
            await self._put(key, new, primary)
        elif entry is not None and entry is primary:
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
        """A successful unsafe request (any method but GET, HEAD, OPTIONS, TRACE) makes the
        stored answers for its URL, and for its ``Location`` / ``Content-Location`` when they
        are of the same origin, stale (RFC 9111 section 4.4)."""
        if request.method in _SAFE or response.status >= 400:
            return
        target = URL(request.url)
        urls = {str(target)}
        for name in ("Location", "Content-Location"):
            for value in response.headers.getall(name, []):
                try:
                    other = target.join(URL(value.strip()))
                except ValueError:
                    continue
                if other.origin() == target.origin():
                    urls.add(str(other))
        anonymous = request.copy_with()
        anonymous.headers.popall("Authorization", None)
        for url in urls:
            for method in ("GET", "HEAD"):
                for who in (request, anonymous):
                    await self.storage.delete(
                        cache_key(who.copy_with(method=method, url=url), shared=self.policy.shared)
                    )


def _carry_facts(source: Response, target: Response) -> None:
    """Copy what inner layers recorded (attempts, waits) onto the response served instead."""
    for name, value in source.metadata.items():
        if name not in ("from_cache", "cache"):
            target.metadata[name] = value


def _fresh_enough(entry: CacheEntry, directives: Mapping[str, str | None], now: float) -> bool:
    """Whether the request's own ``no-cache``, ``max-age`` and ``min-fresh`` accept this fresh
    entry (RFC 9111 section 5.2.1); an invalid value refuses it."""
    if not directives:
        return True
    if "no-cache" in directives:
        return False
    if "max-age" in directives:
        limit = delta_seconds(directives["max-age"])
        if limit is None or entry.age(now) > limit:
            return False
    if "min-fresh" in directives:
        wanted = delta_seconds(directives["min-fresh"])
        if wanted is None or -entry.staleness(now) < wanted:
            return False
    return True


def _is_conditional(request: Request) -> bool:
    headers = request.header_view
    return _IF_NONE_MATCH in headers or _IF_MODIFIED_SINCE in headers


def _same_etag(entry: CacheEntry, response: Response) -> bool:
    etag = response.headers.get("ETag")
    return etag is not None and etag == entry.header_map.get("ETag")


def _variant_digest(
    vary: tuple[tuple[str, str | None], ...], request: Request | None = None
) -> str:
    """A short digest naming one ``Vary`` variant: the stored values, or the request's values
    of the same headers."""
    if request is None:
        values = [value for _, value in vary]
    else:
        values = [vary_value(request.header_view, name) for name, _ in vary]
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:24]


def _gateway_timeout(request: Request) -> Response:
    """What ``only-if-cached`` gets when nothing usable is stored (RFC 9111 section 5.2.1.7)."""
    response = Response._received(
        504, CIMultiDictProxy(CIMultiDict()), request.url, "Gateway Timeout", request, None
    )
    response._body = b""
    response.metadata = {"from_cache": False, "cache": "miss", "attempts": 0}
    return response

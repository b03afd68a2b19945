"""An HTTP cache storage on Redis: one cache for every process that uses the same ``prefix``.

Each entry is one Redis string ``{prefix}cache:{digest}`` (the digest is a SHA-256 of the cache
key, so neither URLs, query strings nor credential digests appear in key names), holding the
entry's facts as JSON, a newline, and the body. It expires when the entry stops being usable:
its remaining freshness plus its ``stale-if-error`` allowance; an entry that can be revalidated
(``ETag`` / ``Last-Modified``) is kept ``keep_validatable`` seconds at least. An entry is kept
with its ``Vary`` headers and served only to requests that match them.

Identical misses in several processes become one origin request: the first ``get`` that misses
takes a short lock ``{prefix}cache:{digest}:lock`` (``SET NX PX`` with a random token) and
fetches; the others wait until the entry is stored (then serve it) or the lock is gone (then
fetch themselves). The lock is released by the ``set`` / ``delete`` that follows, or by
``release_fetch``; at worst it expires after ``lock_timeout`` seconds.

Needs the ``redis`` extra: ``pip install "pepperpy-core[redis]"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import secrets
import time
from typing import TYPE_CHECKING

from pepperpy_core.behaviours.cache import CacheEntry
from pepperpy_core.behaviours.rate_limit.redis_store import redis_client, unreachable_errors
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.logging import get_logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisCacheStorage"]

_log = get_logger("pepperpy_core.cache")

# Delete the lock only if it still holds our token (it may have expired and been retaken).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_FIRST_POLL = 0.002
_MAX_POLL = 0.05


class RedisCacheStorage:
    """Cache entries on a Redis server, as ``storage=`` / ``cache_storage=``.

    - ``url`` / ``client=``: the server, or a ``redis.asyncio.Redis`` you own (not closed here);
    - ``prefix``: put before every key name;
    - ``max_bytes``: an entry larger than this (body plus headers) is not stored; the total is
      bounded by the entries' TTLs and the server's ``maxmemory`` policy;
    - ``keep_validatable``: seconds at least to keep an entry that can be revalidated;
    - ``lock_timeout``: seconds at most that other processes wait for one fetching a miss;
    - ``timeout``: seconds to wait for Redis. While Redis cannot be reached the cache is
      skipped (every request goes to the origin) and a warning is logged once.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "pepperpy:",
        max_bytes: int = 8 * 1024 * 1024,
        client: Redis | None = None,
        keep_validatable: float = 600.0,
        lock_timeout: float = 10.0,
        timeout: float = 0.5,
    ) -> None:
        if max_bytes < 1:
            raise ConfigurationError(
                f"RedisCacheStorage(max_bytes=...) must be >= 1, got {max_bytes}"
            )
        if lock_timeout <= 0 or timeout <= 0 or keep_validatable < 0:
            raise ConfigurationError(
                "RedisCacheStorage: lock_timeout and timeout must be > 0, keep_validatable >= 0"
            )
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.keep_validatable = keep_validatable
        self.lock_timeout = lock_timeout
        self._owned = client is None
        self._redis: Redis = client if client is not None else redis_client(url, timeout)
        self._release = self._redis.register_script(_RELEASE)
        self._errors = unreachable_errors()
        self._locks: dict[str, str] = {}  # name -> our token, for locks this storage holds
        self._down = False

    def __repr__(self) -> str:
        return f"RedisCacheStorage(prefix={self.prefix!r}, max_bytes={self.max_bytes})"

    def name_for(self, key: str) -> str:
        """The Redis key that holds the entry for cache key ``key``."""
        return f"{self.prefix}cache:{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    # -- the storage protocol

    async def get(self, key: str) -> CacheEntry | None:
        name = self.name_for(key)
        try:
            raw = await self._redis.get(name)
            if raw is not None:
                return self._ok(_decode(raw))
            token = secrets.token_hex(8)
            if await self._redis.set(name + ":lock", token, nx=True,
                                     px=math.ceil(self.lock_timeout * 1000)):
                self._locks[name] = token
                return self._ok(None)  # ours to fetch
            return self._ok(await self._wait_for(name))
        except self._errors as exc:
            self._unreachable(exc)
            return None

    async def set(self, key: str, entry: CacheEntry) -> None:
        name = self.name_for(key)
        try:
            ttl = self._ttl(entry)
            if entry.size <= self.max_bytes and ttl > 0:
                await self._redis.set(name, _encode(entry), px=math.ceil(ttl * 1000))
            await self._unlock(name)
            self._ok(None)
        except self._errors as exc:
            self._unreachable(exc)

    async def delete(self, key: str) -> None:
        name = self.name_for(key)
        try:
            await self._redis.delete(name)
            await self._unlock(name)
            self._ok(None)
        except self._errors as exc:
            self._unreachable(exc)

    async def release_fetch(self, key: str) -> None:
        """The fetch this process took the lock for is over, stored or not: let waiters go."""
        try:
            await self._unlock(self.name_for(key))
        except self._errors as exc:
            self._unreachable(exc)

    async def clear(self) -> None:
        """Delete every entry under this prefix (other prefixes are left alone)."""
        batch: list[bytes] = []
        async for name in self._redis.scan_iter(match=f"{self.prefix}cache:*", count=500):
            batch.append(name)
            if len(batch) >= 500:
                await self._redis.delete(*batch)
                batch.clear()
        if batch:
            await self._redis.delete(*batch)
        self._locks.clear()

    async def aclose(self) -> None:
        """Close the connection pool if this storage made it (entries stay on the server)."""
        if self._owned:
            await self._redis.aclose()

    # -- helpers

    def _ttl(self, entry: CacheEntry) -> float:
        usable = entry.lifetime - entry.initial_age - max(0.0, time.time() - entry.stored_at)
        usable += entry.stale_if_error or 0.0
        if entry.validators():
            usable = max(usable, self.keep_validatable)
        return usable

    async def _unlock(self, name: str) -> None:
        token = self._locks.pop(name, None)
        if token is not None:
            await self._release(keys=[name + ":lock"], args=[token])

    async def _wait_for(self, name: str) -> CacheEntry | None:
        """Another process is fetching ``name``: its entry once stored, or None when its lock
        is gone without one (then the caller fetches)."""
        deadline = time.monotonic() + self.lock_timeout
        pause = _FIRST_POLL
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_POLL)
            raw, locked = await self._redis.mget(name, name + ":lock")
            if raw is not None:
                return _decode(raw)
            if locked is None:
                return None
        return None

    def _ok(self, value: CacheEntry | None) -> CacheEntry | None:
        if self._down:
            self._down = False
            _log.info("cache.redis.reachable", prefix=self.prefix)
        return value

    def _unreachable(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            _log.warning("cache.redis.unreachable", error=type(exc).__name__,
                         effect="requests go to the origin uncached")


def _encode(entry: CacheEntry) -> bytes:
    meta = json.dumps({
        "status": entry.status, "headers": entry.headers, "url": entry.url,
        "reason": entry.reason, "stored_at": entry.stored_at, "lifetime": entry.lifetime,
        "initial_age": entry.initial_age, "vary": entry.vary,
        "stale_if_error": entry.stale_if_error,
    }, separators=(",", ":")).encode()
    return meta + b"\n" + entry.body


def _decode(raw: bytes | str) -> CacheEntry:
    if isinstance(raw, str):  # a client made with decode_responses=True
        raw = raw.encode("utf-8", "surrogateescape")
    meta, _, body = raw.partition(b"\n")
    data = json.loads(meta)
    return CacheEntry(
        status=data["status"], headers=tuple((k, v) for k, v in data["headers"]), body=body,
        url=data["url"], reason=data["reason"], stored_at=data["stored_at"],
        lifetime=data["lifetime"], initial_age=data["initial_age"],
        vary=tuple((k, v) for k, v in data["vary"]), stale_if_error=data["stale_if_error"],
    )

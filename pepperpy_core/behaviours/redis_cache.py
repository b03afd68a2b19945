"""An HTTP cache storage on Redis: one cache for every process that uses the same ``prefix``.

Each entry is one Redis string ``{<prefix>cache}:<digest>`` (the digest is a SHA-256 of the
cache key, so neither URLs, query strings nor credential digests appear in key names), holding
the entry's facts as JSON, a newline, and the body. It expires when the entry stops being
usable: its remaining freshness plus the longer of its ``stale-if-error`` and
``stale-while-revalidate`` allowances; an entry that can be revalidated (``ETag`` /
``Last-Modified``) is kept ``keep_validatable`` seconds at least. Each ``Vary`` variant the
cache layer stores is an entry of its own.

``max_bytes`` bounds the bytes of every entry under the prefix together: an index
``{<prefix>cache}:index`` (a sorted set of entries by expiry) and ``{<prefix>cache}:sizes`` (a
hash of their sizes, and the total) are kept by the same script that stores an entry, and when
the total passes ``max_bytes`` the entries closest to expiring are dropped first. ``{<prefix>
cache}`` is a hash tag: on a Redis Cluster a prefix's cache lives in one slot (use several
prefixes to spread several caches).

Identical misses in several processes become one origin request: the first ``get`` that misses
takes a short lock ``{<prefix>cache}:<digest>:lock`` (``SET NX PX`` with a random token) and
fetches; the others wait until the entry is stored (then serve it) or the lock is gone (then
fetch themselves). The lock is released by the ``set`` / ``delete`` that follows, or by
``release_fetch`` (which also releases every other lock the same task took while fetching); at
worst it expires after ``lock_timeout`` seconds.

While Redis cannot be reached the cache is skipped (every request goes to the origin, Redis is
tried again every ``retry_every`` seconds) and a warning is logged once; nothing raises.

Needs the ``redis`` extra: ``pip install "pepperpy-core[redis]"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from typing import TYPE_CHECKING

from pepperpy_core.behaviours.cache import CacheEntry, parse_cache_control
from pepperpy_core.behaviours.cache.serializer import _entry_from_row, _entry_meta
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

# Forget index members that have expired (their keys went by TTL) and the size of ``name``;
# the total of what is left. Shared by _SET and _DELETE.
_FORGET = """
local function forget(index, sizes, name, now)
  local total = tonumber(redis.call('HGET', sizes, 'total') or '0')
  local gone = redis.call('ZRANGEBYSCORE', index, '-inf', now)
  gone[#gone + 1] = name
  for _, m in ipairs(gone) do
    local size = redis.call('HGET', sizes, m)
    if size then
      total = total - tonumber(size)
      redis.call('HDEL', sizes, m)
      redis.call('ZREM', index, m)
    end
  end
  if total < 0 then total = 0 end
  return total
end
local function keep(index, sizes, total, now)
  redis.call('HSET', sizes, 'total', total)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if last then
    local ttl = math.max(1, tonumber(last) - now) + 1000
    redis.call('PEXPIRE', index, ttl)
    redis.call('PEXPIRE', sizes, ttl)
  else
    redis.call('DEL', index, sizes)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: name, lock, index, sizes. ARGV: value, TTL ms, max bytes, lock token ('' if none).
# Stores the entry (unless it alone passes max bytes), drops those closest to expiring while
# the total passes max bytes, releases our lock. Answer: the entries dropped.
_SET = _FORGET + """
local name, index, sizes = KEYS[1], KEYS[3], KEYS[4]
local size, ttl, max = #ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local total = forget(index, sizes, name, now)
local dropped = 0
if size <= max then
  redis.call('SET', name, ARGV[1], 'PX', ttl)
  redis.call('ZADD', index, now + ttl, name)
  redis.call('HSET', sizes, name, size)
  total = total + size
  local at = 0
  while total > max do  -- the one just stored stays
    local oldest = redis.call('ZRANGE', index, at, at)[1]
    if oldest == name then
      at = 1
    else
      total = total - tonumber(redis.call('HGET', sizes, oldest))
      redis.call('DEL', oldest)
      redis.call('HDEL', sizes, oldest)
      redis.call('ZREM', index, oldest)
      dropped = dropped + 1
    end
  end
else
  redis.call('DEL', name)
end
keep(index, sizes, total, now)
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return dropped
"""

# KEYS: name, lock, index, sizes. ARGV: lock token ('' if none).
_DELETE = _FORGET + """
local total = forget(KEYS[3], KEYS[4], KEYS[1], now)
redis.call('DEL', KEYS[1])
keep(KEYS[3], KEYS[4], total, now)
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 0
"""

_FIRST_POLL = 0.002
_MAX_POLL = 0.05


class RedisCacheStorage:
    """Cache entries on a Redis server, as ``storage=`` / ``cache_storage=``.

    - ``url`` / ``client=``: the server, or a ``redis.asyncio.Redis`` you own (not closed here);
    - ``prefix``: put before every key name;
    - ``max_bytes``: bytes of every entry under the prefix together (facts plus body, as
      stored); an entry larger than this alone is not stored;
    - ``keep_validatable``: seconds at least to keep an entry that can be revalidated;
    - ``lock_timeout``: seconds at most that other processes wait for one fetching a miss;
    - ``timeout``: seconds to wait for Redis; ``retry_every``: seconds to skip Redis after it
      could not be reached (the cache is then skipped, with one warning).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "pepperpy:",
        max_bytes: int = 64 * 1024 * 1024,
        client: Redis | None = None,
        keep_validatable: float = 600.0,
        lock_timeout: float = 10.0,
        timeout: float = 0.5,
        retry_every: float = 1.0,
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigurationError(
                f"RedisCacheStorage(max_bytes=...) must be an int >= 1, got {max_bytes!r}"
            )
        if lock_timeout <= 0 or timeout <= 0 or keep_validatable < 0 or retry_every < 0:
            raise ConfigurationError(
                "RedisCacheStorage: lock_timeout and timeout must be > 0, keep_validatable "
                "and retry_every >= 0"
            )
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.keep_validatable = keep_validatable
        self.lock_timeout = lock_timeout
        self.retry_every = retry_every
        self._owned = client is None
        self._redis: Redis = client if client is not None else redis_client(url, timeout)
        self._release = self._redis.register_script(_RELEASE)
        self._set = self._redis.register_script(_SET)
        self._delete = self._redis.register_script(_DELETE)
        self._errors = unreachable_errors()
        self._base = f"{{{prefix}cache}}"
        self._index = [self._base + ":index", self._base + ":sizes"]
        # name -> (our token, the task that took it), for locks this storage holds
        self._locks: dict[str, tuple[str, asyncio.Task[object] | None]] = {}
        self._down_until: float | None = None  # monotonic time to try Redis again
        #: How many times Redis became unreachable.
        self.outages = 0

    def __repr__(self) -> str:
        return f"RedisCacheStorage(prefix={self.prefix!r}, max_bytes={self.max_bytes})"

    def name_for(self, key: str) -> str:
        """The Redis key that holds the entry for cache key ``key``."""
        return f"{self._base}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    # -- the storage protocol

    async def get(self, key: str) -> CacheEntry | None:
        """The entry, or None on a miss. A miss takes the fetch lock when free (this process
        fetches); when another process holds it, waits for its entry (or for the lock to go)."""
        if not self._use_redis():
            return None
        name = self.name_for(key)
        try:
            raw = await self._redis.get(name)
            if raw is not None:
                return self._ok(_decode(raw))
            token = secrets.token_hex(8)
            if await self._redis.set(name + ":lock", token, nx=True,
                                     px=math.ceil(self.lock_timeout * 1000)):
                self._locks[name] = (token, asyncio.current_task())
                return self._ok(None)  # ours to fetch
            return self._ok(await self._wait_for(name))
        except self._errors as exc:
            self._unreachable(exc)
            return None

    async def set(self, key: str, entry: CacheEntry) -> None:
        name = self.name_for(key)
        token, _ = self._locks.pop(name, ("", None))
        ttl = self._ttl(entry)
        if not self._use_redis():
            return
        try:
            if ttl > 0:
                await self._set(keys=[name, name + ":lock", *self._index],
                                args=[_encode(entry), math.ceil(ttl * 1000), self.max_bytes,
                                      token])
            else:
                await self._delete(keys=[name, name + ":lock", *self._index], args=[token])
            self._ok(None)
        except self._errors as exc:
            self._unreachable(exc)

    async def delete(self, key: str) -> None:
        name = self.name_for(key)
        token, _ = self._locks.pop(name, ("", None))
        if not self._use_redis():
            return
        try:
            await self._delete(keys=[name, name + ":lock", *self._index], args=[token])
            self._ok(None)
        except self._errors as exc:
            self._unreachable(exc)

    async def release_fetch(self, key: str) -> None:
        """The fetch this process took the lock for is over, stored or not: let waiters go
        (this key's lock, and any other the same task took meanwhile, e.g. for a variant)."""
        name = self.name_for(key)
        task = asyncio.current_task()
        names = [n for n, (_, owner) in self._locks.items() if n == name or owner is task]
        try:
            for held in names:
                token, _ = self._locks.pop(held)
                if self._use_redis():
                    await self._release(keys=[held + ":lock"], args=[token])
        except self._errors as exc:
            self._unreachable(exc)

    async def clear(self) -> None:
        """Delete every entry under this prefix (other prefixes are left alone)."""
        batch: list[bytes] = []
        async for name in self._redis.scan_iter(match=_glob_escape(self._base) + ":*",
                                                count=500):
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

    async def __aenter__(self) -> RedisCacheStorage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- helpers

    def _ttl(self, entry: CacheEntry) -> float:
        """Seconds the entry stays usable: freshness left plus the longer stale allowance."""
        usable = entry.lifetime - entry.initial_age - max(0.0, time.time() - entry.stored_at)
        directives = parse_cache_control(", ".join(entry.header_map.getall("cache-control", [])))
        allowances = [entry.stale_if_error or 0.0, _seconds(directives.get("stale-if-error")),
                      _seconds(directives.get("stale-while-revalidate"))]
        usable += max(allowances)
        if entry.validators():
            usable = max(usable, self.keep_validatable)
        return usable

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

    def _use_redis(self) -> bool:
        down = self._down_until
        return down is None or time.monotonic() >= down

    def _ok(self, value: CacheEntry | None) -> CacheEntry | None:
        if self._down_until is not None:
            self._down_until = None
            _log.info("cache.redis.reachable", prefix=self.prefix)
        return value

    def _unreachable(self, exc: BaseException) -> None:
        if self._down_until is None:
            self.outages += 1
            _log.warning("cache.redis.unreachable", error=type(exc).__name__,
                         effect="requests go to the origin uncached",
                         retry_every_s=self.retry_every)
        self._down_until = time.monotonic() + self.retry_every


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 0.0
    except ValueError:
        return 0.0


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _encode(entry: CacheEntry) -> bytes:
    return _entry_meta(entry).encode() + b"\n" + entry.body


def _decode(raw: bytes | str) -> CacheEntry:
    if isinstance(raw, str):  # a client made with decode_responses=True
        raw = raw.encode("utf-8", "surrogateescape")
    meta, _, body = raw.partition(b"\n")
    return _entry_from_row(meta.decode(), body)

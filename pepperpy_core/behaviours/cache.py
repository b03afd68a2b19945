"""Cache: the policy, stored entries and their freshness (RFC 9111, private cache), the storages
(memory LRU and SQLite), the middleware, the mixin, and the documents' ``CachedClient``.

The layer sits outside retry and rate limit: a hit costs no token and is never retried, and a
revalidation is one logical request that the inner layers treat like any other.

Cache key: the method, the full URL (query included, exactly as sent), a SHA-256 digest of the
``Authorization`` header (two credentials never share an entry) and, for an opted-in POST, a
digest of the body; the SQLite storage keeps only a digest of the whole key. Headers named
by the response's ``Vary`` are stored with the entry and must match for a hit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timezone
from email.utils import parsedate_to_datetime
from os import PathLike, fspath
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping, istr
from typing_extensions import Unpack

from pepperpy_core.behaviours._mixin import Clock, TimedMixin
from pepperpy_core.config import ClientOptions, check_number
from pepperpy_core.exceptions import ConfigurationError, TransportError
from pepperpy_core.http.chain import RANK_CACHE, CallNext, Middleware
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = [
    "CacheEntry",
    "CacheMiddleware",
    "CacheMixin",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "MemoryCacheStorage",
    "SQLiteCacheStorage",
    "cache_key",
    "parse_cache_control",
]

_log = get_logger("pepperpy_core.cache")

#: Statuses a cache may store without explicit freshness (RFC 9110 §15.1), plus validators.
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
#: Statuses for which a stale entry with ``stale-if-error`` is served instead.
ERROR_STATUSES = frozenset({500, 502, 503, 504})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "age"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Case-insensitive names made once: a lookup with them skips lower-casing the name each time.
_CACHE_CONTROL = istr("Cache-Control")
_AUTHORIZATION = istr("Authorization")
_VARY = istr("Vary")
_ETAG = istr("ETag")
_LAST_MODIFIED = istr("Last-Modified")
_EXPIRES = istr("Expires")
_AGE = istr("Age")
#: How long, and for how many URLs, an unstorable answer turns collapsing off (Varnish calls
#: this "hit-for-miss"): polling an uncacheable URL from many tasks must not serialise them.
PASS_SECONDS = 60.0
PASS_KEYS = 1024
_NO_DIRECTIVES: Mapping[str, str | None] = MappingProxyType({})


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class CachePolicy:
    """What the cache stores and for how long. Immutable; ``policy.with_(ttl=60)`` copies.

    - ``ttl``: seconds a 200/203 response with no freshness information of its own (no
      ``max-age``, no ``Expires``) stays fresh; ``None``: such responses are only stored when
      they carry a validator (``ETag``/``Last-Modified``), and then always revalidated.
      Explicit headers always win over ``ttl``.
    - ``methods``: methods whose responses are cached (GET and HEAD).
    - ``cache_post``: also cache POST, with a digest of the body in the key (opt-in; also per
      request with ``cache=True``).
    - ``stale_if_error``: seconds past expiry a stored response may stand in for a failed
      request (connection error or 500/502/503/504) when the response itself did not say
      (``stale-if-error=N`` in its ``Cache-Control`` wins); ``None``: only when it says so.
    - ``collapse``: identical concurrent misses share one network request.
    """

    ttl: float | None = None
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    cache_post: bool = False
    stale_if_error: float | None = None
    collapse: bool = True

    def __post_init__(self) -> None:
        if self.ttl is not None and self.ttl < 0:
            raise ConfigurationError(f"CachePolicy.ttl must be >= 0 seconds or None: {self.ttl}")
        if self.stale_if_error is not None and self.stale_if_error < 0:
            raise ConfigurationError("CachePolicy.stale_if_error must be >= 0 seconds or None")
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    def with_(self, **changes: Any) -> CachePolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def applies_to(
        self, request: Request, directives: Mapping[str, str | None] | None = None
    ) -> bool:
        """Whether this request may be answered from, or stored in, the cache
        (``directives``: its ``Cache-Control``, when the caller has parsed it already)."""
        wanted = request.extensions.get("cache") if request.extensions else None
        if wanted is False or request.stream or request.files:
            return False
        if directives is None:
            directives = parse_cache_control(request.header_view.get(_CACHE_CONTROL))
        if "no-store" in directives:
            return False
        if request.method == "POST":
            body_is_bytes = request.body is None or isinstance(request.body, bytes)
            return (self.cache_post or wanted is True) and body_is_bytes
        return request.method in self.methods


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """``Cache-Control`` directives, names lower-cased (``{"max-age": "60", "no-cache": None}``)."""
    directives: dict[str, str | None] = {}
    if not value:
        return directives
    for part in value.split(","):
        name, eq, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"') if eq else None
    return directives


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(int(value))) if value is not None else None
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def cache_key(request: Request) -> str:
    """The entry's key: method and URL, plus SHA-256 digests of the ``Authorization`` header
    and (POST) the body, so neither credentials nor bodies are ever stored in a key."""
    key = f"{request.method} {request.url}"
    auth = request.header_view.get(_AUTHORIZATION)
    if auth:
        key += " auth:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    if request.method == "POST":
        body = request.body if isinstance(request.body, bytes) else b""
        key += " body:" + hashlib.sha256(body).hexdigest()
    return key


# --------------------------------------------------------------------------- stored entries


@dataclass
class CacheEntry:
    """One stored response and what is needed to judge its freshness. Times are wall-clock
    seconds (``time.time()``), so an entry persisted in SQLite stays meaningful after a restart.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    url: str
    reason: str
    stored_at: float
    lifetime: float  # seconds fresh after storing (0: always revalidate)
    initial_age: float = 0.0  # the Age the response already had
    vary: tuple[tuple[str, str | None], ...] = ()
    stale_if_error: float | None = None
    _proxy: CIMultiDictProxy[str] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Approximate bytes held (body plus headers)."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200

    @property
    def header_map(self) -> CIMultiDictProxy[str]:
        if self._proxy is None:
            self._proxy = CIMultiDictProxy(CIMultiDict(self.headers))
        return self._proxy

    def age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.initial_age + now - self.stored_at < self.lifetime

    def usable_on_error(self, now: float) -> bool:
        """Whether ``stale-if-error`` lets this entry stand in for a failure now."""
        return self.stale_if_error is not None and (
            self.age(now) - self.lifetime <= self.stale_if_error
        )

    def matches(self, request: Request) -> bool:
        """Whether the request's ``Vary`` headers equal those stored."""
        if not self.vary:
            return True
        return all(_joined(request.header_view, name) == value for name, value in self.vary)

    def validators(self) -> dict[str, str]:
        """Conditional-request headers that revalidate this entry."""
        found: dict[str, str] = {}
        etag = self.header_map.get("etag")
        if etag:
            found["If-None-Match"] = etag
        modified = self.header_map.get("last-modified")
        if modified:
            found["If-Modified-Since"] = modified
        return found

    def to_response(self, request: Request, now: float, how: str) -> Response:
        """A live-looking :class:`Response` for ``request``, tagged ``from_cache``."""
        headers = self.header_map.copy()  # a copy of the parsed headers: cheaper than anew
        headers["Age"] = str(int(self.age(now)))
        response = Response._received(
            self.status, CIMultiDictProxy(headers), self.url, self.reason, request, None
        )
        response._body = self.body
        response.metadata = {"from_cache": True, "cache": how, "attempts": 0}
        return response


def _joined(headers: MultiMapping[str], name: str) -> str | None:
    values = headers.getall(name, [])
    return ", ".join(values) if values else None


def _stored_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP)


def _lifetime(
    headers: Mapping[str, str], directives: Mapping[str, str | None], status: int,
    policy: CachePolicy, now: float,
) -> float | None:
    """Seconds fresh (RFC 9111 §4.2.1), ``ttl`` for a bare 200/203, or None if unknown."""
    if "no-cache" in directives:
        return 0.0
    max_age = _seconds(directives.get("max-age")) if "max-age" in directives else None
    if max_age is not None:
        return max_age
    if _EXPIRES in headers:
        expires = _http_date(headers.get(_EXPIRES))
        if expires is None:  # an invalid Expires means "already expired"
            return 0.0
        date = _http_date(headers.get("date")) or now
        return max(0.0, expires - date)
    if policy.ttl is not None and status in (200, 203):
        return policy.ttl
    return None


def make_entry(
    request: Request, response: Response, policy: CachePolicy, now: float
) -> CacheEntry | None:
    """The entry to store for ``response``, or None when it must not (or cannot) be stored."""
    if response.status not in CACHEABLE_STATUSES or response.is_streaming:
        return None
    headers = response.headers
    control = headers.get(_CACHE_CONTROL)
    if control is None and (
        (policy.ttl is None or response.status not in (200, 203))
        and _EXPIRES not in headers and _ETAG not in headers and _LAST_MODIFIED not in headers
    ):
        return None  # nothing says how long it stays fresh, nothing to revalidate it with
    directives = parse_cache_control(control) if control else {}
    if "no-store" in directives:
        return None
    vary = headers.get(_VARY)
    vary_names = [v.strip() for v in vary.split(",") if v.strip()] if vary else []
    if "*" in vary_names:
        return None
    lifetime = _lifetime(headers, directives, response.status, policy, now)
    has_validator = _ETAG in headers or _LAST_MODIFIED in headers
    if lifetime is None or (lifetime == 0 and not has_validator):
        if not has_validator:
            return None
        lifetime = 0.0
    return CacheEntry(
        status=response.status,
        headers=_stored_headers(headers.items()),
        body=response.content,
        url=response.url or request.url,
        reason=response.reason,
        stored_at=now,
        lifetime=lifetime,
        initial_age=_seconds(headers.get(_AGE)) or 0.0,
        vary=tuple((name.lower(), _joined(request.header_view, name)) for name in vary_names),
        stale_if_error=_stale_allowance(directives, policy),
    )


def _stale_allowance(directives: Mapping[str, str | None], policy: CachePolicy) -> float | None:
    if "must-revalidate" in directives or "proxy-revalidate" in directives:
        return None
    if "stale-if-error" in directives:
        return _seconds(directives["stale-if-error"])
    return policy.stale_if_error


def refreshed(entry: CacheEntry, response: Response, policy: CachePolicy, now: float) -> CacheEntry:
    """``entry`` updated by a 304: the new headers replace the stored ones (RFC 9111 §4.3.4)."""
    merged = CIMultiDict(entry.headers)
    for name in {k.lower() for k in response.headers}:
        if name in _HOP_BY_HOP or name in ("content-length", "content-encoding"):
            continue
        merged.popall(name, None)
        for value in response.headers.getall(name):
            merged.add(name, value)
    directives = parse_cache_control(merged.get("cache-control"))
    lifetime = _lifetime(merged, directives, entry.status, policy, now)
    return replace(
        entry, headers=tuple(merged.items()), stored_at=now, lifetime=lifetime or 0.0,
        initial_age=_seconds(response.headers.get("age")) or 0.0,
        stale_if_error=_stale_allowance(directives, policy), _proxy=None,
    )


# --------------------------------------------------------------------------- storages


@runtime_checkable
class CacheStorage(Protocol):
    """Where entries live; each storage bounds itself."""

    async def get(self, key: str) -> CacheEntry | None: ...

    async def set(self, key: str, entry: CacheEntry) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCacheStorage:
    """An in-process LRU bounded by ``max_entries`` and ``max_bytes`` (bodies plus headers);
    an entry larger than ``max_bytes`` alone is not stored."""

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ConfigurationError("MemoryCacheStorage: max_entries and max_bytes must be >= 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> CacheEntry | None:
        return self.get_now(key)

    async def set(self, key: str, entry: CacheEntry) -> None:
        self.set_now(key, entry)

    async def delete(self, key: str) -> None:
        self.delete_now(key)

    # The memory storage never suspends; the cache layer calls these directly.
    def get_now(self, key: str) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def set_now(self, key: str, entry: CacheEntry) -> None:
        self.delete_now(key)
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def delete_now(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size

    async def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    async def aclose(self) -> None:
        await self.clear()


class SQLiteCacheStorage:
    """A persistent cache in one SQLite file (survives a restart), LRU-bounded like the memory
    storage. Each operation runs in a worker thread so the event loop never waits on the disk.
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, meta TEXT NOT NULL, "
        "body BLOB NOT NULL, size INTEGER NOT NULL, used INTEGER NOT NULL)"
    )

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        max_entries: int = 10_000,
        max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.path = Path(fspath(path))
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache may lose the last write on a crash
        self._db.execute(self._SCHEMA)
        row = self._db.execute("SELECT COALESCE(MAX(used), 0) FROM entries").fetchone()
        self._tick = int(row[0])

    def _run(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            if self._db is None:
                raise RuntimeError("SQLiteCacheStorage is closed")
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def _next_tick(self) -> int:
        self._tick += 1
        return self._tick

    def _get(self, key: str) -> CacheEntry | None:
        rows = self._run("SELECT meta, body FROM entries WHERE key = ?", key)
        if not rows:
            return None
        self._run("UPDATE entries SET used = ? WHERE key = ?", self._next_tick(), key)
        return _entry_from_row(rows[0][0], rows[0][1])

    def _set(self, key: str, entry: CacheEntry) -> None:
        if entry.size > self.max_bytes:
            self._run("DELETE FROM entries WHERE key = ?", key)
            return
        self._run(
            "INSERT OR REPLACE INTO entries (key, meta, body, size, used) VALUES (?, ?, ?, ?, ?)",
            key, _entry_meta(entry), entry.body, entry.size, self._next_tick(),
        )
        self._evict()

    def _evict(self) -> None:
        count, total = self._run("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries")[0]
        while count > self.max_entries or total > self.max_bytes:
            key, size = self._run("SELECT key, size FROM entries ORDER BY used LIMIT 1")[0]
            self._run("DELETE FROM entries WHERE key = ?", key)
            count, total = count - 1, total - size

    # Keys are stored as SHA-256 digests: a URL may carry an API key in its query string.
    async def get(self, key: str) -> CacheEntry | None:
        return await asyncio.to_thread(self._get, self._digest(key))

    async def set(self, key: str, entry: CacheEntry) -> None:
        await asyncio.to_thread(self._set, self._digest(key), entry)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM entries WHERE key = ?", self._digest(key))

    async def clear(self) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM entries")

    async def aclose(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()


def _entry_meta(entry: CacheEntry) -> str:
    return json.dumps({
        "status": entry.status, "headers": entry.headers, "url": entry.url,
        "reason": entry.reason, "stored_at": entry.stored_at, "lifetime": entry.lifetime,
        "initial_age": entry.initial_age, "vary": entry.vary,
        "stale_if_error": entry.stale_if_error,
    })


def _entry_from_row(meta: str, body: bytes) -> CacheEntry:
    data = json.loads(meta)
    return CacheEntry(
        status=data["status"], headers=tuple(tuple(h) for h in data["headers"]),
        body=bytes(body), url=data["url"], reason=data["reason"], stored_at=data["stored_at"],
        lifetime=data["lifetime"], initial_age=data["initial_age"],
        vary=tuple(tuple(v) for v in data["vary"]), stale_if_error=data["stale_if_error"],
    )


# --------------------------------------------------------------------------- the middleware


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
        _log.debug("http.cache.stale_if_error", url=redact_url(request.url))
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


# --------------------------------------------------------------------------- the mixin


class CacheMixin(TimedMixin):
    """Adds a cache layer to a client class. ``cache_policy=`` overrides the class attribute
    ``cache_policy``; ``cache_storage=`` picks the storage (default: a memory LRU owned and
    closed by the client; a storage passed in is left open for its other users)."""

    cache_policy: CachePolicy | None = CachePolicy()
    #: Bounds of the default memory storage.
    cache_max_entries: int = 1024
    cache_max_bytes: int = 64 * 1024 * 1024

    def __init__(
        self,
        *args: Any,
        cache_policy: CachePolicy | None = None,
        cache_storage: CacheStorage | None = None,
        **kwargs: Any,
    ) -> None:
        if cache_policy is not None:
            self.cache_policy = cache_policy
        self._owns_cache_storage = cache_storage is None
        self.cache: CacheStorage = cache_storage or MemoryCacheStorage(
            max_entries=self.cache_max_entries, max_bytes=self.cache_max_bytes
        )
        super().__init__(*args, **kwargs)

    def _default_layers(self) -> list[Middleware]:
        if self.cache_policy is None:
            return super()._default_layers()
        layer = CacheMiddleware(
            self.cache_policy, storage=self.cache, clock=self._clock_or(time.time)
        )
        return [*super()._default_layers(), layer]

    async def close(self) -> None:
        """Close the client, then the cache storage if the client created it."""
        await super().close()
        if self._owns_cache_storage:
            await self.cache.aclose()

    aclose = close


# --------------------------------------------------------------------------- the documents' class


class CachedClient(CacheMixin, HttpClient):
    """The documents' ``CachedClient(cache_ttl=300.0)``, improved: ``get`` still returns a
    :class:`Response` (``await response.json()`` gives the data), server cache headers are
    honoured, memory is bounded, and ``cache_ttl`` covers APIs that send no cache headers.

    ``storage=`` a :class:`SQLiteCacheStorage` for a cache that survives restarts;
    ``max_entries``/``max_bytes`` bound the default memory storage.
    """

    def __init__(
        self,
        cache_ttl: float = 300.0,
        *,
        storage: CacheStorage | None = None,
        max_entries: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        cache_policy: CachePolicy | None = None,
        **kwargs: Unpack[ClientOptions],
    ) -> None:
        check_number(type(self).__name__, "cache_ttl", cache_ttl, wanted="a number of seconds")
        self.cache_ttl = cache_ttl
        self.cache_max_entries = max_entries
        self.cache_max_bytes = max_bytes
        super().__init__(
            cache_policy=cache_policy or CachePolicy(ttl=cache_ttl), cache_storage=storage,
            **kwargs,
        )

"""Behaviours built on the HTTP client's chain: retry, rate limit, cache, metrics, and the
process's event counters.

Each module reads the same way: the pure policy, the middleware, and a ready-made class
(``CachedClient``, ``RateLimitedClient``, ``MetricsClient``; retry is every ``HttpClient``'s).
The ready-made classes compose by inheritance, and the chain orders their layers by rank,
whatever the order of the bases::

    metrics -> cache -> retry -> rate limit -> (your layers) -> transport

The names load on first use (PEP 562): ``RateLimit`` does not bring in the cache's storages.
"""

from typing import TYPE_CHECKING

from pepperpy_core._lazy import DEPRECATED, lazy_exports

if TYPE_CHECKING:
    from pepperpy_core.behaviours.cache import (
        CachedClient,
        CacheEntry,
        CacheMiddleware,
        CachePolicy,
        CacheStorage,
        MemoryCacheStorage,
        SQLiteCacheStorage,
    )
    from pepperpy_core.behaviours.counters import EventCounters
    from pepperpy_core.behaviours.metrics import (
        HttpMetrics,
        MetricsClient,
        MetricsMiddleware,
    )
    from pepperpy_core.behaviours.otel import OpenTelemetry
    from pepperpy_core.behaviours.rate_limit import (
        Announced,
        MemoryRateLimitStore,
        Rate,
        RateLimit,
        RateLimitedClient,
        RateLimitMiddleware,
        RateLimitStore,
        RedisRateLimitStore,
    )
    from pepperpy_core.behaviours.redis_cache import RedisCacheStorage
    from pepperpy_core.behaviours.retry import (
        RetryMiddleware,
        RetryPolicy,
    )

#: Each public name and the module it is loaded from on first use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "pepperpy_core.behaviours.cache": (
        "CachedClient", "CacheEntry", "CacheMiddleware", "CachePolicy",
        "CacheStorage", "MemoryCacheStorage", "SQLiteCacheStorage",
    ),
    "pepperpy_core.behaviours.counters": (
        "EventCounters",
    ),
    "pepperpy_core.behaviours.metrics": (
        "HttpMetrics", "MetricsClient", "MetricsMiddleware",
    ),
    "pepperpy_core.behaviours.otel": (
        "OpenTelemetry",
    ),
    "pepperpy_core.behaviours.rate_limit": (
        "Announced", "MemoryRateLimitStore", "Rate", "RateLimit", "RateLimitedClient",
        "RateLimitMiddleware", "RateLimitStore", "RedisRateLimitStore",
    ),
    "pepperpy_core.behaviours.redis_cache": (
        "RedisCacheStorage",
    ),
    "pepperpy_core.behaviours.retry": (
        "RetryMiddleware", "RetryPolicy",
    ),
}

__all__ = [
    "Announced",
    "CacheEntry",
    "CacheMiddleware",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "EventCounters",
    "HttpMetrics",
    "MemoryCacheStorage",
    "MemoryRateLimitStore",
    "MetricsClient",
    "MetricsMiddleware",
    "OpenTelemetry",
    "Rate",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitStore",
    "RateLimitedClient",
    "RedisCacheStorage",
    "RedisRateLimitStore",
    "RetryMiddleware",
    "RetryPolicy",
    "SQLiteCacheStorage",
]

if not TYPE_CHECKING:  # type checkers read the imports above instead
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), DEPRECATED)

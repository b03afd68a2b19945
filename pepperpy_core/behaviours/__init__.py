"""Behaviours built on the HTTP client's chain: retry, rate limit, cache, metrics, and the
process's event counters.

Each module reads the same way: the pure policy, the middleware, the mixin, and a ready-made
class. The chain orders them by rank, whatever the order of the bases::

    metrics -> cache -> retry -> rate limit -> (your layers) -> transport

The names load on first use (PEP 562): ``RateLimit`` does not bring in the cache's storages.
"""

from typing import TYPE_CHECKING

from pepperpy_core._lazy import lazy_exports

if TYPE_CHECKING:
    from pepperpy_core.behaviours.cache import (
        CachedClient,
        CacheEntry,
        CacheMiddleware,
        CacheMixin,
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
        MetricsMixin,
    )
    from pepperpy_core.behaviours.otel import OpenTelemetry
    from pepperpy_core.behaviours.rate_limit import (
        Announced,
        MemoryRateLimitStore,
        Rate,
        RateLimit,
        RateLimitedClient,
        RateLimitMiddleware,
        RateLimitMixin,
        RateLimitStore,
        RedisRateLimitStore,
    )
    from pepperpy_core.behaviours.redis_cache import RedisCacheStorage
    from pepperpy_core.behaviours.retry import (
        RetryMiddleware,
        RetryMixin,
        RetryPolicy,
    )

#: Each public name and the module it is loaded from on first use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "pepperpy_core.behaviours.cache": (
        "CachedClient", "CacheEntry", "CacheMiddleware", "CacheMixin", "CachePolicy",
        "CacheStorage", "MemoryCacheStorage", "SQLiteCacheStorage",
    ),
    "pepperpy_core.behaviours.counters": (
        "EventCounters",
    ),
    "pepperpy_core.behaviours.metrics": (
        "HttpMetrics", "MetricsClient", "MetricsMiddleware", "MetricsMixin",
    ),
    "pepperpy_core.behaviours.otel": (
        "OpenTelemetry",
    ),
    "pepperpy_core.behaviours.rate_limit": (
        "Announced", "MemoryRateLimitStore", "Rate", "RateLimit", "RateLimitedClient",
        "RateLimitMiddleware", "RateLimitMixin", "RateLimitStore", "RedisRateLimitStore",
    ),
    "pepperpy_core.behaviours.redis_cache": (
        "RedisCacheStorage",
    ),
    "pepperpy_core.behaviours.retry": (
        "RetryMiddleware", "RetryMixin", "RetryPolicy",
    ),
}

__all__ = [
    "Announced",
    "CacheEntry",
    "CacheMiddleware",
    "CacheMixin",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "EventCounters",
    "HttpMetrics",
    "MemoryCacheStorage",
    "MemoryRateLimitStore",
    "MetricsClient",
    "MetricsMiddleware",
    "MetricsMixin",
    "OpenTelemetry",
    "Rate",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitMixin",
    "RateLimitStore",
    "RateLimitedClient",
    "RedisCacheStorage",
    "RedisRateLimitStore",
    "RetryMiddleware",
    "RetryMixin",
    "RetryPolicy",
    "SQLiteCacheStorage",
]

if not TYPE_CHECKING:  # type checkers read the imports above instead
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

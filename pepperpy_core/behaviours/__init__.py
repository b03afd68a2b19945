"""Behaviours built on the HTTP client's chain: retry, rate limit, cache, metrics.

Each module reads the same way: the pure policy, the middleware, the mixin, and the ready-made
class from the documents. The chain orders them by rank, whatever the order of the bases::

    metrics -> cache -> retry -> rate limit -> (your layers) -> transport
"""

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
from pepperpy_core.behaviours.metrics import (
    HttpMetrics,
    MetricsClient,
    MetricsMiddleware,
    MetricsMixin,
)
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
from pepperpy_core.behaviours.retry import RetryMiddleware, RetryMixin, RetryPolicy

__all__ = [
    "Announced",
    "CacheEntry",
    "CacheMiddleware",
    "CacheMixin",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "HttpMetrics",
    "MemoryCacheStorage",
    "MemoryRateLimitStore",
    "MetricsClient",
    "MetricsMiddleware",
    "MetricsMixin",
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

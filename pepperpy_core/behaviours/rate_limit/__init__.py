"""Rate limit, one idea per module:

- :mod:`~pepperpy_core.behaviours.rate_limit.rules`: the policy (several rates, a key, wait or
  raise), pure values;
- :mod:`~pepperpy_core.behaviours.rate_limit.announced`: the limits a server announces in its
  headers, read into facts (pure);
- :mod:`~pepperpy_core.behaviours.rate_limit.store`: the storage protocol and the in-memory
  store (a sliding-window log);
- :mod:`~pepperpy_core.behaviours.rate_limit.redis_store`: the store shared by many processes
  on Redis;
- :mod:`~pepperpy_core.behaviours.rate_limit.layer`: the middleware;
- :mod:`~pepperpy_core.behaviours.rate_limit.client`: the mixin and the ready-made
  ``RateLimitedClient``.

Every name stays importable from ``pepperpy_core.behaviours.rate_limit``.
"""

from pepperpy_core.behaviours.rate_limit.announced import Announced, read_announced
from pepperpy_core.behaviours.rate_limit.client import RateLimitedClient, RateLimitMixin
from pepperpy_core.behaviours.rate_limit.layer import RateLimitMiddleware
from pepperpy_core.behaviours.rate_limit.redis_store import RedisRateLimitStore
from pepperpy_core.behaviours.rate_limit.rules import Rate, RateLimit
from pepperpy_core.behaviours.rate_limit.store import (
    HoldingRateLimitStore,
    MemoryRateLimitStore,
    RateLimitStore,
)

__all__ = [
    "Announced",
    "HoldingRateLimitStore",
    "MemoryRateLimitStore",
    "Rate",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitMixin",
    "RateLimitStore",
    "RateLimitedClient",
    "RedisRateLimitStore",
    "read_announced",
]

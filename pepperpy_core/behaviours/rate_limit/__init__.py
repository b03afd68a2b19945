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
- :mod:`~pepperpy_core.behaviours.rate_limit.client`: the ready-made ``RateLimitedClient``.

Every name stays importable from ``pepperpy_core.behaviours.rate_limit``.
"""

from typing import TYPE_CHECKING

from pepperpy_core._lazy import deprecated_names
from pepperpy_core.behaviours.rate_limit.announced import Announced, read_announced
from pepperpy_core.behaviours.rate_limit.client import RateLimitedClient
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
    "RateLimitStore",
    "RateLimitedClient",
    "RedisRateLimitStore",
    "read_announced",
]

if not TYPE_CHECKING:  # the deprecated mixin, for one release
    __getattr__ = deprecated_names(__name__, ("RateLimitMixin",))

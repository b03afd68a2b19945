"""The behaviour mixins, deprecated in favour of the ready-made classes, kept for one release.

``RetryMixin``, ``CacheMixin``, ``RateLimitMixin`` and ``MetricsMixin`` were a second way to
say what :class:`~pepperpy_core.CachedClient`, :class:`~pepperpy_core.RateLimitedClient`,
:class:`~pepperpy_core.MetricsClient` and :class:`~pepperpy_core.HttpClient`'s own
``retry_policy`` say, now that those compose by inheritance. Each name is still importable
from where it was (``pepperpy_core``, ``pepperpy_core.behaviours`` and the behaviour's own
module) and warns (``DeprecationWarning``) when it is looked up there; see
:func:`pepperpy_core._lazy.deprecated_names`.

Each class here behaves as the mixin did (same keywords, same class attributes, same defaults:
no cache TTL heuristic, no rate limit unless ``rate_limit`` is set, positional arguments passed
on to ``HttpClient``), on the ready-made class's code: it keeps its own keywords with that
class's ``_set_up_*`` and passes the rest past that class's ``__init__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pepperpy_core.behaviours.cache.client import CachedClient
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.behaviours.metrics import HttpMetrics, MetricsClient
from pepperpy_core.behaviours.rate_limit.client import RateLimitedClient
from pepperpy_core.behaviours.rate_limit.rules import RateLimit
from pepperpy_core.behaviours.rate_limit.store import RateLimitStore
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.retry import RetryPolicy

__all__ = ["CacheMixin", "MetricsMixin", "RateLimitMixin", "RetryMixin"]


class RetryMixin(HttpClient):
    """Deprecated: set the class attribute ``retry_policy`` on an :class:`HttpClient`
    subclass (or on a ready-made class) instead."""

    retry_policy = RetryPolicy()


class CacheMixin(CachedClient):
    """Deprecated: use :class:`CachedClient` (``cache_policy=``, ``storage=``)."""

    cache_policy: CachePolicy | None = CachePolicy()
    cache_max_entries: int = 1024
    cache_max_bytes: int = 64 * 1024 * 1024

    def __init__(
        self, *args: Any, cache_policy: CachePolicy | None = None,
        cache_storage: CacheStorage | None = None, **kwargs: Any,
    ) -> None:
        self._set_up_cache(cache_policy or type(self).cache_policy, cache_storage,
                           self.cache_max_entries, self.cache_max_bytes)
        super(CachedClient, self).__init__(*args, **kwargs)


class RateLimitMixin(RateLimitedClient):
    """Deprecated: use :class:`RateLimitedClient` (``rate_limit=``, ``rate_limit_store=``)."""

    def __init__(
        self, *args: Any, rate_limit: RateLimit | Sequence[RateLimit] | None = None,
        rate_limit_store: RateLimitStore | None = None, **kwargs: Any,
    ) -> None:
        self._set_up_rate_limit(
            rate_limit if rate_limit is not None else type(self).rate_limit, rate_limit_store
        )
        super(RateLimitedClient, self).__init__(*args, **kwargs)


class MetricsMixin(MetricsClient):
    """Deprecated: use :class:`MetricsClient` (``metrics=``)."""

    def __init__(self, *args: Any, metrics: HttpMetrics | None = None, **kwargs: Any) -> None:
        self._set_up_metrics(metrics)
        super(MetricsClient, self).__init__(*args, **kwargs)

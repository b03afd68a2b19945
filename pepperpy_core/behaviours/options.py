"""The keywords the ready-made classes forward, as typed lists (``TypedDict``).

``class Api(CachedClient, RateLimitedClient)`` runs ``CachedClient.__init__``, which hands what
it does not take itself to the next class: ``RateLimitedClient``'s ``max_requests`` and
``window`` as well as every :class:`~pepperpy_core.HttpClient` option. So each class's
``**options`` is typed with ``HttpClient``'s options plus those of the other ready-made
classes (not its own, which it names): ``mypy --strict`` accepts
``Api(max_requests=10, cache_ttl=60, base_url=...)`` and still flags a misspelled keyword. A
keyword that belongs to a class you did not inherit from is refused at run time with a
``TypeError`` naming it. ``tests/test_signatures.py`` keeps these lists equal to the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypedDict

from pepperpy_core.config import ClientOptions

if TYPE_CHECKING:
    from pepperpy_core.behaviours.cache.policy import CachePolicy
    from pepperpy_core.behaviours.cache.storage import CacheStorage
    from pepperpy_core.behaviours.metrics import HttpMetrics
    from pepperpy_core.behaviours.rate_limit.rules import RateLimit
    from pepperpy_core.behaviours.rate_limit.store import RateLimitStore

__all__ = [
    "CacheOptions",
    "CachedClientForwards",
    "MetricsClientForwards",
    "MetricsOptions",
    "RateLimitOptions",
    "RateLimitedClientForwards",
]


class CacheOptions(TypedDict, total=False):
    """:class:`~pepperpy_core.CachedClient`'s own keywords."""

    cache_ttl: float | None
    storage: CacheStorage | None
    max_entries: int
    max_bytes: int
    cache_policy: CachePolicy | None
    shared: bool


class RateLimitOptions(TypedDict, total=False):
    """:class:`~pepperpy_core.RateLimitedClient`'s own keywords."""

    max_requests: int
    window: float
    raise_on_limit: bool
    max_wait: float | None
    per: Literal["global", "host"]
    rate_limit: RateLimit | Sequence[RateLimit] | None
    rate_limit_store: RateLimitStore | None


class MetricsOptions(TypedDict, total=False):
    """:class:`~pepperpy_core.MetricsClient`'s own keywords."""

    metrics: HttpMetrics | None


class CachedClientForwards(ClientOptions, RateLimitOptions, MetricsOptions, total=False):
    """What ``CachedClient`` passes on."""


class RateLimitedClientForwards(ClientOptions, CacheOptions, MetricsOptions, total=False):
    """What ``RateLimitedClient`` passes on."""


class MetricsClientForwards(ClientOptions, CacheOptions, RateLimitOptions, total=False):
    """What ``MetricsClient`` passes on."""

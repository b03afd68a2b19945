"""``CachedClient``: an HttpClient with a cache."""

from __future__ import annotations

from typing_extensions import Unpack

from pepperpy_core.behaviours.cache.mixin import CacheMixin
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.behaviours.options import CachedClientForwards
from pepperpy_core.config import check_number
from pepperpy_core.http.client import HttpClient

__all__ = ["CachedClient"]


class CachedClient(CacheMixin, HttpClient):
    """``CachedClient(cache_ttl=300.0)``: an HttpClient whose ``get`` returns a
    :class:`Response` (``await response.json()`` gives the data), server cache headers are
    honoured, memory is bounded, and ``cache_ttl`` covers APIs that send no cache headers.

    ``cache_ttl`` is a heuristic: the lifetime of a 200/203 answer that carries no freshness
    information at all (no ``Cache-Control``, no ``Expires``); ``None`` keeps to the headers
    and RFC 9111's own heuristic. ``shared=True`` behaves as a cache in front of many users
    (``s-maxage``, no ``private`` answers; see :class:`CachePolicy`). ``storage=`` a
    :class:`SQLiteCacheStorage` for a cache that survives restarts; ``max_entries`` /
    ``max_bytes`` bound the default memory storage.
    """

    def __init__(
        self,
        cache_ttl: float | None = 300.0,
        *,
        storage: CacheStorage | None = None,
        max_entries: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        cache_policy: CachePolicy | None = None,
        shared: bool = False,
        **kwargs: Unpack[CachedClientForwards],
    ) -> None:
        if cache_ttl is not None:
            check_number(
                type(self).__name__, "cache_ttl", cache_ttl, wanted="a number of seconds or None"
            )
        self.cache_ttl = cache_ttl
        self.cache_max_entries = max_entries
        self.cache_max_bytes = max_bytes
        super().__init__(
            cache_policy=cache_policy or CachePolicy(ttl=cache_ttl, shared=shared),
            cache_storage=storage, **kwargs,
        )

"""The documents' ``CachedClient``."""

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
        **kwargs: Unpack[CachedClientForwards],
    ) -> None:
        check_number(type(self).__name__, "cache_ttl", cache_ttl, wanted="a number of seconds")
        self.cache_ttl = cache_ttl
        self.cache_max_entries = max_entries
        self.cache_max_bytes = max_bytes
        super().__init__(
            cache_policy=cache_policy or CachePolicy(ttl=cache_ttl), cache_storage=storage,
            **kwargs,
        )

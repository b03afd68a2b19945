"""The mixin that adds a cache layer to a client class."""

from __future__ import annotations

import time
from typing import Any

from pepperpy_core.behaviours._mixin import TimedMixin
from pepperpy_core.behaviours.cache.memory import MemoryCacheStorage
from pepperpy_core.behaviours.cache.middleware import CacheMiddleware
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.http.chain import Middleware

__all__ = ["CacheMixin"]


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
        layer = self._cache_layer = CacheMiddleware(
            self.cache_policy, storage=self.cache, clock=self._clock_or(time.time)
        )
        return [*super()._default_layers(), layer]

    async def close(self) -> None:
        """Stop background refreshes, close the client, then the cache storage if the client
        created it."""
        layer: CacheMiddleware | None = getattr(self, "_cache_layer", None)
        if layer is not None:
            await layer.aclose()
        await super().close()
        if self._owns_cache_storage:
            await self.cache.aclose()

    aclose = close

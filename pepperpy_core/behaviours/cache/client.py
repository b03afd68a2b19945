"""``CachedClient``: an HttpClient with a cache."""

from __future__ import annotations

import time
from typing import cast

from typing_extensions import Unpack

from pepperpy_core._signature import given_beyond_defaults
from pepperpy_core.behaviours.cache.memory import MemoryCacheStorage
from pepperpy_core.behaviours.cache.middleware import CacheMiddleware
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.storage import CacheStorage
from pepperpy_core.behaviours.options import CachedClientForwards
from pepperpy_core.config import ClientOptions, check_number
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.chain import Middleware
from pepperpy_core.http.client import HttpClient

__all__ = ["CachedClient"]


class CachedClient(HttpClient):
    """``CachedClient(cache_ttl=300.0)``: an HttpClient whose ``get`` returns a
    :class:`Response` (``await response.json()`` gives the data), server cache headers are
    honoured, memory is bounded, and ``cache_ttl`` covers APIs that send no cache headers.

    ``cache_ttl`` is a heuristic: the lifetime of a 200/203 answer that carries no freshness
    information at all (no ``Cache-Control``, no ``Expires``); ``None`` keeps to the headers
    and RFC 9111's own heuristic. ``shared=True`` behaves as a cache in front of many users
    (``s-maxage``, no ``private`` answers; see :class:`CachePolicy`). ``storage=`` a
    :class:`SQLiteCacheStorage` for a cache that survives restarts (a storage passed in is
    left open for its other users; the default memory LRU is the client's and closed with it);
    ``max_entries`` / ``max_bytes`` bound that default storage. ``cache_policy=`` a whole
    :class:`CachePolicy`, in place of ``cache_ttl`` and ``shared``. Every other keyword is
    :class:`HttpClient`'s, or that of another ready-made class it is combined with
    (``class Api(CachedClient, RateLimitedClient)``).

    A subclass may set the class attribute ``cache_policy`` (a :class:`CachePolicy`) in place
    of ``cache_ttl`` and ``shared``; ``cache_policy=`` still replaces it per instance.
    """

    #: The policy of every instance of a subclass; None (the default): built from ``cache_ttl``
    #: and ``shared``. On an instance: the policy in force.
    cache_policy: CachePolicy | None = None

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
        owner = type(self).__name__
        if cache_ttl is not None:
            check_number(owner, "cache_ttl", cache_ttl, wanted="a number of seconds or None")
        self.cache_ttl = cache_ttl
        if cache_policy is None:
            cache_policy = type(self).cache_policy
            if cache_policy is not None and given_beyond_defaults(
                CachedClient.__init__, {"cache_ttl": cache_ttl, "shared": shared}
            ):
                raise ConfigurationError(
                    f"{owner}(cache_ttl=..., shared=...): {owner} sets the class attribute "
                    f"cache_policy; pass cache_policy=CachePolicy(...) to replace it"
                )
        self._set_up_cache(
            cache_policy or CachePolicy(ttl=cache_ttl, shared=shared), storage,
            max_entries, max_bytes,
        )
        # The next class may be another ready-made one, which takes its own keywords.
        super().__init__(**cast("ClientOptions", kwargs))

    def _set_up_cache(
        self, policy: CachePolicy | None, storage: CacheStorage | None, max_entries: int,
        max_bytes: int,
    ) -> None:
        """Keep what :meth:`_default_layers` builds the layer from (``policy`` None: no layer)."""
        self.cache_policy = policy
        self._cache_layer: CacheMiddleware | None = None
        self._owns_cache_storage = storage is None
        self.cache: CacheStorage = storage or MemoryCacheStorage(
            max_entries=max_entries, max_bytes=max_bytes
        )

    def _default_layers(self) -> list[Middleware]:
        layers = super()._default_layers()
        if self.cache_policy is None:
            return layers
        self._cache_layer = CacheMiddleware(
            self.cache_policy, storage=self.cache, clock=self._behaviour_clock or time.time
        )
        return [*layers, self._cache_layer]

    async def close(self) -> None:
        """Stop background refreshes, close the client, then the cache storage if the client
        created it."""
        if self._cache_layer is not None:
            await self._cache_layer.aclose()
        await super().close()
        if self._owns_cache_storage:
            await self.cache.aclose()

    aclose = close


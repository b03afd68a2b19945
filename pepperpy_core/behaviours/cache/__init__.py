"""Cache: the policy, stored entries and their freshness (RFC 9111, private cache), the storages
(memory LRU and SQLite), the middleware, and the ready-made ``CachedClient``.

The layer sits outside retry and rate limit: a hit costs no token and is never retried, and a
revalidation is one logical request that the inner layers treat like any other.

Cache key: the method, the full URL (query included, exactly as sent), a SHA-256 digest of the
``Authorization`` header (two credentials never share an entry) and, for an opted-in POST, a
digest of the body; the SQLite storage keeps only a digest of the whole key. Headers named
by the response's ``Vary`` are stored with the entry and must match for a hit.

One idea per module: ``policy`` (what is cached), ``rules`` (RFC 9111 as pure functions),
``entry`` (a stored response), ``storage`` (the protocol), ``memory`` and ``sqlite`` (the
storages), ``serializer``, ``middleware`` (the layer, with request collapsing) and ``client`` (the
ready-made class). Every public name is importable from here.
"""

from typing import TYPE_CHECKING

from pepperpy_core._lazy import deprecated_names
from pepperpy_core.behaviours.cache.client import CachedClient
from pepperpy_core.behaviours.cache.entry import CacheEntry
from pepperpy_core.behaviours.cache.entry import make_entry as make_entry
from pepperpy_core.behaviours.cache.entry import refreshed as refreshed
from pepperpy_core.behaviours.cache.memory import MemoryCacheStorage
from pepperpy_core.behaviours.cache.middleware import PASS_KEYS as PASS_KEYS
from pepperpy_core.behaviours.cache.middleware import PASS_SECONDS as PASS_SECONDS
from pepperpy_core.behaviours.cache.middleware import CacheMiddleware
from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.rules import CACHEABLE_STATUSES as CACHEABLE_STATUSES
from pepperpy_core.behaviours.cache.rules import ERROR_STATUSES as ERROR_STATUSES
from pepperpy_core.behaviours.cache.rules import cache_key, parse_cache_control
from pepperpy_core.behaviours.cache.serializer import _entry_from_row as _entry_from_row
from pepperpy_core.behaviours.cache.serializer import _entry_meta as _entry_meta
from pepperpy_core.behaviours.cache.sqlite import SQLiteCacheStorage
from pepperpy_core.behaviours.cache.storage import CacheStorage

__all__ = [
    "CacheEntry",
    "CacheMiddleware",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "MemoryCacheStorage",
    "SQLiteCacheStorage",
    "cache_key",
    "parse_cache_control",
]

if not TYPE_CHECKING:  # the deprecated mixin, for one release
    __getattr__ = deprecated_names(__name__, ("CacheMixin",))

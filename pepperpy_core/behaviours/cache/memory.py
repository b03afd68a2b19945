"""The in-process LRU storage."""

from __future__ import annotations

from collections import OrderedDict

from pepperpy_core.behaviours.cache.entry import CacheEntry
from pepperpy_core.exceptions import ConfigurationError

__all__ = ["MemoryCacheStorage"]


class MemoryCacheStorage:
    """An in-process LRU bounded by ``max_entries`` and ``max_bytes`` (bodies plus headers);
    an entry larger than ``max_bytes`` alone is not stored."""

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ConfigurationError("MemoryCacheStorage: max_entries and max_bytes must be >= 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> CacheEntry | None:
        return self.get_now(key)

    async def set(self, key: str, entry: CacheEntry) -> None:
        self.set_now(key, entry)

    async def delete(self, key: str) -> None:
        self.delete_now(key)

    # The memory storage never suspends; the cache layer calls these directly.
    def get_now(self, key: str) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def set_now(self, key: str, entry: CacheEntry) -> None:
        self.delete_now(key)
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def delete_now(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size

    async def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    async def aclose(self) -> None:
        await self.clear()

"""The storage protocol every cache storage follows (memory, SQLite, your own)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pepperpy_core.behaviours.cache.entry import CacheEntry

__all__ = ["CacheStorage"]


@runtime_checkable
class CacheStorage(Protocol):
    """Where entries live; each storage bounds itself."""

    async def get(self, key: str) -> CacheEntry | None: ...

    async def set(self, key: str, entry: CacheEntry) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> None: ...

    async def aclose(self) -> None: ...

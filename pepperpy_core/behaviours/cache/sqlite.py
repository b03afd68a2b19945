"""The persistent SQLite storage."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from os import PathLike, fspath
from pathlib import Path
from typing import Any

from pepperpy_core.behaviours.cache.entry import CacheEntry
from pepperpy_core.behaviours.cache.serializer import _entry_from_row, _entry_meta
from pepperpy_core.exceptions import ClientClosedError

__all__ = ["SQLiteCacheStorage"]


class SQLiteCacheStorage:
    """A persistent cache in one SQLite file (survives a restart), LRU-bounded like the memory
    storage. Each operation runs in a worker thread so the event loop never waits on the disk.
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, meta TEXT NOT NULL, "
        "body BLOB NOT NULL, size INTEGER NOT NULL, used INTEGER NOT NULL)"
    )

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        max_entries: int = 10_000,
        max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.path = Path(fspath(path))
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache may lose the last write on a crash
        self._db.execute(self._SCHEMA)
        row = self._db.execute("SELECT COALESCE(MAX(used), 0) FROM entries").fetchone()
        self._tick = int(row[0])

    def _run(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            if self._db is None:
                raise ClientClosedError("SQLiteCacheStorage is closed")
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def _next_tick(self) -> int:
        self._tick += 1
        return self._tick

    def _get(self, key: str) -> CacheEntry | None:
        rows = self._run("SELECT meta, body FROM entries WHERE key = ?", key)
        if not rows:
            return None
        self._run("UPDATE entries SET used = ? WHERE key = ?", self._next_tick(), key)
        return _entry_from_row(rows[0][0], rows[0][1])

    def _set(self, key: str, entry: CacheEntry) -> None:
        if entry.size > self.max_bytes:
            self._run("DELETE FROM entries WHERE key = ?", key)
            return
        self._run(
            "INSERT OR REPLACE INTO entries (key, meta, body, size, used) VALUES (?, ?, ?, ?, ?)",
            key, _entry_meta(entry), entry.body, entry.size, self._next_tick(),
        )
        self._evict()

    def _evict(self) -> None:
        count, total = self._run("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries")[0]
        while count > self.max_entries or total > self.max_bytes:
            key, size = self._run("SELECT key, size FROM entries ORDER BY used LIMIT 1")[0]
            self._run("DELETE FROM entries WHERE key = ?", key)
            count, total = count - 1, total - size

    # Keys are stored as SHA-256 digests: a URL may carry an API key in its query string.
    async def get(self, key: str) -> CacheEntry | None:
        return await asyncio.to_thread(self._get, self._digest(key))

    async def set(self, key: str, entry: CacheEntry) -> None:
        await asyncio.to_thread(self._set, self._digest(key), entry)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM entries WHERE key = ?", self._digest(key))

    async def clear(self) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM entries")

    async def aclose(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()

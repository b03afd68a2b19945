"""An entry as JSON metadata plus the body bytes, and back (what persistent storages keep)."""

from __future__ import annotations

import json

from pepperpy_core.behaviours.cache.entry import CacheEntry

__all__: list[str] = []


def _entry_meta(entry: CacheEntry) -> str:
    return json.dumps({
        "status": entry.status, "headers": entry.headers, "url": entry.url,
        "reason": entry.reason, "stored_at": entry.stored_at, "lifetime": entry.lifetime,
        "initial_age": entry.initial_age, "vary": entry.vary,
        "stale_if_error": entry.stale_if_error, "variants": entry.variants,
    })


def _entry_from_row(meta: str, body: bytes) -> CacheEntry:
    data = json.loads(meta)
    return CacheEntry(
        status=data["status"], headers=tuple(tuple(h) for h in data["headers"]),
        body=bytes(body), url=data["url"], reason=data["reason"], stored_at=data["stored_at"],
        lifetime=data["lifetime"], initial_age=data["initial_age"],
        vary=tuple(tuple(v) for v in data["vary"]), stale_if_error=data["stale_if_error"],
        variants=tuple(data.get("variants", ())),
    )

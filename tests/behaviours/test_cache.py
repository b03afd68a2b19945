"""Cache: RFC 9111 private-cache semantics against a real server, with a fake wall clock."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from pepperpy_core import HttpClient
from pepperpy_core.behaviours.cache import (
    CachedClient,
    CacheEntry,
    CacheMiddleware,
    CachePolicy,
    CacheStorage,
    MemoryCacheStorage,
    SQLiteCacheStorage,
    cache_key,
    parse_cache_control,
)
from pepperpy_core.http.models import Request
from pepperpy_core.testing import FakeClock, LocalServer


def cached(server: LocalServer, clock: FakeClock, policy: CachePolicy | None = None,
           storage: CacheStorage | None = None, **client_options: object) -> HttpClient:
    layer = CacheMiddleware(policy, storage=storage, clock=clock.time)
    return HttpClient(base_url=server.base_url, middlewares=[layer], **client_options)


def entry(body: bytes = b"x", **kw: object) -> CacheEntry:
    fields: dict[str, object] = {
        "status": 200, "headers": (("Content-Type", "text/plain"),), "body": body,
        "url": "http://h/", "reason": "OK", "stored_at": 0.0, "lifetime": 60.0,
    }
    fields.update(kw)
    return CacheEntry(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- pure parts


def test_policy_is_an_immutable_value() -> None:
    """CachePolicy is frozen, compares by value and copies with with_()."""
    policy = CachePolicy(ttl=30)
    assert policy == CachePolicy(ttl=30) and policy.with_(ttl=5).ttl == 5
    with pytest.raises(AttributeError):
        policy.ttl = 1  # type: ignore[misc]


def test_cache_control_parsing() -> None:
    """Directives are lower-cased, arguments unquoted, bare directives map to None."""
    assert parse_cache_control('Max-Age=60, no-cache, private="x"') == {
        "max-age": "60", "no-cache": None, "private": "x"
    }


def test_key_contents() -> None:
    """The key covers method, full URL, Authorization and (POST) the body; not other headers."""
    base = Request("GET", "http://h/a?x=1")
    assert cache_key(base) == cache_key(Request("GET", "http://h/a?x=1",
                                                headers=base.headers.copy()))
    assert cache_key(base) != cache_key(Request("HEAD", "http://h/a?x=1"))
    assert cache_key(base) != cache_key(Request("GET", "http://h/a?x=2"))
    with_auth = base.copy_with()
    with_auth.headers["Authorization"] = "Bearer a"
    assert cache_key(base) != cache_key(with_auth)
    assert cache_key(Request("POST", "http://h/", body=b"1")) != cache_key(
        Request("POST", "http://h/", body=b"2"))


async def test_memory_storage_lru_by_entries_and_bytes() -> None:
    """The memory LRU evicts the least recently used past max_entries or max_bytes."""
    store = MemoryCacheStorage(max_entries=2, max_bytes=10_000)
    await store.set("a", entry())
    await store.set("b", entry())
    await store.get("a")  # a is now the most recent
    await store.set("c", entry())
    assert await store.get("b") is None and await store.get("a") is not None
    await store.set("big", entry(b"x" * 9_700))
    assert len(store) == 1 and store.bytes <= 10_000
    await store.set("huge", entry(b"x" * 20_000))  # larger than the whole cache: not stored
    assert await store.get("huge") is None
    assert isinstance(store, CacheStorage)


async def test_sqlite_storage_lru_and_persistence(tmp_path: Path) -> None:
    """SQLite keeps entries across a reopen and evicts by LRU past max_entries."""
    store = SQLiteCacheStorage(tmp_path / "c.db", max_entries=2)
    await store.set("a", entry(b"A", vary=(("accept", "x"),)))
    await store.set("b", entry(b"B"))
    await store.get("a")
    await store.set("c", entry(b"C"))
    await store.aclose()
    reopened = SQLiteCacheStorage(tmp_path / "c.db", max_entries=2)
    try:
        got = await reopened.get("a")
        assert got is not None and got.body == b"A" and got.vary == (("accept", "x"),)
        assert await reopened.get("b") is None
    finally:
        await reopened.aclose()


# --------------------------------------------------------------------------- freshness


async def test_max_age_hit(server: LocalServer, hits: Counter[str], clock: FakeClock) -> None:
    """max-age=60: a second GET within 60 s is served from the cache, tagged from_cache."""
    async with cached(server, clock) as client:
        first = await client.get("/fresh")
        clock.advance(59)
        second = await client.get("/fresh")
        clock.advance(2)
        third = await client.get("/fresh")
    assert hits["fresh"] == 2
    assert first.metadata["from_cache"] is False and first.metadata["cache"] == "miss"
    assert second.metadata["from_cache"] is True and second.metadata["cache"] == "hit"
    assert await second.json() == await first.json() and second.headers["Age"] == "59"
    assert second.url == first.url and second.status == 200 and second.request is not None
    assert (await third.json())["n"] == 2


async def test_expires_header(server: LocalServer, hits: Counter[str], clock: FakeClock) -> None:
    """Expires - Date gives the lifetime when there is no max-age."""
    async with cached(server, clock) as client:
        await client.get("/expires")
        clock.advance(30)
        assert (await client.get("/expires")).metadata["from_cache"] is True
        clock.advance(31)
        await client.get("/expires")
    assert hits["expires"] == 2


async def test_no_store_and_plain_are_not_cached(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """no-store is never stored; a response with no cache headers needs a ttl to be cached."""
    async with cached(server, clock) as client:
        for _ in range(2):
            await client.get("/no-store")
            await client.get("/plain")
    assert hits["no-store"] == 2 and hits["plain"] == 2


async def test_ttl_for_apis_without_headers(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """CachedClient(cache_ttl=300) caches a header-less 200 for 300 s."""
    async with CachedClient(300.0, base_url=server.base_url, clock=clock.time) as client:
        a = await client.get("/plain")
        clock.advance(299)
        b = await client.get("/plain")
        clock.advance(2)
        c = await client.get("/plain")
    assert hits["plain"] == 2
    assert await a.json() == await b.json() != await c.json()


async def test_per_request_opt_out(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """cache=False neither reads nor writes the cache; Cache-Control: no-cache revalidates."""
    async with cached(server, clock) as client:
        await client.get("/fresh")
        bypass = await client.get("/fresh", cache=False)
        forced = await client.get("/fresh", headers={"Cache-Control": "no-cache"})
    assert hits["fresh"] == 3
    assert bypass.metadata["cache"] == "bypass" and forced.metadata["cache"] == "miss"


# --------------------------------------------------------------------------- revalidation


async def test_etag_revalidation(server: LocalServer, hits: Counter[str], clock: FakeClock) -> None:
    """no-cache + ETag: each GET sends If-None-Match; the 304 refreshes the entry and the
    stored body comes back (and the 304's max-age=30 then makes it fresh)."""
    async with cached(server, clock) as client:
        await client.get("/etag")
        again = await client.get("/etag")
        third = await client.get("/etag")
    assert hits["etag"] == 2 and hits["etag-304"] == 1
    assert again.status == 200 and again.metadata["cache"] == "revalidated"
    assert await again.json() == {"version": 1}
    assert third.metadata["cache"] == "hit"  # refreshed headers say max-age=30


async def test_last_modified_revalidation(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """Last-Modified + max-age=0: revalidated with If-Modified-Since; a 304 returns the body."""
    async with cached(server, clock) as client:
        await client.get("/lastmod")
        again = await client.get("/lastmod")
    assert hits["lastmod-304"] == 1
    assert await again.json() == {"lm": True} and again.metadata["from_cache"] is True


async def test_vary(server: LocalServer, hits: Counter[str], clock: FakeClock) -> None:
    """Vary: Accept-Language: a different language is a miss, the same one a hit."""
    async with cached(server, clock) as client:
        await client.get("/vary", headers={"Accept-Language": "pt"})
        en = await client.get("/vary", headers={"Accept-Language": "en"})
        en_again = await client.get("/vary", headers={"Accept-Language": "en"})
    assert hits["vary"] == 2
    assert await en.json() == {"lang": "en"} and en_again.metadata["cache"] == "hit"


async def test_stale_if_error(
    server: LocalServer, hits: Counter[str], state: dict[str, float], clock: FakeClock
) -> None:
    """stale-if-error=60: after expiry a 503 is replaced by the stored body; past the
    allowance the error comes through."""
    async with cached(server, clock, retries=0) as client:
        await client.get("/stale")
        state["broken"] = 1
        clock.advance(30)
        served = await client.get("/stale", retries=0)
        clock.advance(60)
        failed = await client.get("/stale", retries=0)
    assert served.status == 200 and served.metadata["cache"] == "stale"
    assert failed.status == 503


async def test_stale_if_error_on_connection_failure(
    clock: FakeClock, app_factory: Callable[[], web.Application]
) -> None:
    """A connection error is also replaced by a stale entry within the allowance."""
    storage = MemoryCacheStorage()
    policy = CachePolicy(stale_if_error=600)
    async with LocalServer(app_factory()) as srv:
        url = srv.url("/fresh?max_age=1")
        async with cached(srv, clock, policy, storage=storage) as client:
            await client.get(url)
    clock.advance(5)
    layer = CacheMiddleware(policy, storage=storage, clock=clock.time)
    async with HttpClient(retries=0, middlewares=[layer]) as client:
        served = await client.get(url)  # the server is gone
    assert served.metadata["cache"] == "stale"


# --------------------------------------------------------------------------- methods


async def test_post_only_when_opted_in(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """POST is not cached by default; with cache_post the body is part of the key."""
    url = "/flaky?fail=0&cc=max-age%3D60"
    async with cached(server, clock) as client:
        await client.post(url, json={"a": 1})
        await client.post(url, json={"a": 1})
    assert hits["flaky:"] == 2
    async with cached(server, clock, CachePolicy(cache_post=True)) as client:
        await client.post(url, json={"a": 1})
        same = await client.post(url, json={"a": 1})
        other = await client.post(url, json={"a": 2})
    assert same.metadata["cache"] == "hit" and other.metadata["cache"] == "miss"
    assert hits["flaky:"] == 4


async def test_unsafe_request_invalidates(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """A successful DELETE to a URL drops the stored GET for it."""
    url = "/flaky?fail=0&cc=max-age%3D60"
    async with cached(server, clock) as client:
        await client.get(url)
        await client.delete(url)
        again = await client.get(url)
    assert again.metadata["cache"] == "miss" and hits["flaky:"] == 3


# --------------------------------------------------------------------------- concurrency, bounds


async def test_concurrent_misses_collapse(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """50 concurrent identical GETs: the server sees one request; everyone gets the body."""
    async with cached(server, clock) as client:
        responses = await asyncio.gather(
            *(client.get("/fresh", params={"slow": 0.05}) for _ in range(50))
        )
    assert hits["fresh"] == 1
    assert {r.content for r in responses} == {responses[0].content}
    assert sum(r.metadata["cache"] == "hit" for r in responses) == 49


async def test_concurrent_misses_without_collapse_each_fetch(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """collapse=False: identical concurrent misses each go to the server, and all succeed."""
    async with cached(server, clock, CachePolicy(collapse=False)) as client:
        responses = await asyncio.gather(
            *(client.get("/fresh", params={"slow": 0.05}) for _ in range(5))
        )
        assert hits["fresh"] == 5
        assert all(r.metadata["cache"] == "miss" for r in responses)
        assert (await client.get("/fresh", params={"slow": 0.05})).metadata["cache"] == "hit"


async def test_uncacheable_concurrent_requests_do_not_serialise(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """When the leader's response cannot be stored, followers fetch on their own."""
    async with cached(server, clock) as client:
        responses = await asyncio.gather(*(client.get("/no-store") for _ in range(10)))
    assert hits["no-store"] == 10 and all(r.status == 200 for r in responses)


async def test_unstorable_url_is_not_collapsed_again(
    server: LocalServer, hits: Counter[str], clock: FakeClock
) -> None:
    """Once a URL answered with something unstorable, identical requests go out side by side
    instead of waiting for one another; a storable answer turns collapsing back on."""
    async with cached(server, clock) as client:
        first = await client.get("/plain", params={"slow": 0.2})
        assert first.metadata["cache"] == "miss"
        started = time.perf_counter()
        burst = await asyncio.gather(
            *(client.get("/plain", params={"slow": 0.2}) for _ in range(10))
        )
        took = time.perf_counter() - started
        assert hits["plain"] == 11 and all(r.metadata["cache"] == "miss" for r in burst)
        assert took < 0.35  # queued behind a leader, the followers would need 0.4 s
        clock.advance(61)  # the marker expires: the next burst queues behind a leader again
        started = time.perf_counter()
        await asyncio.gather(*(client.get("/plain", params={"slow": 0.2}) for _ in range(5)))
        assert time.perf_counter() - started >= 0.4


async def test_client_bounds_and_sqlite_restart(
    server: LocalServer, hits: Counter[str], tmp_path: Path, clock: FakeClock
) -> None:
    """A CachedClient on SQLite serves a hit after the client (and storage) were recreated."""
    for _ in range(2):
        storage = SQLiteCacheStorage(tmp_path / "http.db")
        async with CachedClient(base_url=server.base_url, storage=storage,
                                clock=clock.time) as client:
            response = await client.get("/fresh")
        await storage.aclose()
    assert hits["fresh"] == 1 and response.metadata["from_cache"] is True
    async with CachedClient(max_entries=1, base_url=server.base_url) as client:
        await client.get("/fresh?max_age=60&a=1")
        await client.get("/fresh?max_age=60&a=2")
        assert isinstance(client.cache, MemoryCacheStorage) and len(client.cache) == 1

"""RedisCacheStorage against a real Redis: TTLs from freshness plus the stale allowances, Vary
facts kept with each entry, the max_bytes bound over the whole prefix, and Redis going away
(stopped, or frozen) while clients run: no crash, nothing hangs, the cache comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from redis.asyncio import Redis

from pepperpy_core import CachedClient, ConfigurationError, RedisCacheStorage
from pepperpy_core.behaviours.cache import CacheEntry
from pepperpy_core.testing import LocalServer, capture_events

from .conftest import OwnRedis


def origin_app() -> tuple[web.Application, list[str]]:
    """``/r?cc=<Cache-Control>&etag=1&size=N``: answers with that Cache-Control (and an ETag, a
    body of N bytes); ``/lang`` varies on Accept-Language. Records every path it serves."""
    hits: list[str] = []

    async def resource(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        headers = {"Cache-Control": request.query.get("cc", "max-age=60")}
        if "etag" in request.query:
            headers["ETag"] = '"v1"'
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=headers)
        body = b"x" * int(request.query.get("size", "2"))
        return web.Response(body=body, headers=headers)

    async def lang(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.Response(text=request.headers.get("Accept-Language", "none"),
                            headers={"Cache-Control": "max-age=60", "Vary": "Accept-Language"})

    app = web.Application()
    app.router.add_get("/r", resource)
    app.router.add_get("/lang", lang)
    return app, hits


@pytest.fixture
async def origin() -> AsyncIterator[tuple[LocalServer, list[str]]]:
    app, hits = origin_app()
    async with LocalServer(app) as server:
        yield server, hits


async def _ttls(redis_url: str, storage: RedisCacheStorage) -> dict[str, int]:
    """PTTL (ms) of every entry under the storage's prefix, by key name."""
    client = Redis.from_url(redis_url)
    try:
        base = storage.name_for("x").rsplit(":", 1)[0]
        names = [n.decode() async for n in client.scan_iter(match=base.replace("{", "\\{")
                                                             .replace("}", "\\}") + ":*")]
        return {n: await client.pttl(n) for n in names
                if not n.endswith((":index", ":sizes", ":lock"))}
    finally:
        await client.aclose()


@pytest.mark.parametrize(("query", "low", "high"), [
    ("cc=max-age=30", 29.0, 30.0),
    ("cc=max-age=30,stale-if-error=60", 89.0, 90.0),
    ("cc=max-age=30,stale-while-revalidate=100,stale-if-error=5", 129.0, 130.0),
    ("cc=max-age=5&etag=1", 599.0, 600.0),  # a validator: kept keep_validatable at least
    ("cc=max-age=900&etag=1", 899.0, 900.0),
])
async def test_entries_expire_with_freshness_plus_stale_allowances(
    redis_url: str, prefix: str, origin: tuple[LocalServer, list[str]], query: str,
    low: float, high: float,
) -> None:
    server, _ = origin
    async with RedisCacheStorage(redis_url, prefix=prefix) as storage, \
            CachedClient(base_url=server.base_url, storage=storage) as client:
        await client.get(f"/r?{query}")
        (ttl,) = (await _ttls(redis_url, storage)).values()
    assert low * 1000 < ttl <= high * 1000


async def test_an_expired_entry_is_gone_from_redis(
    redis_url: str, prefix: str, origin: tuple[LocalServer, list[str]]
) -> None:
    """max-age=1 and nothing else: the key's TTL is at most a second, then the origin is asked
    again (the index that bounds max_bytes forgets it too)."""
    server, hits = origin
    async with RedisCacheStorage(redis_url, prefix=prefix) as storage, \
            CachedClient(base_url=server.base_url, storage=storage) as client:
        await client.get("/r?cc=max-age=1")
        (ttl,) = (await _ttls(redis_url, storage)).values()
        assert 0 < ttl <= 1000
        await asyncio.sleep(ttl / 1000 + 0.05)
        assert await _ttls(redis_url, storage) == {}
        again = await client.get("/r?cc=max-age=1")
    assert again.metadata["cache"] == "miss" and len(hits) == 2


async def test_vary_facts_travel_with_the_entry(
    redis_url: str, prefix: str, origin: tuple[LocalServer, list[str]]
) -> None:
    """An entry stored under Vary: Accept-Language is served, from Redis and in another
    process's client, only to a request with the same Accept-Language."""
    server, hits = origin
    async with RedisCacheStorage(redis_url, prefix=prefix) as one, \
            RedisCacheStorage(redis_url, prefix=prefix) as two, \
            CachedClient(base_url=server.base_url, storage=one) as first, \
            CachedClient(base_url=server.base_url, storage=two) as second:
        stored = await first.get("/lang", headers={"Accept-Language": "pt"})
        same = await second.get("/lang", headers={"Accept-Language": "pt"})
        other = await second.get("/lang", headers={"Accept-Language": "en"})
    assert (stored.metadata["cache"], same.metadata["cache"]) == ("miss", "hit")
    assert await same.text() == "pt"
    assert other.metadata["cache"] != "hit" and await other.text() == "en"
    assert hits == ["/lang", "/lang"]


async def test_every_variant_is_kept(redis_url: str, prefix: str) -> None:
    """Each Vary variant the cache layer stores is an entry of its own: storing one does not
    displace another, and each comes back with its own Vary facts."""
    async with RedisCacheStorage(redis_url, prefix=prefix) as storage:
        now = time.time()
        for lang in ("pt", "en", "de"):
            await storage.set(f"GET http://h/lang vary:{lang}", CacheEntry(
                status=200, headers=(("Vary", "Accept-Language"),), body=lang.encode(),
                url="http://h/lang", reason="OK", stored_at=now, lifetime=60.0,
                vary=(("accept-language", lang),),
            ))
        found = [await storage.get(f"GET http://h/lang vary:{lang}") for lang in ("pt", "en", "de")]
    assert [(e.body, e.vary) for e in found if e is not None] == [
        (b"pt", (("accept-language", "pt"),)), (b"en", (("accept-language", "en"),)),
        (b"de", (("accept-language", "de"),)),
    ]


@pytest.mark.skipif(not hasattr(CacheEntry, "variants"), reason=(
    "this cache layer keeps one Vary variant per URL; the layer that keeps several (the RFC "
    "9111 work on behaviours/cache) stores each as an entry of its own"))
async def test_vary_variants_kept_across_processes_through_the_layer(
    redis_url: str, prefix: str, origin: tuple[LocalServer, list[str]]
) -> None:
    """Three languages through two clients on one Redis: the origin answers each once, every
    later request (either client, any order) is a hit with its own body, and no fetch lock is
    left behind (a variant's miss locks the variant's name; the fetch's end releases it)."""
    server, hits = origin
    async with RedisCacheStorage(redis_url, prefix=prefix) as one, \
            RedisCacheStorage(redis_url, prefix=prefix) as two, \
            CachedClient(base_url=server.base_url, storage=one) as first, \
            CachedClient(base_url=server.base_url, storage=two) as second:
        seen = []
        for client, lang in [(first, "pt"), (first, "en"), (second, "pt"), (second, "en"),
                             (first, "de"), (second, "de"), (second, "pt")]:
            response = await client.get("/lang", headers={"Accept-Language": lang})
            seen.append((lang, response.metadata["cache"], await response.text()))
        check = Redis.from_url(redis_url)
        try:
            base = one.name_for("x").rsplit(":", 1)[0].replace("{", "\\{").replace("}", "\\}")
            locks = [k async for k in check.scan_iter(match=base + ":*:lock")]
        finally:
            await check.aclose()
    assert [how for _, how, _ in seen] == ["miss", "miss", "hit", "hit", "miss", "hit", "hit"]
    assert all(lang == text for lang, _, text in seen)
    assert hits == ["/lang"] * 3
    assert locks == []


async def test_max_bytes_bounds_the_whole_prefix(
    redis_url: str, prefix: str, origin: tuple[LocalServer, list[str]]
) -> None:
    """max_bytes is the total under the prefix: storing past it drops the entries closest to
    expiring (never the one just stored); an entry larger than max_bytes alone is not stored,
    and the origin is asked again for it."""
    server, hits = origin
    async with RedisCacheStorage(redis_url, prefix=prefix, max_bytes=11_000) as storage, \
            CachedClient(base_url=server.base_url, storage=storage) as client:
        for age in (100, 50, 200):  # ~3.4 KB each, expiring in that many seconds
            await client.get(f"/r?cc=max-age={age}&size=3000")
        assert len(await _ttls(redis_url, storage)) == 3
        await client.get("/r?cc=max-age=10&size=3000")  # the fourth: the 50 s entry goes
        kept = sorted(round(t / 1000) for t in (await _ttls(redis_url, storage)).values())
        assert kept == [10, 100, 200]
        check = Redis.from_url(redis_url)
        try:
            sizes = {k.decode(): int(v) for k, v in
                     (await check.hgetall(storage.name_for("x").rsplit(":", 1)[0] + ":sizes"))
                     .items()}
            stored = [await check.strlen(n) for n in await _ttls(redis_url, storage)]
        finally:
            await check.aclose()
        assert sizes.pop("total") == sum(stored) == sum(sizes.values()) <= 11_000
        big = [await client.get("/r?cc=max-age=60&size=12000") for _ in range(2)]
        assert [r.metadata["cache"] for r in big] == ["miss", "miss"]
        assert hits.count("/r?cc=max-age=60&size=12000") == 2
        assert len(await _ttls(redis_url, storage)) == 3


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="max_bytes"):
        RedisCacheStorage(max_bytes=0)
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        RedisCacheStorage(lock_timeout=0)


# --------------------------------------------------------------------------- Redis goes away


async def test_redis_stopped_and_started_mid_run(
    own_redis: OwnRedis, origin: tuple[LocalServer, list[str]]
) -> None:
    """Redis stops: every request still gets its answer from the origin, at once, with one
    warning; Redis starts again (empty): after retry_every the cache fills and hits again."""
    server, hits = origin
    storage = RedisCacheStorage(own_redis.url, prefix="t:", timeout=0.3, retry_every=0.2)
    with capture_events() as logs:
        async with storage, CachedClient(base_url=server.base_url, storage=storage) as client:
            assert (await client.get("/r")).metadata["cache"] == "miss"
            assert (await client.get("/r")).metadata["cache"] == "hit"
            own_redis.stop()
            started = time.monotonic()
            down = [await client.get("/r") for _ in range(4)]
            assert time.monotonic() - started < 1.0
            assert [r.status for r in down] == [200] * 4
            assert [r.metadata["cache"] for r in down] == ["miss"] * 4
            own_redis.start()
            await asyncio.sleep(0.25)  # past retry_every
            back = [(await client.get("/r")).metadata["cache"] for _ in range(2)]
    assert back == ["miss", "hit"]
    assert len(hits) == 1 + 4 + 1
    warnings = [e for e in logs if e["event"] == "cache.redis.unreachable"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    assert storage.outages == 1
    assert "cache.redis.reachable" in [e["event"] for e in logs]


async def test_a_frozen_redis_costs_one_timeout_not_one_per_request(
    own_redis: OwnRedis, origin: tuple[LocalServer, list[str]]
) -> None:
    """Redis frozen (SIGSTOP: connections open, no answers): the first request waits
    ``timeout`` for Redis, then goes to the origin; the next ones within ``retry_every`` skip
    Redis at once. Unfrozen, the entries it held are served again."""
    server, hits = origin
    storage = RedisCacheStorage(own_redis.url, prefix="t:", timeout=0.3, retry_every=1.0)
    async with storage, CachedClient(base_url=server.base_url, storage=storage) as client:
        await client.get("/r")
        own_redis.hang()
        try:
            started = time.monotonic()
            first = await client.get("/r")
            first_took = time.monotonic() - started
            started = time.monotonic()
            rest = [await client.get("/r") for _ in range(5)]
            rest_took = time.monotonic() - started
        finally:
            own_redis.wake()
        await asyncio.sleep(1.0)  # past retry_every
        again = await client.get("/r")
    assert 0.25 < first_took < 1.0
    assert rest_took < 0.25
    assert [r.status for r in [first, *rest]] == [200] * 6
    assert again.metadata["cache"] == "hit"
    assert len(hits) == 1 + 6

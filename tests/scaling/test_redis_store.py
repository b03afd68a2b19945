"""RedisRateLimitStore against a real Redis server: one script per acquire, the server's clock,
shared pauses, corrections, TTLs, Cluster hash tags, and each choice when Redis goes away."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from pepperpy_core import (
    ConfigurationError,
    RateLimit,
    RateLimitedClient,
    RateLimitError,
    RedisRateLimitStore,
)
from pepperpy_core.behaviours.rate_limit import HoldingRateLimitStore, Rate, RateLimitStore
from pepperpy_core.testing import LocalServer, capture_events

from .conftest import OwnRedis


async def test_sliding_window_on_the_server(redis_url: str, prefix: str) -> None:
    """3 per second: three pass, the fourth is told to wait for the first to leave the window;
    the caller's "now" is ignored (the server's clock counts)."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        assert isinstance(store, RateLimitStore)
        rates = [Rate(3, 1.0)]
        started = time.monotonic()
        for _ in range(3):
            assert await store.acquire("k", rates, 1, now=-1e9) == 0
        wait = await store.acquire("k", rates, 1, now=1e12)
        elapsed = time.monotonic() - started  # the first grant's window ends 1 s after it
        assert 1.0 - elapsed - 0.01 < wait <= 1.0 + 0.01
        await asyncio.sleep(wait)
        assert await store.acquire("k", rates, 1) == 0


async def test_several_rates_and_weight_in_one_acquire(redis_url: str, prefix: str) -> None:
    """Two rates and a weight are decided together; a refused acquire records nothing."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(10, 0.5), Rate(12, 60.0)]
        assert await store.acquire("k", rates, 10) == 0
        assert 0.4 < await store.acquire("k", rates, 1) <= 0.5  # the per-half-second rate
        await asyncio.sleep(0.5)
        assert await store.acquire("k", rates, 2) == 0
        wait = await store.acquire("k", rates, 1)  # the per-minute rate now
        assert 59.0 < wait <= 60.0
        assert await store.acquire("other", rates, 10) == 0


async def test_weights_leave_the_count_exactly_as_they_expire(
    redis_url: str, prefix: str
) -> None:
    """Mixed weights expire with their own weight (the script counts plain members by number
    and heavier ones by their weight): after the window the whole quota is back, no more."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(10, 0.3)]
        for weight in (5, 1, 1, 3):
            assert await store.acquire("k", rates, weight) == 0
        assert await store.acquire("k", rates, 1) > 0  # full
        await asyncio.sleep(0.31)
        for weight in (1, 1, 1, 7):  # all of it back: weight 1 members and heavy ones alike
            assert await store.acquire("k", rates, weight) == 0
        assert await store.acquire("k", rates, 1) > 0  # full
        await asyncio.sleep(0.31)
        assert await store.acquire("k", rates, 10) == 0


async def test_the_count_stays_exact_as_heavy_members_come_and_go(
    redis_url: str, prefix: str
) -> None:
    """Plain members are counted by the log's size, heavier ones by their weight: a key that
    goes from plain to heavy and back, window after window, grants its quota exactly."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(4, 0.3)]
        for weight in (1, 1, 2):
            assert await store.acquire("k", rates, weight) == 0
        assert await store.acquire("k", rates, 1) > 0  # full: 1 + 1 + 2
        await asyncio.sleep(0.31)
        for _ in range(4):  # plain again: the heavy member's weight is gone with it
            assert await store.acquire("k", rates, 1) == 0
        assert await store.acquire("k", rates, 1) > 0
        await asyncio.sleep(0.31)
        assert await store.acquire("k", rates, 3) == 0
        assert await store.acquire("k", rates, 2) > 0
        assert await store.acquire("k", rates, 1) == 0
        assert await store.acquire("k", rates, 1) > 0

async def test_the_count_stays_exact_when_the_last_heavy_member_leaves(
    redis_url: str, prefix: str
) -> None:
    """The heavy member leaves while a plain one stays: the count drops by its weight at once
    and the next acquires see it (the quota is neither short nor over), also between two renewals
of the keys' TTLs."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(4, 0.25)]
        assert await store.acquire("k", rates, 2) == 0
        await asyncio.sleep(0.2)
        assert await store.acquire("k", rates, 1) == 0  # 3 counted
        await asyncio.sleep(0.07)  # the weight 2 has left: 1 counted
        assert await store.acquire("k", rates, 1) == 0
        assert await store.acquire("k", rates, 1) == 0
        assert await store.acquire("k", rates, 1) == 0
        assert await store.acquire("k", rates, 1) > 0  # 4 counted: full

async def test_two_stores_share_one_quota(redis_url: str, prefix: str) -> None:
    """Two clients of Redis (as two processes would be) draw from one budget."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as a, \
            RedisRateLimitStore(redis_url, prefix=prefix) as b:
        rates = [Rate(4, 5.0)]
        granted = [await s.acquire("k", rates, 1) == 0 for s in (a, b, a, b, a, b)]
        assert granted == [True, True, True, True, False, False]


async def test_pause_is_shared_and_a_later_end_wins(redis_url: str, prefix: str) -> None:
    """A pause set by one client holds the key for the other; a shorter pause after it does not
    cut it short."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as a, \
            RedisRateLimitStore(redis_url, prefix=prefix) as b:
        rates = [Rate(100, 1.0)]
        await a.pause("k", 0.4)
        await a.pause("k", 0.1)
        wait = await b.acquire("k", rates, 1)
        assert 0.3 < wait <= 0.4
        assert await b.acquire("free", rates, 1) == 0
        await asyncio.sleep(wait)
        assert await b.acquire("k", rates, 1) == 0


async def test_correct_raises_the_shared_count_never_lowers_it(
    redis_url: str, prefix: str
) -> None:
    """The server's figure raises the count (and leaves at its reset); a lower one is ignored."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rate = Rate(10, 60.0)
        assert await store.acquire("k", [rate], 3) == 0
        await store.correct("k", rate, 2, None)  # we counted more already: no change
        assert await store.acquire("k", [rate], 7) == 0
        assert await store.acquire("k", [rate], 1) > 59
        await store.correct("other", rate, 10, reset=0.3)  # full until 0.3 s from now
        wait = await store.acquire("other", [rate], 1)
        assert 0.2 < wait <= 0.31
        await asyncio.sleep(wait)
        assert await store.acquire("other", [rate], 10) == 0


async def test_keys_carry_ttls_and_share_one_cluster_slot(redis_url: str, prefix: str) -> None:
    """Every rate's log expires within its window (plus a second), the key's hash (pause and
    counts) with the longest of its logs or its pause, never sooner; all names of one limiter
    key hash to one Redis Cluster slot, and the prefix starts every name."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(5, 2.0), Rate(50, 30.0)]
        assert await store.acquire("http://api.example.com", rates, 1) == 0
        await store.pause("http://api.example.com", 3.0)  # shorter than the hash's TTL
        names = store.key_names("http://api.example.com", rates)
        assert len(names) == 3
        assert len({key_slot(n.encode()) for n in names}) == 1
        assert all(n.startswith(prefix + "rl:{http://api.example.com}") for n in names)
        client = Redis.from_url(redis_url)
        try:
            hash_ttl, *log_ttls = [await client.pttl(n) for n in names]
            assert 2000 < log_ttls[0] <= 3002 and 29000 < log_ttls[1] <= 31002
            assert 29000 < hash_ttl <= 31002
            await store.pause("http://api.example.com", 45.0)  # longer: the hash lasts as long
            assert 44000 < await client.pttl(names[0]) <= 45001
            assert await store.acquire("http://api.example.com", rates, 1) > 44
            await store.pause("other", 0.5)  # a key with a pause only
            assert 0 < await client.pttl(store.key_names("other", rates)[0]) <= 501
        finally:
            await client.aclose()


async def test_ttls_follow_the_newest_member_when_refreshed_only_near_expiry(
    redis_url: str, prefix: str
) -> None:
    """An acquire renews the keys' TTLs only when they run short (or the log is new), yet at
    every moment both keys of a rate expire no sooner than their newest member leaves the
    window and no later than a second after: a log emptied by its window and written again
    gets its TTL back at once."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        rates = [Rate(100, 0.2)]
        names = store.key_names("k", rates)
        client = Redis.from_url(redis_url)
        try:
            for step in range(14):  # 1.4 s of acquires: several renewals
                assert await store.acquire("k", rates, 1) == 0
                ttls = [await client.pttl(n) for n in names]
                assert all(200 <= t <= 1202 for t in ttls), (step, ttls)
                await asyncio.sleep(0.1)
            fresh = store.key_names("fresh", rates)
            assert await store.acquire("fresh", rates, 1) == 0
            await asyncio.sleep(0.25)  # its member left the window (the keys' TTLs had 1.2 s)
            assert await store.acquire("fresh", rates, 1) == 0
            assert await client.zcard(fresh[1]) == 1
            ttls = [await client.pttl(n) for n in fresh]
            assert all(1000 < t <= 1202 for t in ttls), ttls
        finally:
            await client.aclose()


async def test_a_held_grant_counts_until_a_window_after_its_settle(
    redis_url: str, prefix: str
) -> None:
    """Requests still in flight keep their weight counted past their window, and a waiter is
    told a whole window (the earliest an unanswered request can free its weight); settled, a
    request's weight leaves a window after the settle, not after the grant."""
    async with RedisRateLimitStore(redis_url, prefix=prefix) as store:
        assert isinstance(store, HoldingRateLimitStore)
        rates = [Rate(2, 0.2)]
        holds = []
        for _ in range(2):
            wait, hold = await store.acquire_held("k", rates, 1)
            assert wait == 0 and hold is not None
            holds.append(hold)
        assert await store.acquire_held("k", rates, 1) == (0.2, None)
        await asyncio.sleep(0.25)  # a window since the grants: both still count
        assert await store.acquire("k", rates, 1) == 0.2
        await store.settle(holds[0])
        settled = time.monotonic()
        wait = await store.acquire("k", rates, 1)
        assert 0.15 < wait <= 0.2 - (time.monotonic() - settled) + 0.005
        await asyncio.sleep(wait)
        assert await store.acquire("k", rates, 1) == 0  # the plain grant counts from now
        await store.settle(holds[0])  # twice: nothing changes, nothing breaks
        # full again: the plain grant, and the other request still in flight
        assert await store.acquire("k", rates, 1) == pytest.approx(0.2, abs=0.005)


async def test_a_settle_with_no_acquire_after_it_is_flushed_alone(
    redis_url: str, prefix: str
) -> None:
    """No later acquire to carry it: the settle goes out by itself (at the latest on aclose),
    the request's member leaves the in-flight lease, and the keys' TTLs shrink to the
    window."""
    rates = [Rate(5, 2.0)]
    store = RedisRateLimitStore(redis_url, prefix=prefix)
    _, hold = await store.acquire_held("k", rates, 1)
    names = store.key_names("k", rates)
    client = Redis.from_url(redis_url)
    try:
        assert await client.pttl(names[1]) > 60_000  # in flight: the lease and the window
        await store.settle(hold)
        await store.aclose()
        ((_, score),) = await client.zrange(names[1], 0, -1, withscores=True)
        seconds, micros = await client.time()
        server_now = seconds * 1_000_000 + micros
        assert server_now - 1_000_000 < score <= server_now
        assert 0 < await client.pttl(names[1]) <= 3001
    finally:
        await client.aclose()


async def test_a_holder_that_never_settles_frees_its_weight_after_the_lease(
    redis_url: str, prefix: str
) -> None:
    """A process that dies mid-request: its weight counts for ``in_flight_lease`` plus the
    window, and the keys' TTLs cover that long (then nothing is left)."""
    async with RedisRateLimitStore(redis_url, prefix=prefix, in_flight_lease=0.3) as store:
        rates = [Rate(1, 0.2)]
        wait, hold = await store.acquire_held("k", rates, 1)
        assert wait == 0 and hold is not None
        client = Redis.from_url(redis_url)
        try:
            ttls = [await client.pttl(n) for n in store.key_names("k", rates)]
            assert all(1400 < t <= 1502 for t in ttls), ttls
            await asyncio.sleep(0.35)  # past the lease: now it is an ordinary 0.2 s count
            assert 0.1 < await store.acquire("k", rates, 1) <= 0.2
            await asyncio.sleep(0.2)
            assert await store.acquire("k", rates, 1) == 0
        finally:
            await client.aclose()


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="on_unavailable"):
        RedisRateLimitStore(on_unavailable="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="local_share"):
        RedisRateLimitStore(local_share=0)
    with pytest.raises(ConfigurationError, match="in_flight_lease"):
        RedisRateLimitStore(in_flight_lease=0)


async def test_client_layer_shares_the_quota_over_redis(
    redis_url: str, prefix: str, server: LocalServer
) -> None:
    """Two clients with one Redis-backed RateLimit(5 per 0.5 s): 15 requests between them take
    at least two more windows, and every one is answered."""
    limit = RateLimit.of((5, 0.5))
    store = RedisRateLimitStore(redis_url, prefix=prefix)
    async with store, RateLimitedClient(5, 0.5, base_url=server.base_url, rate_limit=limit,
                                        rate_limit_store=store) as one, \
            RateLimitedClient(5, 0.5, base_url=server.base_url, rate_limit=limit,
                              rate_limit_store=store) as two:
        started = time.monotonic()
        answers = await asyncio.gather(
            *[(one if i % 2 else two).get("/data") for i in range(15)]
        )
        took = time.monotonic() - started
    assert [r.status for r in answers] == [200] * 15
    assert 0.95 < took < 3.0


async def test_announced_limits_are_shared_through_redis(
    redis_url: str, prefix: str
) -> None:
    """One client hears X-RateLimit-Remaining: 0 with a 1 s reset; the other client, sharing the
    store, waits that second before sending (before any 429)."""
    from aiohttp import web

    seen: list[float] = []

    async def api(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        return web.json_response({}, headers={"X-RateLimit-Limit": "100",
                                              "X-RateLimit-Remaining": "0",
                                              "X-RateLimit-Reset": "1"})

    app = web.Application()
    app.router.add_get("/api", api)
    limit = RateLimit.of((100, 60.0))
    store = RedisRateLimitStore(redis_url, prefix=prefix)
    async with LocalServer(app) as origin, store, \
            RateLimitedClient(base_url=origin.base_url, rate_limit=limit,
                              rate_limit_store=store) as one, \
            RateLimitedClient(base_url=origin.base_url, rate_limit=limit,
                              rate_limit_store=store) as two:
        await one.get("/api")
        response = await two.get("/api")
    assert seen[1] - seen[0] >= 0.9
    assert response.metadata["rate_limit_wait_s"] >= 0.9


# --------------------------------------------------------------------------- Redis goes away


async def test_an_acquire_loads_its_script_again_when_the_server_forgot_it(
    own_redis: OwnRedis,
) -> None:
    """A server that lost its scripts (restarted, flushed, or another one behind the same
    address) still counts every acquire: the script is loaded again and run, no error, no
    outage."""
    async with RedisRateLimitStore(own_redis.url, prefix="t:") as store:
        rates = [Rate(3, 30.0)]
        assert await store.acquire("k", rates, 1) == 0
        client = Redis.from_url(own_redis.url)
        try:
            await client.script_flush()
            assert await store.acquire("k", rates, 1) == 0
            assert await store.acquire("k", rates, 1) == 0
            assert await store.acquire("k", rates, 1) > 29
            assert store.outages == 0
        finally:
            await client.aclose()

@pytest.mark.parametrize("mode", ["local", "raise", "allow"])
async def test_each_choice_when_redis_stops_and_starts(
    own_redis: OwnRedis, mode: str
) -> None:
    """Redis stopped mid-run: "local" counts a quarter of the quota in memory, "raise" fails
    closed with RateLimitError, "allow" lets requests through; a warning says so, each call
    returns within the timeout (nothing hangs), and counting goes back to Redis once it is
    back."""
    rates = [Rate(8, 30.0)]
    store = RedisRateLimitStore(own_redis.url, prefix="t:", timeout=0.3, retry_every=0.2,
                                on_unavailable=mode)  # type: ignore[arg-type]
    with capture_events() as logs:
        await _through_an_outage(store, own_redis, mode, rates, logs)


async def _through_an_outage(store: RedisRateLimitStore, own_redis: OwnRedis, mode: str,
                             rates: list[Rate], logs: list[dict[str, object]]) -> None:
    try:
        assert await store.acquire("k", rates, 1) == 0
        own_redis.stop()
        outcomes: Counter[str] = Counter()
        started = time.monotonic()
        for _ in range(6):
            try:
                outcomes["granted" if await store.acquire("k", rates, 1) == 0 else "wait"] += 1
            except RateLimitError as exc:
                assert "Redis" in str(exc) and exc.retry_after == pytest.approx(0.2)
                outcomes["raised"] += 1
        assert time.monotonic() - started < 2.0
        expected = {"local": {"granted": 2, "wait": 4}, "raise": {"raised": 6},
                    "allow": {"granted": 6}}[mode]
        assert dict(outcomes) == expected
        warnings = [e for e in logs if e["event"] == "rate_limit.redis.unreachable"]
        assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
        assert warnings[0]["fallback"] == mode
        own_redis.start()
        await asyncio.sleep(0.25)  # past retry_every: the next call tries Redis again
        assert await store.acquire("k", rates, 1) == 0  # a fresh server: an empty count
        assert [e["event"] for e in logs][-1] == "rate_limit.redis.reachable"
        check = Redis.from_url(own_redis.url)
        try:
            assert await check.exists(*store.key_names("k", rates)) == 2
        finally:
            await check.aclose()
    finally:
        await store.aclose()


@pytest.mark.parametrize("mode", ["local", "raise", "allow"])
@pytest.mark.parametrize("how", ["stopped", "frozen"])
async def test_a_client_runs_through_a_redis_outage(
    own_redis: OwnRedis, mode: str, how: str
) -> None:
    """Redis goes away under a request in flight (its settle finds no Redis): that request
    still gets its answer; the next 12 follow the choice ("local": a quarter of the 40 pass,
    the rest are refused at once with max_wait=0; "raise": all refused; "allow": all pass),
    each within the timeout; Redis back, the next request is counted there again."""
    from aiohttp import web

    sent: list[int] = []

    async def api(request: web.Request) -> web.Response:
        sent.append(len(sent))
        if len(sent) == 2:
            own_redis.stop() if how == "stopped" else own_redis.hang()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/api", api)
    rates = [Rate(40, 30.0)]
    store = RedisRateLimitStore(own_redis.url, prefix="t:", timeout=0.3, retry_every=0.5,
                                on_unavailable=mode)  # type: ignore[arg-type]
    outcomes: Counter[str] = Counter()
    async with LocalServer(app) as origin, store, RateLimitedClient(
        base_url=origin.base_url, rate_limit=RateLimit(rates=tuple(rates), max_wait=0.0),
        rate_limit_store=store, retries=0,
    ) as client:
        try:
            for _ in range(2):
                assert (await client.get("/api")).status == 200  # the second stops Redis
            started = time.monotonic()
            for _ in range(12):
                try:
                    outcomes[str((await client.get("/api")).status)] += 1
                except RateLimitError:
                    outcomes["refused"] += 1
            took = time.monotonic() - started
        finally:
            if how == "frozen":
                own_redis.wake()
        if how == "stopped":
            own_redis.start()
        await asyncio.sleep(0.55)  # past retry_every
        assert (await client.get("/api")).status == 200
        check = Redis.from_url(own_redis.url)
        try:
            counted = await check.zcard(store.key_names("*", rates)[1])  # weights of 1
        finally:
            await check.aclose()
    assert dict(outcomes) == {"local": {"200": 10, "refused": 2}, "raise": {"refused": 12},
                              "allow": {"200": 12}}[mode]
    assert took < 0.3 + 0.5 + 0.3  # one timeout at most, and one retry of Redis
    assert store.outages == 1
    if how == "stopped":  # a fresh server: only the request after the outage
        assert int(counted) == 1
    else:  # the same server: the first two, the one after, and any acquire that timed out
        assert 3 <= int(counted) <= 5  # while frozen (Redis runs it once it wakes)

"""Rate limit: the pure store on a fake clock, the layer's wait/raise modes, and the shared
pause on a real server."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from pepperpy_core import ConfigurationError, HttpClient, RateLimitError, RateLimitException
from pepperpy_core.behaviours.rate_limit import (
    MemoryRateLimitStore,
    Rate,
    RateLimit,
    RateLimitedClient,
    RateLimitMiddleware,
    RateLimitStore,
)
from pepperpy_core.http.models import Request, Response
from pepperpy_core.testing import FakeClock, LocalServer


async def ok(request: Request) -> Response:
    return Response(200, request=request)


def layer_on(clock: FakeClock, limit: RateLimit, **kw: object) -> RateLimitMiddleware:
    return RateLimitMiddleware(limit, clock=clock.time, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the policy


def test_policy_is_an_immutable_value() -> None:
    """RateLimit normalises pairs to Rates, compares by value and copies with with_()."""
    a = RateLimit.of((10, 1.0), (1200, 60.0))
    assert a.rates == (Rate(10, 1.0), Rate(1200, 60.0))
    assert a == RateLimit(rates=((10, 1), (1200, 60)))  # type: ignore[arg-type]
    assert a.with_(per="host").per == "host" and a.per == "global"
    with pytest.raises(AttributeError):
        a.per = "host"  # type: ignore[misc]


def test_policy_rejects_bad_values() -> None:
    """Bad rates, modes and weights raise ConfigurationError naming the problem."""
    with pytest.raises(ConfigurationError):
        Rate(0, 1.0)
    with pytest.raises(ConfigurationError):
        RateLimit.of((1, 0.0))
    with pytest.raises(ConfigurationError):
        RateLimit.of((1, 1.0), on_limit="drop")  # type: ignore[arg-type]
    limit = RateLimit.of((5, 1.0))
    with pytest.raises(ConfigurationError, match="never pass"):
        limit.weight_of(Request("GET", "http://h/", extensions={"weight": 6}))


def test_keys_global_host_and_custom() -> None:
    """'global' shares one key, 'host' keys by scheme+host+port, a function decides itself."""
    req = Request("GET", "http://user@API.example.com:8080/x?q=1")
    assert RateLimit.of((1, 1.0)).key_for(req) == "*"
    assert RateLimit.of((1, 1.0), per="host").key_for(req) == "http://api.example.com:8080"
    assert RateLimit.of((1, 1.0), per=lambda r: r.method).key_for(req) == "GET"


# --------------------------------------------------------------------------- the store


async def test_sliding_window_is_strict() -> None:
    """At most max_requests in any window: the 4th of 3/10s waits until the 1st expires."""
    store = MemoryRateLimitStore()
    rates = [Rate(3, 10.0)]
    for t in (0.0, 1.0, 2.0):
        assert await store.acquire("k", rates, 1, t) == 0
    assert await store.acquire("k", rates, 1, 5.0) == pytest.approx(5.0)
    assert await store.acquire("k", rates, 1, 10.0) == 0  # the t=0 entry has left the window
    assert await store.acquire("k", rates, 1, 10.5) == pytest.approx(0.5)


async def test_several_rates_and_weights() -> None:
    """All rates apply at once; a weight counts as that many requests."""
    store = MemoryRateLimitStore()
    rates = [Rate(10, 1.0), Rate(12, 60.0)]
    assert await store.acquire("k", rates, 10, 0.0) == 0
    assert await store.acquire("k", rates, 1, 0.1) == pytest.approx(0.9)  # per-second rate
    assert await store.acquire("k", rates, 2, 1.0) == 0
    assert await store.acquire("k", rates, 1, 2.0) == pytest.approx(58.0)  # per-minute rate


async def test_pause_holds_the_key() -> None:
    """A pause (seconds from now) makes every acquire on the key wait until it ends; other keys
    are free; a shorter pause given later does not cut it short."""
    store = MemoryRateLimitStore()
    rates = [Rate(100, 1.0)]
    await store.pause("k", 6.0, now=1.0)
    await store.pause("k", 1.0, now=1.5)
    assert await store.acquire("k", rates, 1, 2.0) == pytest.approx(5.0)
    assert await store.acquire("other", rates, 1, 2.0) == 0
    assert await store.acquire("k", rates, 1, 7.0) == 0


def test_log_of_a_high_rate_stays_small() -> None:
    """A million-per-second rate fed 100,000 requests holds about a thousand log entries, and
    still never lets more than max_requests through in any window."""
    store = MemoryRateLimitStore()
    rates = [Rate(1_000_000, 1.0)]
    for i in range(100_000):
        assert store.acquire_now("k", rates, 1, i * 1e-5) == 0
    (window,) = store._keys["k"].windows.values()
    assert len(window.log) <= 1001 and window.used == 100_000
    tight = [Rate(3, 1.0)]
    for t in (0.0, 0.0002, 0.0004):  # one slot: they expire together, with the latest
        assert store.acquire_now("t", tight, 1, t) == 0
    assert store.acquire_now("t", tight, 1, 0.5) == pytest.approx(0.5004)
    assert store.acquire_now("t", tight, 1, 1.0004) == 0


async def test_store_memory_is_bounded() -> None:
    """Idle keys are swept away; a log never holds more than max_requests entries."""
    store = MemoryRateLimitStore(sweep_every=100)
    rates = [Rate(5, 1.0)]
    for i in range(1000):
        await store.acquire(f"host{i}", rates, 1, float(i))
    assert len(store) <= 100
    assert isinstance(store, RateLimitStore)


def test_sweeping_after_every_new_slot_forgets_no_count() -> None:
    """With two rates on a key and a sweep after every new slot, every rate still counts every
    request (a sweep never drops a window that is about to be written)."""
    store = MemoryRateLimitStore(sweep_every=1)
    rates = [Rate(2, 1.0), Rate(3, 10.0)]
    assert store.acquire_now("k", rates, 1, 0.0) == 0
    assert store.acquire_now("k", rates, 1, 0.5) == 0
    assert store.acquire_now("k", rates, 1, 0.6) == pytest.approx(0.4)  # 2 per second
    assert store.acquire_now("k", rates, 1, 1.1) == 0
    assert store.acquire_now("k", rates, 1, 2.2) == pytest.approx(7.8)  # 3 per 10 s
    assert store.acquire_now("k", rates, 1, 10.0) == 0


# --------------------------------------------------------------------------- the layer


async def test_waits_by_default_on_fake_clock(clock: FakeClock) -> None:
    """5 requests through 2/1s: the layer sleeps (virtually) and records the waits."""
    layer = layer_on(clock, RateLimit.of((2, 1.0)))
    responses = [await layer(Request("GET", "http://h/"), ok) for _ in range(5)]
    assert clock.total_slept == pytest.approx(2.0)
    assert responses[-1].metadata["rate_limit_wait_s"] == pytest.approx(1.0)
    assert "rate_limit_wait_s" not in responses[0].metadata


async def test_raise_mode_raises_rate_limit_exception(clock: FakeClock) -> None:
    """on_limit='raise' raises RateLimitException (the documents' behaviour) with retry_after."""
    layer = layer_on(clock, RateLimit.of((1, 10.0), on_limit="raise"))
    await layer(Request("GET", "http://h/"), ok)
    clock.advance(4)
    with pytest.raises(RateLimitException) as info:
        await layer(Request("GET", "http://h/"), ok)
    assert info.value.retry_after == pytest.approx(6.0)
    assert clock.sleeps == []


async def test_max_wait_bounds_the_wait(clock: FakeClock) -> None:
    """A wait longer than max_wait raises instead of sleeping."""
    layer = layer_on(clock, RateLimit.of((1, 60.0), max_wait=5.0))
    await layer(Request("GET", "http://h/"), ok)
    with pytest.raises(RateLimitError, match="max_wait"):
        await layer(Request("GET", "http://h/"), ok)


async def test_weight_per_request(clock: FakeClock) -> None:
    """weight=5 on a 10/1s limit: the third such request waits a second."""
    layer = layer_on(clock, RateLimit.of((10, 1.0)))
    for _ in range(3):
        await layer(Request("GET", "http://h/", extensions={"weight": 5}), ok)
    assert clock.total_slept == pytest.approx(1.0)


async def test_per_host_keys_are_independent(clock: FakeClock) -> None:
    """per='host': two hosts each get their own budget."""
    layer = layer_on(clock, RateLimit.of((1, 1.0), per="host"))
    await layer(Request("GET", "http://a/"), ok)
    await layer(Request("GET", "http://b/"), ok)
    assert clock.sleeps == []
    await layer(Request("GET", "http://a/"), ok)
    assert clock.total_slept == pytest.approx(1.0)


async def test_replacing_the_limit_changes_the_keys(clock: FakeClock) -> None:
    """A layer's limit replaced at run time applies from the next request, keys included."""
    layer = layer_on(clock, RateLimit.of((1, 1.0), per="host"))
    await layer(Request("GET", "http://a/"), ok)
    layer.limit = layer.limit.with_(per="global")
    await layer(Request("GET", "http://b/"), ok)
    await layer(Request("GET", "http://c/"), ok)
    assert clock.total_slept == pytest.approx(1.0)


async def test_waiters_are_released_in_order(clock: FakeClock) -> None:
    """Concurrent waiters on one key pass in arrival order, one per slot."""
    layer = layer_on(clock, RateLimit.of((1, 1.0)))
    order: list[int] = []

    async def one(i: int) -> None:
        await layer(Request("GET", "http://h/"), ok)
        order.append(i)

    await asyncio.gather(*(one(i) for i in range(6)))
    assert order == list(range(6))
    assert clock.now - 1000.0 == pytest.approx(5.0)


async def test_retry_after_pauses_every_task(clock: FakeClock) -> None:
    """A 429 with Retry-After: 30 makes other tasks on the key wait 30 s before sending."""
    layer = layer_on(clock, RateLimit.of((100, 1.0)))

    async def throttled(request: Request) -> Response:
        return Response(429, headers={"Retry-After": "30"}, request=request)

    await layer(Request("GET", "http://h/"), throttled)
    response = await layer(Request("GET", "http://h/"), ok)
    assert response.metadata["rate_limit_wait_s"] == pytest.approx(30.0)


@pytest.mark.parametrize("shared_pause", [True, False])
async def test_shared_pause_prevents_the_herd(
    server: LocalServer, hits: Counter[str], shared_pause: bool
) -> None:
    """60 parallel GETs against a server that throttles after 5: the 429's Retry-After pauses
    every task, so only the first wave meets the penalty; without the shared pause (the
    control) the limiter keeps feeding requests into it."""
    statuses = frozenset({429, 503}) if shared_pause else frozenset()
    limit = RateLimit.of((5, 0.05), pause_statuses=statuses)  # 100/s: outpaces the server
    async with HttpClient(base_url=server.base_url, retries=5,
                          middlewares=[RateLimitMiddleware(limit)]) as client:
        responses = await asyncio.gather(*(
            client.get("/throttle", params={"allow": 5, "penalty": 0.3}) for _ in range(60)
        ))
    assert all(r.status == 200 for r in responses)
    if shared_pause:
        assert hits["throttle-429"] <= 8
    else:
        assert hits["throttle-429"] >= 15


async def test_rate_limited_client_waits_by_default(server: LocalServer) -> None:
    """RateLimitedClient(max_requests, window) waits for a slot; raise_on_limit=True raises."""
    clock = FakeClock()
    async with RateLimitedClient(3, 10.0, base_url=server.base_url, clock=clock.time,
                                 sleep=clock.sleep) as client:
        for _ in range(4):
            assert (await client.get("/plain")).status == 200
        assert client.max_requests == 3 and client.window == 10.0
    assert clock.total_slept == pytest.approx(10.0)
    async with RateLimitedClient(1, 60.0, raise_on_limit=True, base_url=server.base_url) as client:
        await client.get("/plain")
        with pytest.raises(RateLimitError):
            await client.get("/plain")

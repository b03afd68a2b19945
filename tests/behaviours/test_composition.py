"""The behaviours together: canonical order whatever the bases' order, every pair and the full
stack on one scenario, user layers and user ``_send_request`` overrides."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from pepperpy_core import HttpClient, Request, Response
from pepperpy_core.behaviours import (
    CachedClient,
    CacheMiddleware,
    CacheMixin,
    CachePolicy,
    HttpMetrics,
    MemoryRateLimitStore,
    MetricsClient,
    MetricsMiddleware,
    MetricsMixin,
    Rate,
    RateLimit,
    RateLimitedClient,
    RateLimitMiddleware,
    RateLimitMixin,
    RetryMiddleware,
    RetryMixin,
    RetryPolicy,
)
from pepperpy_core.http.chain import RANK_USER, CallNext
from pepperpy_core.testing import FakeClock, LocalServer

CANONICAL = [MetricsMiddleware, CacheMiddleware, RetryMiddleware, RateLimitMiddleware]
MIXINS = {"metrics": MetricsMixin, "cache": CacheMixin, "retry": RetryMixin,
          "rate_limit": RateLimitMixin}
NAMES = list(MIXINS)
COMBOS = [c for n in (2, 4) for c in itertools.combinations(NAMES, n)]


class CountingStore(MemoryRateLimitStore):
    """Counts the tokens granted: one per request that went on to the server."""

    def __init__(self) -> None:
        super().__init__()
        self.granted = 0

    async def acquire(self, key: str, rates: Sequence[Rate], weight: int, now: float) -> float:
        wait = self.acquire_now(key, rates, weight, now)
        self.granted += wait == 0
        return wait


def test_order_is_canonical_whatever_the_bases() -> None:
    """All 24 orders of the four mixins give metrics -> cache -> retry -> rate limit."""
    for bases in itertools.permutations(MIXINS.values()):
        cls: Any = type("Client", (*bases, HttpClient), {})
        client = cls(rate_limit=RateLimit.of((10, 1.0)))
        assert [type(layer) for layer in client.middlewares] == CANONICAL


def test_order_is_canonical_for_middlewares_argument() -> None:
    """HttpClient(middlewares=[...]) in a shuffled order runs them in the canonical order."""
    layers: list[Any] = [MetricsMiddleware(), CacheMiddleware(), RetryMiddleware(),
                         RateLimitMiddleware(RateLimit.of((1, 1.0)))]
    random.Random(3).shuffle(layers)
    client = HttpClient(retries=0, middlewares=layers)
    assert [type(layer) for layer in client.middlewares] == CANONICAL


def _client(combo: tuple[str, ...], via: str, server: LocalServer, clock: FakeClock,
            store: CountingStore, metrics: HttpMetrics) -> HttpClient:
    time_kw: dict[str, Any] = {"clock": clock.time, "sleep": clock.sleep}
    retry = RetryPolicy(total=2, backoff_base=1.0, jitter=False)
    limit = RateLimit.of((1, 10.0))
    if via == "middlewares":
        make = {
            "metrics": lambda: MetricsMiddleware(metrics, clock=clock.time),
            "cache": lambda: CacheMiddleware(CachePolicy(), clock=clock.time),
            "retry": lambda: RetryMiddleware(retry, **time_kw),
            "rate_limit": lambda: RateLimitMiddleware(limit, store=store, **time_kw),
        }
        layers = [make[name]() for name in reversed(combo)]  # given inner-first on purpose
        return HttpClient(base_url=server.base_url, retries=0, middlewares=layers)
    bases = [MIXINS[name] for name in reversed(combo)]
    cls: Any = type("Client", (*bases, HttpClient), {})
    options: dict[str, Any] = {"base_url": server.base_url, **time_kw,
                               "retries": retry if "retry" in combo else 0}
    if "metrics" in combo:
        options["metrics"] = metrics
    if "rate_limit" in combo:
        options.update(rate_limit=limit, rate_limit_store=store)
    return cls(**options)  # type: ignore[no-any-return]


@pytest.mark.parametrize("via", ["mixins", "middlewares"])
@pytest.mark.parametrize("combo", COMBOS, ids=["+".join(c) for c in COMBOS])
async def test_pairs_and_full_stack(
    combo: tuple[str, ...], via: str, server: LocalServer, hits: Counter[str]
) -> None:
    """Three GETs of a URL that fails once with 503, then is cacheable for 60 s: the server,
    the limiter and the metrics each see exactly what the canonical order implies."""
    clock, store, metrics = FakeClock(), CountingStore(), HttpMetrics()
    retry, cache = "retry" in combo, "cache" in combo
    async with _client(combo, via, server, clock, store, metrics) as client:
        responses = [
            await client.get("/flaky", params={"fail": 1, "key": "s", "cc": "max-age=60"})
            for _ in range(3)
        ]
    expected_hits = {(True, True): 2, (True, False): 4, (False, True): 2, (False, False): 3}
    network = expected_hits[(retry, cache)]
    assert hits["flaky:s"] == network
    assert responses[-1].status == 200
    cache_hits = (2 if retry else 1) if cache else 0
    assert sum(bool(r.metadata.get("from_cache")) for r in responses) == cache_hits
    if "rate_limit" in combo:
        assert store.granted == network  # every attempt passed the limiter, no hit did
    if "metrics" in combo:
        snap = metrics.snapshot()
        assert snap["total_requests"] == 3 and snap["total_attempts"] == network
        assert snap["total_retries"] == (1 if retry else 0)
        assert snap["cache_hits"] == cache_hits
        if "rate_limit" in combo:
            assert snap["rate_limit_waits"] == network - 1


async def test_full_stack_opt_outs(server: LocalServer, hits: Counter[str]) -> None:
    """On the full stack, cache=False goes to the network and retries=0 returns the 503."""
    clock = FakeClock()

    class Everything(MetricsMixin, CacheMixin, RetryMixin, RateLimitMixin, HttpClient):
        rate_limit = RateLimit.of((100, 1.0))
        retry_policy = RetryPolicy(total=2, backoff_base=0.1)

    async with Everything(base_url=server.base_url, clock=clock.time, sleep=clock.sleep) as c:
        await c.get("/fresh")
        assert (await c.get("/fresh")).metadata["from_cache"] is True
        assert (await c.get("/fresh", cache=False)).metadata["cache"] == "bypass"
        failed = await c.get("/flaky", params={"fail": 1, "key": "o"}, retries=0)
        metrics = c.get_metrics()
    assert hits["fresh"] == 2 and failed.status == 503
    assert metrics["total_requests"] == 4 and metrics["cache_hits"] == 1


async def test_ready_made_classes_combine(server: LocalServer, hits: Counter[str]) -> None:
    """The documents' three classes combine by inheritance with keyword arguments."""

    class Everything(MetricsClient, CachedClient, RateLimitedClient):
        pass

    async with Everything(cache_ttl=60.0, max_requests=50, window=1.0,
                          base_url=server.base_url) as client:
        await client.get("/plain")
        await client.get("/plain")
        assert [type(layer) for layer in client.middlewares] == CANONICAL
        assert client.get_metrics()["cache_hits"] == 1
    assert hits["plain"] == 1


class Signer:
    """A user layer that signs each attempt (RANK_USER: inside the rate limiter)."""

    rank = RANK_USER

    def __init__(self) -> None:
        self.signed: list[int] = []

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        attempt = request.metadata.get("attempt", 1)
        self.signed.append(attempt)
        request.headers["X-Signature"] = f"sig-{attempt}"
        return await call_next(request)


async def test_user_layer_runs_once_per_attempt(server: LocalServer) -> None:
    """A signing layer at RANK_USER runs once per attempt, after the rate limiter, and not at
    all for a cache hit."""
    signer = Signer()
    clock = FakeClock()
    async with HttpClient(
        base_url=server.base_url, retries=0,
        middlewares=[signer, RetryMiddleware(RetryPolicy(total=3), sleep=clock.sleep,
                                             clock=clock.time),
                     CacheMiddleware(clock=clock.time)],
    ) as client:
        await client.get("/flaky", params={"fail": 2, "key": "sig", "cc": "max-age=60"})
        await client.get("/flaky", params={"fail": 2, "key": "sig", "cc": "max-age=60"})
        echoed = await (await client.get("/echo", cache=False)).json()
    assert signer.signed == [1, 2, 3, 1]
    assert echoed["headers"]["X-Signature"] == "sig-1"
    assert type(signer) not in CANONICAL and client.middlewares[-1] is signer


async def test_user_send_request_override_wraps_the_chain(server: LocalServer) -> None:
    """A documents-style _send_request override sees every call, hits included, and the
    response the whole chain produced."""

    class Audited(CachedClient):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.seen: list[bool] = []

        async def _send_request(self, *args: Any, **kwargs: Any) -> Response:
            response = await super()._send_request(*args, **kwargs)
            self.seen.append(bool(response.metadata.get("from_cache")))
            return response

    async with Audited(base_url=server.base_url) as client:
        await client.get("/fresh")
        await client.get("/fresh")
    assert client.seen == [False, True]

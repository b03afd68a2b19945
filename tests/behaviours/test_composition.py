"""The behaviours together: canonical order whatever the bases' order, every pair and the full
stack on one scenario, user layers and user ``_send_request`` overrides, and the deprecated
mixins still building the same clients."""

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
    CachePolicy,
    HttpMetrics,
    MemoryRateLimitStore,
    MetricsClient,
    MetricsMiddleware,
    Rate,
    RateLimit,
    RateLimitedClient,
    RateLimitMiddleware,
    RetryMiddleware,
    RetryPolicy,
)
from pepperpy_core.http.chain import RANK_USER, CallNext
from pepperpy_core.testing import FakeClock, LocalServer

CANONICAL = [MetricsMiddleware, CacheMiddleware, RetryMiddleware, RateLimitMiddleware]
#: The ready-made class of each behaviour; retry is every HttpClient's own.
CLASSES: dict[str, type[HttpClient]] = {
    "metrics": MetricsClient, "cache": CachedClient, "rate_limit": RateLimitedClient,
}
NAMES = ["metrics", "cache", "retry", "rate_limit"]
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
    """All 6 orders of the three ready-made classes, with or without HttpClient named last,
    give metrics -> cache -> retry -> rate limit."""
    for bases in itertools.permutations(CLASSES.values()):
        for tail in ((), (HttpClient,)):
            cls: Any = type("Client", (*bases, *tail), {})
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
    bases = [CLASSES[name] for name in reversed(combo) if name in CLASSES]
    cls: Any = type("Client", (*bases,), {})
    options: dict[str, Any] = {"base_url": server.base_url, **time_kw,
                               "retries": retry if "retry" in combo else 0}
    if "metrics" in combo:
        options["metrics"] = metrics
    if "cache" in combo:
        options["cache_ttl"] = None  # the headers only, as CacheMiddleware() above
    if "rate_limit" in combo:
        options.update(rate_limit=limit, rate_limit_store=store)
    return cls(**options)  # type: ignore[no-any-return]


@pytest.mark.parametrize("via", ["classes", "middlewares"])
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

    class Everything(MetricsClient, CachedClient, RateLimitedClient):
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


def test_class_attributes_of_a_composed_class() -> None:
    """A subclass's ``cache_policy``, ``rate_limit`` and ``retry_policy`` are what its clients
    use; the constructor's ``cache_policy=`` / ``rate_limit=`` / ``retries=`` still win, and the
    arguments the class attribute stands for are refused rather than ignored."""
    from pepperpy_core import ConfigurationError

    class Api(CachedClient, RateLimitedClient):
        cache_policy = CachePolicy(ttl=5.0)
        rate_limit = RateLimit.of((7, 1.0))
        retry_policy = RetryPolicy(total=1)

    api = Api()
    assert api.cache_policy == CachePolicy(ttl=5.0) and api.rate_limit == RateLimit.of((7, 1.0))
    assert api._retry_policy.total == 1
    other = Api(cache_policy=CachePolicy(ttl=9.0), rate_limit=RateLimit.of((2, 1.0)), retries=0)
    assert other.cache_policy == CachePolicy(ttl=9.0)
    assert other.rate_limit == RateLimit.of((2, 1.0)) and other._retry_policy.total == 0
    with pytest.raises(ConfigurationError, match=r"Api\(max_requests=.*pass rate_limit="):
        Api(max_requests=10)
    with pytest.raises(ConfigurationError, match=r"class attribute cache_policy"):
        Api(cache_ttl=60.0)


OLD = {"MetricsMixin": MetricsMiddleware, "CacheMixin": CacheMiddleware,
       "RetryMixin": RetryMiddleware, "RateLimitMixin": RateLimitMiddleware}


@pytest.mark.parametrize(("module", "names"), [
    ("pepperpy_core", list(OLD)), ("pepperpy_core.behaviours", list(OLD)),
    ("pepperpy_core.behaviours.cache", ["CacheMixin"]),
    ("pepperpy_core.behaviours.metrics", ["MetricsMixin"]),
    ("pepperpy_core.behaviours.rate_limit", ["RateLimitMixin"]),
    ("pepperpy_core.behaviours.retry", ["RetryMixin"]),
])
def test_deprecated_mixins_warn_where_they_were(module: str, names: list[str]) -> None:
    """Each mixin is still importable from where it was, with a DeprecationWarning that says
    what replaces it, and is in neither ``__all__`` nor ``dir()``."""
    import importlib

    package = importlib.import_module(module)
    for name in names:
        with pytest.warns(DeprecationWarning, match=f"{module}.{name} is deprecated.*instead"):
            getattr(package, name)
        assert name not in package.__all__ and name not in dir(package)


async def test_deprecated_mixins_build_the_same_client(
    server: LocalServer, hits: Counter[str]
) -> None:
    """A class built from the four mixins, as the docs used to show, still works as before: the
    canonical order, its class attributes, positional ``base_url``, no cache TTL heuristic."""
    with pytest.warns(DeprecationWarning):
        from pepperpy_core import CacheMixin, MetricsMixin, RateLimitMixin, RetryMixin

    class Old(RateLimitMixin, RetryMixin, CacheMixin, MetricsMixin, HttpClient):
        rate_limit = RateLimit.of((100, 1.0))

    clock = FakeClock()
    async with Old(server.base_url, clock=clock.time, sleep=clock.sleep) as client:
        assert [type(layer) for layer in client.middlewares] == CANONICAL
        assert client.cache_policy == CachePolicy() and client._retry_policy == RetryPolicy()
        await client.get("/plain")
        second = await client.get("/plain")
        await client.get("/fresh")
        assert (await client.get("/fresh")).metadata["from_cache"] is True
        assert client.get_metrics()["total_requests"] == 4
    assert hits["plain"] == 2 and not second.metadata.get("from_cache")

    class Unlimited(RateLimitMixin, HttpClient):  # no rate_limit set: no layer, as before
        pass

    assert [type(layer) for layer in Unlimited().middlewares] == [RetryMiddleware]

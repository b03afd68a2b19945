"""Metrics: a bounded histogram, counters from inner layers' facts, Prometheus and log events."""

from __future__ import annotations

import random

import pytest

from pepperpy_core import ConnectionError, HttpClient
from pepperpy_core.behaviours.metrics import (
    HttpMetrics,
    LatencyHistogram,
    MetricsClient,
    MetricsMiddleware,
)
from pepperpy_core.http.models import Request, Response
from pepperpy_core.testing import LocalServer, capture_events


def test_histogram_quantiles_within_a_few_percent() -> None:
    """p50/p95/p99 of 100k uniform latencies are within 5% of the exact values."""
    hist = LatencyHistogram()
    values = sorted(random.Random(1).uniform(0.001, 1.0) for _ in range(100_000))
    for v in values:
        hist.observe(v)
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values)) - 1]
        assert hist.quantile(q) == pytest.approx(exact, rel=0.05)
    assert hist.count == 100_000 and hist.cumulative()[-1] == ("+Inf", 100_000)


def test_prometheus_buckets_count_exactly() -> None:
    """Each cumulative Prometheus bucket holds exactly the observations <= its bound."""
    hist = LatencyHistogram()
    values = [10 ** random.Random(4).uniform(-7, 2.5) for _ in range(20_000)]
    values += [0.005, 0.25, 60.0, -1.0]  # on a bound, and a negative clamped to 0
    for v in values:
        hist.observe(v)
    clamped = [max(0.0, v) for v in values]
    for le, count in hist.cumulative()[:-1]:
        assert count == sum(v <= float(le) for v in clamped), le
    assert hist.cumulative()[-1] == ("+Inf", len(values))


def test_series_buckets_count_exactly() -> None:
    """The per-label series (what Prometheus exports by method, host and status class) file
    each latency in the bucket of the first bound at or above it, as the histogram does."""
    metrics = HttpMetrics()
    request = Request("GET", "http://h/")
    values = [10 ** random.Random(5).uniform(-7, 2.5) for _ in range(5_000)]
    values += [0.005, 0.25, 60.0, 3600.5, -1.0]
    for v in values:
        metrics.record_response(Response(200, request=request), v)
    series = metrics.series[("GET", "h", "2xx")]
    bounds = metrics.latency.bounds
    for index, bound in enumerate(bounds):
        below = bounds[index - 1] if index else float("-inf")
        assert series.counts[index] == sum(below < v <= bound for v in values), bound
    assert series.counts[-1] == sum(v > bounds[-1] for v in values)
    assert series.count == len(values) == metrics.snapshot()["total_requests"]


def test_histogram_memory_is_bounded() -> None:
    """A million observations over 10 decades keep a few hundred counters."""
    hist = LatencyHistogram()
    counters = len(hist._counts)
    rng = random.Random(2)
    for _ in range(200_000):
        hist.observe(10 ** rng.uniform(-6, 4))
    assert len(hist._counts) == counters < 700
    assert hist.quantile(1.0) == hist.max


async def test_counts_from_metadata() -> None:
    """Attempts, retries, waits and cache outcomes are read from the response's metadata."""
    layer = MetricsMiddleware()

    def answer(**facts: object):  # type: ignore[no-untyped-def]
        async def call(request: Request) -> Response:
            return Response(200, request=request, metadata=dict(facts))
        return call

    await layer(Request("GET", "http://h/"), answer(attempts=3, rate_limit_waits=2,
                                                     rate_limit_wait_s=1.5, cache="miss"))
    await layer(Request("GET", "http://h/"), answer(from_cache=True, cache="hit", attempts=0))
    snap = layer.metrics.snapshot()
    assert snap["total_requests"] == 2 and snap["total_attempts"] == 3
    assert snap["total_retries"] == 2 and snap["rate_limit_waits"] == 2
    assert snap["rate_limit_wait_seconds"] == 1.5
    assert snap["cache_hits"] == 1 and snap["cache_misses"] == 1
    assert snap["status_classes"] == {"2xx": 2}


async def test_errors_by_type() -> None:
    """A raised error counts as a request and an error of its type, with its attempts."""
    layer = MetricsMiddleware()

    async def fail(request: Request) -> Response:
        raise ConnectionError("down", attempts=4)

    with pytest.raises(ConnectionError):
        await layer(Request("GET", "http://h/"), fail)
    snap = layer.metrics.snapshot()
    assert snap["total_errors"] == 1 and snap["errors_by_type"] == {"ConnectionError": 1}
    assert snap["total_attempts"] == 4 and snap["total_retries"] == 3


def test_prometheus_text_format() -> None:
    """The export has HELP/TYPE lines, cumulative buckets in seconds, _sum and _count."""
    metrics = HttpMetrics()
    for seconds in (0.002, 0.02, 0.2):
        metrics.latency.observe(seconds)
    metrics.errors_by_type['Weird"Error'] = 1
    text = metrics.to_prometheus()
    assert "# TYPE http_client_request_duration_seconds histogram" in text
    assert 'http_client_request_duration_seconds_bucket{le="0.0025"} 1' in text
    assert 'http_client_request_duration_seconds_bucket{le="0.25"} 3' in text
    assert 'http_client_request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert "http_client_request_duration_seconds_count 3" in text
    assert 'http_client_errors_total{type="Weird\\"Error"} 1' in text
    assert text.endswith("\n")


def test_structlog_event() -> None:
    """log() emits one http.metrics event carrying the snapshot."""
    metrics = HttpMetrics()
    with capture_events() as logs:
        metrics.log()
    assert logs[0]["event"] == "http.metrics" and logs[0]["total_requests"] == 0


async def test_metrics_client_documented_keys(server: LocalServer) -> None:
    """MetricsClient().get_metrics() has the documents' keys plus percentiles."""
    async with MetricsClient(base_url=server.base_url) as client:
        for _ in range(3):
            await client.get("/plain")
        metrics = client.get_metrics()
    assert metrics["total_requests"] == 3 and metrics["total_errors"] == 0
    assert 0 < metrics["avg_latency"] < 5 and metrics["p99_latency"] >= metrics["p50_latency"]


async def test_shared_metrics_between_clients(server: LocalServer) -> None:
    """Two clients given the same HttpMetrics add up in it."""
    shared = HttpMetrics()
    async with MetricsClient(base_url=server.base_url, metrics=shared) as a, HttpClient(
        base_url=server.base_url, middlewares=[MetricsMiddleware(shared)]
    ) as b:
        await a.get("/plain")
        await b.get("/plain")
    assert shared.requests == 2


def test_recorded_responses_wait_in_a_bounded_queue_and_every_read_counts_them() -> None:
    """Responses are counted in batches, but no read ever misses one: the figures are exact
    after any number of responses, and at most FOLD_EVERY - 1 of them wait uncounted."""
    from pepperpy_core.behaviours.metrics import FOLD_EVERY

    metrics = HttpMetrics()
    request = Request("GET", "http://h/a")
    for n in range(1, 3 * FOLD_EVERY + 2):
        metrics.record_response(Response(200 if n % 2 else 503, request=request), 0.01)
        assert len(metrics._pending) < FOLD_EVERY
        if n in (1, FOLD_EVERY - 1, FOLD_EVERY, 2 * FOLD_EVERY + 1):
            assert metrics.requests == n  # each public figure counts the queue first
            assert metrics.snapshot()["status_classes"] == {
                "2xx": (n + 1) // 2, **({"5xx": n // 2} if n > 1 else {})}
            assert not metrics._pending
    assert metrics.latency.count == metrics.requests == 3 * FOLD_EVERY + 1
    assert sum(s.count for s in metrics.series.values()) == 3 * FOLD_EVERY + 1


async def test_a_scrape_from_another_thread_loses_and_doubles_nothing() -> None:
    """A Prometheus scrape reads from its own thread while the event loop records: every
    response is counted exactly once, whatever the interleaving."""
    import threading

    metrics = HttpMetrics()
    request = Request("GET", "http://h/a")
    stop = threading.Event()
    seen: list[int] = []

    def scrape() -> None:
        while not stop.is_set():
            seen.append(metrics.snapshot()["total_requests"])
            metrics.to_prometheus()

    reader = threading.Thread(target=scrape)
    reader.start()
    try:
        for _ in range(20_000):
            metrics.record_response(Response(200, request=request), 0.001)
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 1 and seen == sorted(seen)  # never counted backwards
    assert metrics.requests == metrics.latency.count == 20_000
    assert metrics.series[("GET", "h", "2xx")].count == 20_000

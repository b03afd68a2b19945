"""OpenTelemetry: request and attempt spans, span events, propagation, metrics and WebSocket
spans, read from the SDK's in-memory exporters after real requests to local servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import pepperpy_core._observe as _observe
from pepperpy_core import CachedClient, ConnectionError, HttpClient, RateLimitedClient, RetryPolicy
from pepperpy_core.behaviours import OpenTelemetry
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.testing import FakeClock, LocalServer
from pepperpy_core.websocket import ReconnectPolicy, WebSocket


class Telemetry:
    """An SDK tracer and meter provider, each with an in-memory exporter."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.append((metric, list(metric.data.data_points)))
        assert len(found) <= 1
        return found

    def otel(self, **options: Any) -> OpenTelemetry:
        return OpenTelemetry(tracer_provider=self.tracer_provider,
                             meter_provider=self.meter_provider, **options)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_request_is_a_client_span_with_one_child_per_attempt(
    server: LocalServer, telemetry: Telemetry
) -> None:
    """One CLIENT span per logical request with the HTTP client convention's attributes (the
    URL redacted), one child span per attempt, and the retry wait as an event."""
    clock = FakeClock()
    with telemetry.otel() as otel:
        async with HttpClient(base_url=server.base_url, middlewares=otel.layers(),
                              retries=RetryPolicy(total=2, backoff_base=0.5),
                              sleep=clock.sleep, clock=clock) as client:
            response = await client.get("/flaky/otel?fail=1&api_key=k-secret")
    assert response.status == 200
    spans = telemetry.finished()
    [request] = [s for s in spans if s.kind is SpanKind.CLIENT]
    attempts = [s for s in spans if s.name == "GET attempt"]
    assert request.name == "GET"
    attrs = dict(request.attributes or {})
    assert attrs["http.request.method"] == "GET"
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == server.port
    assert attrs["http.response.status_code"] == 200 and "error.type" not in attrs
    assert "k-secret" not in str(attrs["url.full"]) and "fail=1" in str(attrs["url.full"])
    assert attrs["pepperpy.http.attempts"] == 2
    assert len(attempts) == 2
    assert all(a.parent is not None and a.parent.span_id == request.context.span_id
               for a in attempts)
    assert [dict(a.attributes or {}).get("http.response.status_code") for a in attempts] == [
        503, 200]
    assert dict(attempts[1].attributes or {})["http.request.resend_count"] == 1
    assert attempts[0].status.status_code is StatusCode.ERROR
    [retry] = [e for e in request.events if e.name == "http.retry"]
    assert dict(retry.attributes or {})["pepperpy.attempt"] == 1
    assert "k-secret" not in repr([s.to_json() for s in spans])


async def test_attempts_as_events_and_sampled_out_requests(
    server: LocalServer, telemetry: Telemetry
) -> None:
    """attempt_spans=False: one span per request, its attempts as events, traceparent naming
    the request span. A sampled-out request exports nothing yet still propagates its trace
    with the sampled flag off."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    clock = FakeClock()
    with telemetry.otel(attempt_spans=False, propagate=True) as otel:
        async with HttpClient(base_url=server.base_url, middlewares=otel.layers(),
                              retries=RetryPolicy(total=2, backoff_base=0.01),
                              sleep=clock.sleep, clock=clock) as client:
            await client.get("/flaky/events?fail=1")
            headers = (await (await client.get("/echo")).json())["headers"]
    spans = telemetry.finished()
    assert [s.name for s in spans] == ["GET", "GET"]
    attempts = [dict(e.attributes or {}) for e in spans[0].events if e.name == "http.attempt"]
    assert [(a["pepperpy.attempt"], a["http.response.status_code"]) for a in attempts] == [
        (1, 503), (2, 200)]
    assert int(headers["traceparent"].split("-")[2], 16) == spans[1].context.span_id

    dropped = TracerProvider(sampler=ALWAYS_OFF)
    exporter = InMemorySpanExporter()
    dropped.add_span_processor(SimpleSpanProcessor(exporter))
    with OpenTelemetry(tracer_provider=dropped, metrics=False, propagate=True) as otel:
        async with HttpClient(base_url=server.base_url, middlewares=otel.layers()) as client:
            headers = (await (await client.get("/echo")).json())["headers"]
    assert exporter.get_finished_spans() == ()
    assert int(headers["traceparent"].split("-")[3], 16) & 1 == 0  # propagated, not sampled
    dropped.shutdown()


async def test_errors_set_error_type_and_status(server: LocalServer, telemetry: Telemetry) -> None:
    """A 404 has ``error.type`` "404"; a refused connection the exception's type, and the
    span's status is ERROR."""
    with telemetry.otel() as otel:
        async with HttpClient(middlewares=otel.layers(), retries=0) as client:
            assert (await client.get(server.url("/status/404"))).status == 404
            with pytest.raises(ConnectionError):
                await client.get(f"http://127.0.0.1:{_closed_port()}/?token=t-secret")
    requests = [s for s in telemetry.finished() if s.kind is SpanKind.CLIENT]
    assert [dict(s.attributes or {})["error.type"] for s in requests] == [
        "404", "pepperpy_core.exceptions.ConnectionError"]
    assert all(s.status.status_code is StatusCode.ERROR for s in requests)
    assert any(e.name == "exception" for e in requests[1].events)
    assert "t-secret" not in repr([s.to_json() for s in requests])


async def test_traceparent_only_when_propagation_is_on(
    server: LocalServer, telemetry: Telemetry
) -> None:
    """With propagate=True the server receives the attempt span's W3C traceparent; without,
    no tracing header leaves the process."""
    for propagate in (False, True):
        with telemetry.otel(propagate=propagate) as otel:
            async with HttpClient(base_url=server.base_url, middlewares=otel.layers()) as c:
                headers = (await (await c.get("/echo")).json())["headers"]
        if not propagate:
            assert "traceparent" not in {k.lower() for k in headers}
            continue
        [attempt] = [s for s in telemetry.finished() if s.name == "GET attempt"][-1:]
        version, trace_id, span_id, flags = headers["traceparent"].split("-")
        assert version == "00" and int(flags, 16) & 1  # sampled
        assert int(trace_id, 16) == attempt.context.trace_id
        assert int(span_id, 16) == attempt.context.span_id


async def test_metrics_duration_retries_cache_and_rate_limit(
    server: LocalServer, telemetry: Telemetry
) -> None:
    """http.client.request.duration in seconds with the standard attributes, and the counters
    for retries, cache results and rate-limit waits; waits and cache results are also span
    events."""
    clock = FakeClock()
    with telemetry.otel() as otel:
        async with CachedClient(base_url=server.base_url, middlewares=otel.layers()) as cached:
            await cached.get("/data")
            await cached.get("/data")
        async with RateLimitedClient(base_url=server.base_url, max_requests=1, window=1.0,
                                     middlewares=otel.layers(), sleep=clock.sleep,
                                     clock=clock) as limited:
            await limited.get("/data")
            await limited.get("/data")
        async with HttpClient(base_url=server.base_url, middlewares=otel.layers(),
                              retries=RetryPolicy(total=2, backoff_base=0.01),
                              sleep=clock.sleep, clock=clock) as client:
            await client.get("/flaky/m?fail=2")
    [(duration, points)] = telemetry.points("http.client.request.duration")
    assert duration.unit == "s"
    ok = [p for p in points if p.attributes.get("http.response.status_code") == 200]
    assert sum(p.count for p in ok) == 5
    assert {k for p in ok for k in p.attributes} >= {
        "http.request.method", "server.address", "server.port", "http.response.status_code",
        "url.scheme"}
    assert list(ok[0].explicit_bounds)[:3] == [0.005, 0.01, 0.025]
    [(_, retries)] = telemetry.points("pepperpy.http.client.retries")
    assert sum(p.value for p in retries) == 2
    [(_, cache)] = telemetry.points("pepperpy.http.client.cache.requests")
    by_result = {p.attributes["pepperpy.cache.result"]: p.value for p in cache}
    assert by_result["miss"] == 1 and by_result["hit"] == 1
    [(_, waits)] = telemetry.points("pepperpy.http.client.rate_limit.waits")
    assert sum(p.value for p in waits) == 1
    events = [e.name for s in telemetry.finished() for e in s.events]
    assert "http.rate_limit.wait" in events and events.count("http.cache") == 2


async def test_websocket_connects_and_reconnects_are_spans(
    observed: LocalServer, telemetry: Telemetry
) -> None:
    """A connect is a CLIENT span; a reconnect a span around its connect attempts; the
    reconnect counter counts it. After close(), WebSockets are no longer traced."""
    with telemetry.otel() as otel:
        reconnected = asyncio.Event()
        ws = WebSocket(observed.url("/ws/drop-once?token=s3cret").replace("http", "ws"),
                       auto_reconnect=True, ping_interval=None,
                       reconnect=ReconnectPolicy(base_delay=0.01, max_delay=0.05))
        ws.on("reconnect", lambda attempts: reconnected.set())
        await ws.connect()
        await asyncio.wait_for(reconnected.wait(), 5)
        await ws.close()
    assert _observe.span_factory() is None and otel.close() is None
    spans = telemetry.finished()
    connects = [s for s in spans if s.name == "websocket.connect"]
    [reconnect] = [s for s in spans if s.name == "websocket.reconnect"]
    assert len(connects) == 2 and all(s.kind is SpanKind.CLIENT for s in connects)
    assert connects[1].parent is not None
    assert connects[1].parent.span_id == reconnect.context.span_id
    assert dict(connects[0].attributes or {})["server.address"] == "127.0.0.1"
    assert "s3cret" not in repr([s.to_json() for s in spans])
    [(_, points)] = telemetry.points("pepperpy.websocket.reconnects")
    assert sum(p.value for p in points) == 1


async def test_without_an_instance_nothing_is_hooked(server: LocalServer) -> None:
    """No OpenTelemetry object: no observer and no span factory; with one on the global no-op
    providers (nothing configured), requests work and nothing is recorded anywhere."""
    assert _observe.observers == () and _observe.span_factory() is None
    with OpenTelemetry(propagate=True) as otel:
        async with HttpClient(base_url=server.base_url, middlewares=otel.layers()) as client:
            headers = (await (await client.get("/echo")).json())["headers"]
    assert "traceparent" not in {k.lower() for k in headers}  # a no-op span has no context
    assert _observe.observers == () and _observe.span_factory() is None


def test_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="propagate"):
        OpenTelemetry(propagate="yes")  # type: ignore[arg-type]
    with OpenTelemetry(tracing=False, metrics=False) as otel:
        assert "tracing=False" in repr(otel) and len(otel.layers()) == 1


def test_without_the_extras_a_clear_error_names_them() -> None:
    """With neither opentelemetry nor prometheus_client importable, asking for them raises
    OptionalDependencyError naming the extra; everything else still works."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None; sys.modules['prometheus_client'] = None\n"
        "from pepperpy_core import EventCounters, HttpMetrics, OptionalDependencyError\n"
        "try:\n"
        "    from pepperpy_core import OpenTelemetry\n"
        "except OptionalDependencyError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    HttpMetrics().register()\n"
        "except OptionalDependencyError as exc:\n"
        "    print(exc)\n"
        "with EventCounters() as counters:\n"
        "    print(counters.snapshot()['download_bytes'])\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "pip install 'pepperpy-core[otel]'" in lines[0]
    assert "pip install 'pepperpy-core[prometheus]'" in lines[1]
    assert lines[2] == "0"

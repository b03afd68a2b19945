"""``prometheus_client`` collectors for :class:`HttpMetrics` and :class:`EventCounters`.

Loaded only by their ``register()`` methods (extra ``pepperpy-core[prometheus]``). A collector
reads the live figures at each scrape; nothing runs on the request path for Prometheus.
Names and units follow OpenTelemetry's HTTP client conventions where Prometheus allows:
``http.client.request.duration`` (seconds) becomes ``http_client_request_duration_seconds``,
its attributes ``http.request.method`` and ``server.address`` the labels
``http_request_method`` and ``server_address``; the status is a bounded ``status_class``
(``2xx`` ... ``5xx``, ``error`` when no response came).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pepperpy_core.behaviours.counters import EventCounters
from pepperpy_core.behaviours.metrics import HttpMetrics
from pepperpy_core.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    OptionalDependencyError,
)

try:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise OptionalDependencyError(
        "register() needs prometheus_client: pip install 'pepperpy-core[prometheus]'"
    ) from exc

__all__ = ["EventCountersCollector", "HttpMetricsCollector", "Registry", "register"]

Registry = CollectorRegistry

_LABELS = ["http_request_method", "server_address", "status_class"]


class HttpMetricsCollector(Collector):
    """The figures of one :class:`HttpMetrics`, as Prometheus metric families."""

    def __init__(self, metrics: HttpMetrics, prefix: str = "http_client") -> None:
        self.metrics = metrics
        self.prefix = prefix

    def collect(self) -> Iterator[Metric]:
        m, p = self.metrics, self.prefix
        bounds = [repr(float(b)) for b in m.latency.bounds]  # as prometheus_client writes them
        duration = HistogramMetricFamily(
            f"{p}_request_duration", "Duration of HTTP client requests: one logical request, "
            "every attempt and wait included.", labels=_LABELS, unit="seconds",
        )
        for labels, series in sorted(m.series.copy().items()):
            running, buckets = 0, []
            for bound, count in zip(bounds, series.counts, strict=False):
                running += count
                buckets.append((bound, float(running)))
            buckets.append(("+Inf", float(series.count)))
            duration.add_metric(list(labels), buckets, series.sum)
        yield duration
        yield CounterMetricFamily(f"{p}_attempts", "Attempts sent to the network.",
                                  value=m.attempts)
        yield CounterMetricFamily(f"{p}_retries", "Attempts after the first of a request.",
                                  value=m.retries)
        yield CounterMetricFamily(f"{p}_rate_limit_waits", "Requests that waited for the "
                                  "rate limiter.", value=m.rate_limit_waits)
        yield CounterMetricFamily(f"{p}_rate_limit_wait", "Time spent waiting for the rate "
                                  "limiter.", value=m.rate_limit_wait_seconds, unit="seconds")
        errors = CounterMetricFamily(f"{p}_errors", "Requests that raised, by error type.",
                                     labels=["error_type"])
        for name, n in sorted(m.errors_by_type.copy().items()):
            errors.add_metric([name], n)
        yield errors
        cache = CounterMetricFamily(f"{p}_cache_requests", "Cacheable requests by outcome.",
                                    labels=["result"])
        for result, n in sorted(m.cache.copy().items()):
            cache.add_metric([result], n)
        yield cache


_HELP = {
    "websocket_connections": "WebSocket connections opened (first ones and reconnections).",
    "websocket_reconnects": "WebSocket reconnections that succeeded.",
    "websocket_disconnects": "WebSocket connections lost.",
    "websocket_connect_failures": "WebSocket connection attempts that failed.",
    "websocket_reconnect_give_ups": "WebSocket reconnections given up (policy exhausted).",
    "downloads": "Downloads finished, by result (done or failed).",
    "download_retries": "Download attempts after the first (a failure or a stall).",
    "network_transitions": "Network monitor transitions, by the new state.",
}


class EventCountersCollector(Collector):
    """The counts of one :class:`EventCounters`, as Prometheus metric families."""

    def __init__(self, counters: EventCounters, prefix: str = "pepperpy") -> None:
        self.counters = counters
        self.prefix = prefix

    def collect(self) -> Iterator[Metric]:
        c, p = self.counters, self.prefix
        families: dict[str, CounterMetricFamily] = {}
        for name, help_text in _HELP.items():
            labels = (["state"] if name == "network_transitions"
                      else ["server_address", "result"] if name == "downloads"
                      else ["server_address"])
            families[name] = CounterMetricFamily(f"{p}_{name}", help_text, labels=labels)
        for (name, host, label), n in sorted(c.counts.copy().items()):
            values = ([label] if name == "network_transitions"
                      else [host, label] if name == "downloads" else [host])
            families[name].add_metric(values, n)
        yield from families.values()
        size = CounterMetricFamily(f"{p}_download", "Bytes of finished downloads.",
                                   labels=["server_address"], unit="bytes")
        for host, n in sorted(c.download_bytes.copy().items()):
            size.add_metric([host], n)
        yield size
        if c.network_online is not None:
            yield GaugeMetricFamily(f"{p}_network_online", "1 while the network monitor "
                                    "sees the network up, 0 while down.",
                                    value=1 if c.network_online else 0)


def register(source: Any, registry: CollectorRegistry | None, *, prefix: str) -> Collector:
    """Register the collector for ``source`` in ``registry`` (the global one by default)."""
    if registry is None:
        registry = REGISTRY
    if not isinstance(registry, CollectorRegistry):
        raise ArgumentTypeError(
            f"register(registry=...): expected a prometheus_client CollectorRegistry, got "
            f"{type(registry).__name__}"
        )
    collector: Collector
    if isinstance(source, HttpMetrics):
        collector = HttpMetricsCollector(source, prefix)
    else:
        collector = EventCountersCollector(source, prefix)
    try:
        registry.register(collector)
    except ValueError as exc:
        raise ConfigurationError(
            f"register(): {exc}; pass another prefix= for a second instance in one registry"
        ) from None
    return collector

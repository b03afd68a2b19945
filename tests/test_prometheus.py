"""Prometheus: HttpMetrics and EventCounters as prometheus_client collectors, scraped from a
real registry and from prometheus_client's own HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from pepperpy_core import (
    ConfigurationError,
    ConnectionError,
    HttpClient,
    MetricsClient,
    NetworkManager,
)
from pepperpy_core.behaviours import EventCounters, HttpMetrics
from pepperpy_core.behaviours.metrics import HostLabels
from pepperpy_core.download import DownloadHandler
from pepperpy_core.exceptions import ArgumentTypeError
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger
from pepperpy_core.testing import FakeClock, LocalServer
from pepperpy_core.websocket import ReconnectPolicy, WebSocket


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape: (name, labels) -> value, parsed from the text format."""
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_http_metrics_scraped_with_otel_names_and_bounded_labels(
    server: LocalServer,
) -> None:
    """Duration histogram in seconds labelled by method, host and status class; attempts,
    retries and errors by type; the figures are read live at each scrape."""
    metrics = HttpMetrics()
    registry = CollectorRegistry()
    metrics.register(registry)
    async with MetricsClient(base_url=server.base_url, metrics=metrics, retries=0) as client:
        await client.get("/data")
        await client.get("/data?api_key=never-a-label")
        await client.get("/status/503")
    async with MetricsClient(metrics=metrics, retries=0) as client:
        with pytest.raises(ConnectionError):
            await client.get(f"http://127.0.0.1:{_closed_port()}/")
    got = samples(registry)

    def labels(method: str, status_class: str) -> frozenset[tuple[str, str]]:
        return frozenset({("http_request_method", method), ("server_address", "127.0.0.1"),
                          ("status_class", status_class)})

    name = "http_client_request_duration_seconds"
    assert got[(f"{name}_count", labels("GET", "2xx"))] == 2
    assert got[(f"{name}_bucket", labels("GET", "2xx") | {("le", "+Inf")})] == 2
    assert got[(f"{name}_bucket", labels("GET", "2xx") | {("le", "60.0")})] == 2
    assert got[(f"{name}_sum", labels("GET", "2xx"))] > 0
    assert got[(f"{name}_count", labels("GET", "5xx"))] == 1
    assert got[(f"{name}_count", labels("GET", "error"))] == 1
    assert got[("http_client_errors_total", frozenset({("error_type", "ConnectionError")}))] == 1
    assert got[("http_client_attempts_total", frozenset())] == 4
    assert "never-a-label" not in generate_latest(registry).decode()
    async with MetricsClient(base_url=server.base_url, metrics=metrics) as client:
        await client.get("/data")
    assert samples(registry)[(f"{name}_count", labels("GET", "2xx"))] == 3


def test_hosts_beyond_the_bound_share_one_label() -> None:
    """A client calling many hosts keeps a bounded number of series: past the limit, hosts
    count as "other"."""
    hosts = HostLabels(limit=2)
    assert [hosts(f"https://h{i}.example/x?a={i}") for i in range(4)] == [
        "h0.example", "h1.example", "other", "other"]
    assert hosts("https://h0.example/again") == "h0.example"
    metrics = HttpMetrics()
    for i in range(200):
        request = Request("GET", f"https://h{i}.example/")
        metrics.record_response(Response(200, request=request), 0.01)
    assert len(metrics.series) == 51  # 50 hosts and "other"


def test_register_errors_name_the_fix() -> None:
    """A second instance under the same names, or something that is not a registry, is a
    clear error from our tree."""
    registry = CollectorRegistry(auto_describe=True)
    HttpMetrics().register(registry)
    with pytest.raises(ConfigurationError, match="prefix="):
        HttpMetrics().register(registry)
    HttpMetrics().register(registry, prefix="other_client")
    with pytest.raises(ArgumentTypeError, match="CollectorRegistry"):
        HttpMetrics().register("registry")  # type: ignore[arg-type]


@pytest.fixture
def endpoint() -> Iterator[tuple[CollectorRegistry, str]]:
    """prometheus_client's own /metrics server on 127.0.0.1 (an ephemeral port)."""
    registry = CollectorRegistry()
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield registry, f"http://127.0.0.1:{httpd.server_port}/metrics"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


async def test_a_service_endpoint_serves_the_figures(
    server: LocalServer, endpoint: tuple[CollectorRegistry, str]
) -> None:
    """What a service does: register, start prometheus_client's server, let Prometheus
    scrape it (here, our own client does)."""
    registry, url = endpoint
    metrics = HttpMetrics()
    metrics.register(registry)
    async with MetricsClient(base_url=server.base_url, metrics=metrics) as client:
        await client.get("/data")
        async with HttpClient() as scraper:
            page = await (await scraper.get(url)).text()
    assert "# TYPE http_client_request_duration_seconds histogram" in page
    assert ('http_client_request_duration_seconds_count{http_request_method="GET",'
            'server_address="127.0.0.1",status_class="2xx"} 1.0') in page


# ------------------------------------------------------------------ EventCounters


async def test_event_counters_count_websocket_download_and_network(
    observed: LocalServer, tmp_path: Path
) -> None:
    """Reconnects, downloads and network transitions are counted from the library's events,
    with logging left unconfigured, and scraped with the host as a label."""
    registry = CollectorRegistry()
    with EventCounters() as counters:
        counters.register(registry)
        reconnected = asyncio.Event()
        ws = WebSocket(observed.url("/ws/drop-once").replace("http", "ws"), auto_reconnect=True,
                       reconnect=ReconnectPolicy(base_delay=0.01, max_delay=0.05),
                       ping_interval=None)
        ws.on("reconnect", lambda attempts: reconnected.set())
        await ws.connect()
        await asyncio.wait_for(reconnected.wait(), 5)
        await ws.close()
        async with HttpClient() as http:
            handler = DownloadHandler(http, max_retries=0, sleep=FakeClock().sleep)
            assert await handler.download_file(observed.url("/file.bin"), tmp_path / "f.bin")
            assert not await handler.download_file(observed.url("/none"), tmp_path / "n.bin")
        listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with NetworkManager(targets=[f"127.0.0.1:{port}"], offline_after=1,
                                  online_after=1, timeout=1.0) as monitor:
            assert await monitor.check_connection() is True  # the TCP target answers
            listener.close()
            await listener.wait_closed()
            assert await monitor.check_connection() is False  # refused: offline
            listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
            assert await monitor.check_connection() is True
        listener.close()
        await listener.wait_closed()
    get_logger("pepperpy_core.network").warning("network.offline")  # closed: not counted
    snap = counters.snapshot()
    assert snap["websocket_connections"] == 2 and snap["websocket_reconnects"] == 1
    assert snap["websocket_disconnects"] == 1
    assert snap["downloads_done"] == 1 and snap["downloads_failed"] == 1
    assert snap["download_bytes"] == 1000 and snap["network_online"] is True
    got = samples(registry)
    host = frozenset({("server_address", "127.0.0.1")})
    assert got[("pepperpy_websocket_reconnects_total", host)] == 1
    assert got[("pepperpy_downloads_total", host | {("result", "failed")})] == 1
    assert got[("pepperpy_download_bytes_total", host)] == 1000
    assert got[("pepperpy_network_transitions_total", frozenset({("state", "offline")}))] == 1
    assert got[("pepperpy_network_transitions_total", frozenset({("state", "online")}))] == 2
    assert got[("pepperpy_network_online", frozenset())] == 1


def test_nothing_observes_or_loads_until_asked() -> None:
    """A program using the client and the metrics layer subscribes no observer and loads
    neither prometheus_client nor OpenTelemetry."""
    program = (
        "import asyncio, sys\n"
        "from pepperpy_core import MetricsClient, _observe\n"
        "async def main():\n"
        "    async with MetricsClient(retries=0) as c:\n"
        "        try:\n"
        "            await c.get('http://127.0.0.1:9/')\n"
        "        except Exception:\n"
        "            pass\n"
        "asyncio.run(main())\n"
        "print(_observe.observers, sorted(m for m in sys.modules\n"
        "      if m.startswith(('prometheus_client', 'opentelemetry'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "() []"

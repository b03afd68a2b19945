"""What observability costs per request: the plain HttpClient (telemetry off) against the same
client with OpenTelemetry's layers on the global no-op providers (nothing configured), with
the SDK recording into in-memory exporters, and with the metrics layer registered for
Prometheus; raw aiohttp for scale.

    python benchmarks/observability.py [--requests 1000] [--rounds 9]
                                       [--instructions] [--low 200] [--high 700]

``--instructions`` adds the steady measure: user-space instructions per sequential request
under callgrind (the difference between a long and a short run, as in instructions.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _harness import (
    Fetch,
    callgrind_prefix,
    local_server,
    median,
    paired_rounds,
    pin_client,
    run_load,
    write_result,
)
from http_overhead import iqr
from instructions import COLLECTED

CONCURRENCY = (1, 16)
RAW = "aiohttp (raw)"
OFF = "HttpClient, telemetry off"
NOOP = "OpenTelemetry layers, no-op providers"
SDK = "OpenTelemetry layers, SDK + in-memory exporters"
EVENTS = "the same, attempts as events (attempt_spans=False)"
PROM = "metrics layer, registered for Prometheus"


def sdk_providers() -> tuple[Any, Any, Callable[[], None]]:
    """An SDK tracer provider (every span sampled, exported synchronously into memory) and
    meter provider (an in-memory reader); the third item empties the exporter."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return tracer_provider, meter_provider, spans.clear


async def make_clients() -> tuple[dict[str, tuple[Fetch, Callable[[], Awaitable[None]]]],
                                  Callable[[], None]]:
    import aiohttp
    from prometheus_client import CollectorRegistry

    from pepperpy_core import HttpClient, MetricsClient
    from pepperpy_core.behaviours import HttpMetrics, OpenTelemetry

    session = aiohttp.ClientSession()

    async def raw(url: str) -> bytes:
        async with session.get(url) as r:
            return await r.read()

    tracer_provider, meter_provider, clear = sdk_providers()
    noop = OpenTelemetry()
    sdk = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    events = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider,
                           attempt_spans=False)
    metrics = HttpMetrics()
    metrics.register(CollectorRegistry())
    clients = {
        OFF: HttpClient(),
        NOOP: HttpClient(middlewares=noop.layers()),
        SDK: HttpClient(middlewares=sdk.layers()),
        EVENTS: HttpClient(middlewares=events.layers()),
        PROM: MetricsClient(metrics=metrics),
    }

    def fetcher(client: Any) -> Fetch:
        async def fetch(url: str) -> bytes:
            return bytes((await client.get(url)).content)

        return fetch

    out: dict[str, tuple[Fetch, Callable[[], Awaitable[None]]]] = {RAW: (raw, session.close)}
    for name, client in clients.items():
        out[name] = (fetcher(client), client.close)

    def tidy() -> None:
        clear()
        for otel in (noop, sdk, events):
            otel.close()

    return out, tidy


async def throughput(base: str, requests: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    clients, tidy = await make_clients()
    fetches = {name: fetch for name, (fetch, _) in clients.items()}
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for concurrency in CONCURRENCY:
            paired = await paired_rounds(fetches, base + "/small", requests, rounds,
                                         concurrency, OFF)
            raw, off = paired[RAW], paired[OFF]
            off["vs_raw"] = [o / r for o, r in zip(off["rps"], raw["rps"], strict=True)]
            for name, cell in paired.items():
                results[f"{name}|{concurrency}"] = cell
    finally:
        for _, close in clients.values():
            await close()
        tidy()
    return results


def sdk_reference(rounds: int, n: int = 5000) -> dict[str, float]:
    """CPU µs of the SDK's own primitives in this process, for scale: one span started, made
    current and ended (two attributes, exported to memory), one histogram measurement."""
    import time

    tracer_provider, meter_provider, clear = sdk_providers()
    tracer = tracer_provider.get_tracer("bench")
    histogram = meter_provider.get_meter("bench").create_histogram("bench")
    spans, records = [], []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            with tracer.start_as_current_span("x", attributes={"a": 1, "b": "c"}):
                pass
        spans.append((time.process_time() - started) / n * 1e6)
        clear()
        started = time.process_time()
        for _ in range(n):
            histogram.record(0.1, {"http.request.method": "GET", "server.address": "h"})
        records.append((time.process_time() - started) / n * 1e6)
    return {"span_us": median(spans), "record_us": median(records)}


def report(rps: dict[str, dict[str, list[float]]], requests: int, rounds: int,
           reference: dict[str, float]) -> str:
    lines = [
        "## Observability (`benchmarks/observability.py`)",
        "",
        f"{requests} GETs of a 27-byte JSON body per round, {rounds} rounds with every client "
        "once per round in a rotated order; server (aiohttp) pinned to core 0, client to core "
        "1. Ratios are medians of the per-round comparisons with the plain `HttpClient` "
        "(telemetry off) in the same round; extra CPU is the median per-round difference of "
        "client CPU time per request. \"No-op providers\": `OpenTelemetry().layers()` with "
        "nothing configured (opentelemetry-api's defaults). \"SDK + in-memory\": every request "
        "sampled, its request and attempt spans exported synchronously to an "
        "`InMemorySpanExporter`, the duration histogram and counters into an "
        "`InMemoryMetricReader`. Load average when the run ended: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (above 2, other work shared the "
        "machine: read the ratios loosely and the instruction counts below as the steady "
        "measure).",
        "",
        "| client | concurrency | req/s | vs telemetry off | IQR | extra CPU µs/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for concurrency in CONCURRENCY:
        for name in (RAW, OFF, NOOP, SDK, EVENTS, PROM):
            cell = rps[f"{name}|{concurrency}"]
            extra = "-" if name == OFF else f"{median(cell['extra_cpu']):+.1f}"
            lines.append(
                f"| {name} | {concurrency} | {median(cell['rps']):,.0f} "
                f"| {median(cell['ratio']):.2f}x | {iqr(cell['ratio'])} | {extra} |"
            )
    off_1, off_16 = rps[f"{OFF}|1"], rps[f"{OFF}|16"]
    lines += [
        "",
        f"Telemetry off against raw aiohttp in the same rounds: "
        f"{median(off_1['vs_raw']):.2f}x sequential, {median(off_16['vs_raw']):.2f}x at 16 "
        "(the typed-API goal is >= 0.9x). Without an `OpenTelemetry` object nothing of it is "
        "imported or on the request path; a Prometheus collector runs only at scrape time.",
        "",
        f"For scale, the SDK's own primitives in the same process: one span started, made "
        f"current and ended {reference['span_us']:.1f} µs CPU, one histogram measurement "
        f"{reference['record_us']:.1f} µs. A recorded request makes two spans (one with "
        "attempt_spans=False), one histogram measurement and a few counter adds.",
    ]
    return "\n".join(lines)


# --- --instructions: callgrind children, one client each ------------------------------------

HERE = Path(__file__).resolve().parent


#: The SDK's own work for one recorded request, without us: a span with the request span's
#: five attributes started, made current and ended, and one histogram measurement.
PRIMITIVES = "SDK primitives alone"


def primitives(requests: int) -> None:
    tracer_provider, meter_provider, clear = sdk_providers()
    tracer = tracer_provider.get_tracer("bench")
    histogram = meter_provider.get_meter("bench").create_histogram("bench")
    attributes = {"http.request.method": "GET", "url.full": "http://127.0.0.1:1/small",
                  "server.address": "127.0.0.1", "server.port": 1, "url.scheme": "http"}
    for _ in range(50 + requests):
        with tracer.start_as_current_span("GET", attributes=attributes):
            pass
        histogram.record(0.01, {**attributes, "http.response.status_code": 200})
    clear()


async def child(name: str, requests: int, base: str) -> None:
    if name == PRIMITIVES:
        primitives(requests)
        return
    clients, tidy = await make_clients()
    fetch = clients[name][0]
    try:
        await run_load(fetch, base + "/small", 50, 1)  # warm-up
        await run_load(fetch, base + "/small", requests, 1)
    finally:
        for _, close in clients.values():
            await close()
        tidy()


def count(name: str, requests: int, base: str) -> int:
    """Instructions callgrind collected for one child run (pinned to core 1, no ASLR)."""
    proc = subprocess.run(
        [*callgrind_prefix(),
         sys.executable, str(HERE / "observability.py"), "--child", name, str(requests), base],
        cwd=HERE, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True,
        timeout=900,
    )
    found = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"child {name} n={requests} failed:\n{proc.stderr[-2000:]}")
    return int(found[-1])


def instructions(base: str, low: int, high: int) -> dict[str, float]:
    """Instructions per sequential request for every client (two children each)."""
    names = [RAW, OFF, NOOP, SDK, EVENTS, PROM, PRIMITIVES]
    jobs = [(name, n) for name in names for n in (low, high)]
    with ThreadPoolExecutor(2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: count(job[0], job[1], base), jobs),
                          strict=True))
    return {name: (totals[(name, high)] - totals[(name, low)]) / (high - low)
            for name in names}


def instructions_table(per_request: dict[str, float], low: int, high: int) -> str:
    off = per_request[OFF]
    lines = [
        "",
        f"Instructions per sequential request (callgrind; the difference between a {high}- and "
        f"a {low}-request run of each client, so start-up and imports cancel out):",
        "",
        "| client | instructions per request | vs telemetry off |",
        "|---|---:|---:|",
    ]
    for name, value in per_request.items():
        if name == PRIMITIVES:
            continue
        delta = "-" if name == OFF else f"{value - off:+,.0f} ({(value / off - 1) * 100:+.1f} %)"
        lines.append(f"| {name} | {value:,.0f} | {delta} |")
    if PRIMITIVES in per_request:
        lines += ["", f"Of that, the SDK's own work: one span with five attributes started, made "
                  f"current and ended, plus one histogram measurement, costs "
                  f"{per_request[PRIMITIVES]:,.0f} instructions by itself (a recorded request "
                  "makes two spans, or one with attempt_spans=False)."]
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        name, requests, base = sys.argv[2:5]
        asyncio.run(child(name, int(requests), base))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--low", type=int, default=200)
    parser.add_argument("--high", type=int, default=700)
    args = parser.parse_args()
    with local_server() as base:
        counted = instructions(base, args.low, args.high) if args.instructions else {}
        pin_client()
        rps = asyncio.run(throughput(base, args.requests, args.rounds))
    reference = sdk_reference(args.rounds)
    text = report(rps, args.requests, args.rounds, reference)
    if counted:
        text += "\n" + instructions_table(counted, args.low, args.high)
    print(text)
    write_result("observability", text, {"throughput": rps, "sdk_reference": reference,
                                         "instructions": counted})


if __name__ == "__main__":
    main()

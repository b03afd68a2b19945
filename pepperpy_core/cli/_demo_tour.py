"""The body of ``pepperpy-core demo`` (see :mod:`pepperpy_core.cli.demo`): local servers and
the sections of the tour."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from pepperpy_core.cli._common import EXIT_OK
from pepperpy_core.cli.demo import SECTIONS


async def run_tour(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the chosen sections in order; return 0."""
    import sys

    stream = out or sys.stdout
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        from pepperpy_core.cli._common import UsageError

        raise UsageError(f"--only: unknown section(s) {', '.join(unknown)}")
    if not getattr(args, "debug", False):
        from pepperpy_core.logging import configure_logging

        configure_logging("ERROR")  # the tour prints its own account of each warning
    say = _Printer(stream)
    steps: dict[str, Callable[[_Printer], Awaitable[None]]] = {
        "retry": _retry, "ratelimit": _rate_limit, "cache": _cache, "metrics": _metrics,
        "websocket": _websocket, "download": _download, "vision": _vision,
    }
    started = time.monotonic()
    for name in chosen:
        await steps[name](say)
    say.line(f"\ndone in {time.monotonic() - started:.1f} s, all on 127.0.0.1")
    return EXIT_OK


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def title(self, text: str) -> None:
        self.line(f"\n== {text}")

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


# --------------------------------------------------------------------- HTTP sections


def _api_app(hits: Counter[str]) -> web.Application:
    async def flaky(request: web.Request) -> web.Response:
        hits["flaky"] += 1
        if hits["flaky"] <= 2:
            return web.Response(status=503, text="busy")
        return web.json_response({"price": 42000.5})

    async def ticker(request: web.Request) -> web.Response:
        hits["ticker"] += 1
        return web.json_response({"symbol": request.query.get("symbol", "BTCUSDT")})

    async def boom(request: web.Request) -> web.Response:
        hits["boom"] += 1
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/ticker", ticker)
    app.router.add_get("/boom", boom)
    return app


async def _retry(say: _Printer) -> None:
    from pepperpy_core import HttpClient, RetryPolicy
    from pepperpy_core.testing import LocalServer

    say.title("retry: a server that fails twice")
    hits: Counter[str] = Counter()
    async with LocalServer(_api_app(hits)) as srv:
        policy = RetryPolicy(total=3, backoff_base=0.05)
        async with HttpClient(base_url=srv.base_url, retries=policy) as client:
            response = await client.get("/flaky")
    say.line(f"server answered 503, 503, then 200 ({hits['flaky']} requests seen)")
    say.line(f"client got {response.status} {await response.json()} after "
             f"{response.metadata['attempts']} attempts, "
             f"{response.metadata.get('retry_wait_s', 0):.2f} s of backoff")


async def _rate_limit(say: _Printer) -> None:
    from pepperpy_core import RateLimitedClient
    from pepperpy_core.testing import LocalServer

    say.title("rate limit: 12 concurrent calls through a 5-per-second limiter")
    hits: Counter[str] = Counter()
    async with (
        LocalServer(_api_app(hits)) as srv,
        RateLimitedClient(max_requests=5, window=1.0, base_url=srv.base_url) as c,
    ):
        start = time.monotonic()
        stamps: list[float] = []

        async def call() -> None:
            await c.get("/ticker")
            stamps.append(time.monotonic() - start)

        await asyncio.gather(*(call() for _ in range(12)))
    buckets = Counter(int(s) for s in stamps)
    say.line("requests finished per second: "
             + ", ".join(f"second {k}: {v}" for k, v in sorted(buckets.items())))
    say.line(f"all {len(stamps)} done in {max(stamps):.2f} s; none rejected, the limiter waited")


async def _cache(say: _Printer) -> None:
    from pepperpy_core import CachedClient
    from pepperpy_core.testing import LocalServer

    say.title("cache: the same GET three times, plus 20 identical ones at once")
    hits: Counter[str] = Counter()
    async with (
        LocalServer(_api_app(hits)) as srv,
        CachedClient(cache_ttl=60.0, base_url=srv.base_url) as client,
    ):
        flags = []
        for _ in range(3):
            response = await client.get("/ticker", params={"symbol": "ETHUSDT"})
            flags.append(response.from_cache)
        await asyncio.gather(
            *(client.get("/ticker", params={"symbol": "SOLUSDT"}) for _ in range(20))
        )
    say.line(f"from_cache per call: {flags}")
    say.line(f"server saw {hits['ticker']} requests for 23 calls (concurrent misses collapse)")


async def _metrics(say: _Printer) -> None:
    from pepperpy_core import MetricsClient
    from pepperpy_core.testing import LocalServer

    say.title("metrics: 10 good calls and 2 failing ones")
    hits: Counter[str] = Counter()
    async with (
        LocalServer(_api_app(hits)) as srv,
        MetricsClient(base_url=srv.base_url, retries=0) as client,
    ):
        for _ in range(10):
            await client.get("/ticker")
        for _ in range(2):
            await client.get("/boom")
        metrics = client.get_metrics()
        text = client.metrics.to_prometheus()
    shown = {k: metrics[k] for k in ("total_requests", "total_errors", "status_classes")}
    for key in ("avg_latency", "p95_latency"):
        shown[f"{key}_ms"] = round(metrics[key] * 1000, 2)
    say.line(f"get_metrics(): {shown}")
    say.line("Prometheus text (excerpt):")
    for ln in text.splitlines():
        if ln.startswith(("http_client_requests_total", "http_client_request_duration_s")):
            say.line(f"  {ln}")


# --------------------------------------------------------------------- WebSocket


async def _websocket(say: _Printer) -> None:
    import websockets

    from pepperpy_core import BatchWebSocket, ReconnectPolicy

    say.title("websocket: 300 messages in batches of 25, server restarted half way")
    received: list[int] = []
    arrived = asyncio.Event()

    async def collect(conn: Any) -> None:
        import json

        async for frame in conn:
            received.extend(m["n"] for m in json.loads(frame))
            arrived.set()

    server = await websockets.serve(collect, "127.0.0.1", 0)
    port = next(iter(server.sockets)).getsockname()[1]
    feed = BatchWebSocket(
        f"ws://127.0.0.1:{port}", batch_size=25, flush_interval=0.05, auto_reconnect=True,
        reconnect=ReconnectPolicy(base_delay=0.05, max_delay=0.2),
    )
    events: list[str] = []
    feed.on("disconnect", lambda *a: events.append("disconnect"))
    feed.on("reconnect", lambda *a: events.append("reconnect"))
    await feed.connect()
    try:
        for n in range(300):
            await feed.send({"n": n})
            if n == 150:
                await _until(lambda: len(received) >= 125, arrived)
                server.close()
                await server.wait_closed()
                server = await websockets.serve(collect, "127.0.0.1", port)
        # close() waits for the reconnect to deliver what is still in the outbox
        await feed.close()
    finally:
        server.close()
        await server.wait_closed()
    say.line(f"events: {' -> '.join(events) or 'none'}")
    distinct = len(set(received))
    verdict = "nothing lost" if distinct == 300 else f"{300 - distinct} LOST"
    say.line(f"server received {distinct} of 300 distinct messages "
             f"({len(received)} deliveries); {verdict}")


async def _until(done: Callable[[], bool], arrived: asyncio.Event, timeout: float = 2.0) -> None:
    """Wait (bounded) until ``done()``, re-checking each time the server reports a frame."""
    deadline = time.monotonic() + timeout
    while not done():
        arrived.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(arrived.wait(), remaining)
        except asyncio.TimeoutError:
            return


# --------------------------------------------------------------------- download


async def _download(say: _Printer) -> None:
    from pepperpy_core import DownloadHandler, HttpClient
    from pepperpy_core.testing import LocalServer

    say.title("download: a 4 MiB file whose first transfer is cut half way")
    payload = hashlib.sha256(b"demo").digest() * (4 * 1024 * 1024 // 32)
    digest = hashlib.sha256(payload).hexdigest()
    served: list[str] = []

    async def file(request: web.Request) -> web.StreamResponse:
        start = request.http_range.start or 0
        served.append(f"bytes {start}-")
        status = 206 if start else 200
        response = web.StreamResponse(status=status, headers={"ETag": '"v1"'})
        response.content_length = len(payload) - start
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(payload) - 1}/{len(payload)}"
        await response.prepare(request)
        if len(served) == 1:  # the first transfer dies half way
            await response.write(payload[: len(payload) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(payload[start:])
        return response

    app = web.Application()
    app.router.add_get("/data.bin", file)
    with tempfile.TemporaryDirectory() as folder:
        async with LocalServer(app) as srv, HttpClient() as client:
            handler = DownloadHandler(client, retry_policy=None)
            handler.policy = handler.policy.with_(backoff_base=0.05)
            result = await handler.download(
                srv.url("/data.bin"), Path(folder) / "data.bin", sha256=digest
            )
    say.line(f"requests: {', '.join(served)}")
    say.line(f"resumed={result.resumed}, {result.bytes:,} bytes in {result.attempts} attempts, "
             f"sha256 verified, no partial file left")


# --------------------------------------------------------------------- Vision


async def _vision(say: _Printer) -> None:
    from pepperpy_core import HttpClient, VisionDownloadManager
    from pepperpy_core.testing.vision_server import VisionArchiveServer, build_sample_archive

    say.title("vision: BTCUSDT 1m klines, 2023-01-01 to 2023-02-28, from a local archive")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "archive"
        build_sample_archive(root, trade_rows=10)
        async with VisionArchiveServer(root) as srv, HttpClient() as client:
            manager = VisionDownloadManager(
                client=client, symbol="BTCUSDT", interval="1m", base_url=srv.base_url,
                cache_dir=Path(folder) / "cache", today=lambda: dt.date(2026, 1, 1),
            )
            result = await manager.download_range(
                dt.date(2023, 1, 1), dt.date(2023, 2, 28), strict=False
            )
    kinds = Counter(f.spec.frequency for f in result.files)
    say.line(f"{result.rows:,} rows from {kinds['daily']} daily + {kinds['monthly']} monthly "
             f"file(s), every one checked against its .CHECKSUM")
    say.line(f"missing days reported: {len(result.missing_days)} "
             f"(first {result.missing_days[0] if result.missing_days else '-'})")
    for spec, error in result.failed:
        say.line(f"rejected {spec.filename}: {type(error).__name__}")
    first = result.frame.datetimes("open_time")[0]
    say.line(f"first candle {first} UTC, close={result.frame['close'][0]}")

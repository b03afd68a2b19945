"""Shared benchmark plumbing: a local aiohttp server in its own process pinned to core 0, the
client pinned to core 1, medians over rounds, and markdown output.

Only 127.0.0.1 is ever used; every loop is bounded in count and wall time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

SERVER_CODE = r"""
import asyncio, os, sys
from aiohttp import web
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(sys.argv[1])})
async def small(request):
    return web.Response(body=b'{"ok":true,"items":[1,2,3]}', content_type="application/json")
async def cacheable(request):
    return web.Response(body=b'{"ok":true}', content_type="application/json",
                        headers={"Cache-Control": "max-age=3600"})
async def main():
    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/cacheable", cacheable)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def pin_client(core: int = 1) -> None:
    """Pin this process to ``core`` (when the OS allows it) and quiet structlog to INFO."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > core:  # type: ignore[operator]
        os.sched_setaffinity(0, {core})
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )


@contextmanager
def local_server(code: str = SERVER_CODE, core: int = 0) -> Iterator[str]:
    """Start a server subprocess (pinned to ``core``); yield its base URL; stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(core)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def callgrind_prefix() -> list[str]:
    """The command that runs a child under callgrind, pinned to core 1 with address-space
    randomisation off (where taskset and setarch exist), so its count repeats."""
    prefix: list[str] = []
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        prefix += ["taskset", "-c", "1"]
    if shutil.which("setarch"):
        prefix += ["setarch", "-R"]
    return [*prefix, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]


def median(values: list[float]) -> float:
    return statistics.median(values)


Fetch = Callable[[str], Awaitable[Any]]


async def run_load(fetch: Fetch, url: str, total: int, concurrency: int) -> tuple[float, float]:
    """``total`` requests through ``fetch`` with ``concurrency`` workers: (req/s, client CPU
    µs per request). Bounded: 120 s at most."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await fetch(url)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=120)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return total / wall, cpu / total * 1e6


async def paired_rounds(
    clients: dict[str, Fetch], url: str, requests: int, rounds: int, concurrency: int,
    baseline: str,
) -> dict[str, dict[str, list[float]]]:
    """Every client once per round, in a rotated order, so slow drifts of the machine hit all
    of them alike. Per client: ``rps`` and ``cpu`` per round, and ``ratio`` (its req/s over the
    baseline's in the same round), ``extra_cpu`` (its CPU µs/request minus the baseline's in
    the same round) and ``cpu_ratio`` (the baseline's CPU µs/request over its own): the medians
    of those paired figures are what the tables quote."""
    names = list(clients)
    for fetch in clients.values():
        await run_load(fetch, url, min(200, requests), concurrency)  # warm-up
    out: dict[str, dict[str, list[float]]] = {
        n: {"rps": [], "cpu": [], "ratio": [], "extra_cpu": [], "cpu_ratio": []} for n in names
    }
    for index in range(rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        figures = {name: await run_load(clients[name], url, requests, concurrency)
                   for name in order}
        base_rps, base_cpu = figures[baseline]
        for name, (rps, cpu) in figures.items():
            cell = out[name]
            cell["rps"].append(rps)
            cell["cpu"].append(cpu)
            cell["ratio"].append(rps / base_rps)
            cell["extra_cpu"].append(cpu - base_cpu)
            cell["cpu_ratio"].append(base_cpu / cpu)
    return out


def machine() -> str:
    """One line describing the machine and versions."""
    import aiohttp

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}"
    )


def write_result(name: str, markdown: str, data: dict[str, object]) -> None:
    """Save one benchmark's section (markdown) and raw figures (JSON) under results/."""
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + f"\n\n_Run {stamp}; {machine()}._\n")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2))

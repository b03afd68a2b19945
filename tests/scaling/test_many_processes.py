"""Eight worker processes sharing one Redis: one quota, one pause, one cache."""

from __future__ import annotations

import asyncio
import bisect
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from pepperpy_core.testing import LocalServer

WORKER = Path(__file__).with_name("workers.py")
PROCESSES = 8


async def run_workers(mode: str, args: dict[str, Any], count: int = PROCESSES) -> list[Any]:
    """Start ``count`` workers, release them together once all are ready, and collect what each
    printed (every one must exit 0 within the test's bounds)."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), mode, json.dumps(args),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line.strip() == b"ready", line
        await asyncio.sleep(1.1)  # what warming up spent leaves the window
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        results = []
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def warm(request: web.Request) -> web.Response:
    return web.Response(text="warm")


def most_in_one_second(times: list[float]) -> int:
    """The largest number of arrivals in any one-second window (starting at an arrival)."""
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


async def test_eight_processes_share_one_quota(redis_url: str, prefix: str) -> None:
    """8 processes x 4 tasks on RateLimit.of((100, 1.0)) for 5 s: the server never sees more
    than 100 requests in any one-second window, and at least 95 in each full second.

    A request counts from its grant until a window after its answer, and it reaches the server
    in between, so no server window can hold more than the quota, however the time from grant
    to arrival varies (counting from the grant alone let 103-132 through here)."""
    arrivals: list[float] = []

    async def work(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/work", work)
    app.router.add_get("/warm", warm)
    async with LocalServer(app) as origin:
        results = await run_workers("limit", {"url": origin.base_url, "redis": redis_url,
                                              "prefix": prefix, "duration": 5.0,
                                              "concurrency": 4})
    arrivals.sort()
    assert [r["outages"] for r in results] == [0] * PROCESSES
    assert sum(sum(r["statuses"].values()) for r in results) == len(arrivals)
    assert most_in_one_second(arrivals) <= 100
    start = arrivals[0]
    per_second = [bisect.bisect_left(arrivals, start + k + 1) - bisect.bisect_left(
        arrivals, start + k) for k in range(4)]
    assert min(per_second) >= 95, per_second


async def test_one_workers_429_pauses_every_worker(redis_url: str, prefix: str) -> None:
    """The 150th request gets 429 with Retry-After: 1: once that worker has its answer (and has
    set the shared pause), no task anywhere is let through until the second is over. Requests
    let through before the pause may still be on their way; each task has at most one, so a
    task shows up at most once in that second (without the pause each would send several).
    Then every worker resumes."""
    arrivals: list[tuple[float, str]] = []
    penalty: list[float] = []

    async def work(request: web.Request) -> web.Response:
        now = time.monotonic()
        arrivals.append((now, request.headers["X-Task"]))
        if len(arrivals) == 150:
            penalty.append(now)
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/work", work)
    app.router.add_get("/warm", warm)
    async with LocalServer(app) as origin:
        results = await run_workers("limit", {"url": origin.base_url, "redis": redis_url,
                                              "prefix": prefix, "duration": 3.5,
                                              "concurrency": 4})
    (at,) = penalty
    (paused,) = [t for r in results for t in r["paused_at"]]
    assert at < paused < at + 0.5
    during = Counter(task for t, task in arrivals if paused < t < at + 1.0)
    assert max(during.values(), default=0) <= 1, during
    tasks = {task for _, task in arrivals}
    resumed = {task for t, task in arrivals if at + 1.0 < t < at + 2.0}
    assert resumed == tasks  # every task of every worker sends again


async def test_eight_processes_one_origin_request(redis_url: str, prefix: str) -> None:
    """8 processes ask for one cacheable URL at once: the origin answers once, and every
    process gets that answer (one as a miss, the rest from the shared cache)."""
    hits: list[float] = []

    async def shared(request: web.Request) -> web.Response:
        hits.append(time.monotonic())
        await asyncio.sleep(0.3)  # a slow origin: every other process asks meanwhile
        return web.json_response({"n": len(hits)}, headers={"Cache-Control": "max-age=60"})

    app = web.Application()
    app.router.add_get("/shared", shared)
    async with LocalServer(app) as origin:
        results = await run_workers("cache", {"url": origin.base_url, "redis": redis_url,
                                              "prefix": prefix})
    assert len(hits) == 1
    assert [r["body"] for r in results] == [{"n": 1}] * PROCESSES
    assert sorted(r["cache"] for r in results) == ["hit"] * (PROCESSES - 1) + ["miss"]

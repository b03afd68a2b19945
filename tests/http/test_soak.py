"""A soak: 5,000 requests through the fault proxy to nginx, with random faults, on each
backend. Every answer is complete or a documented error, and open file descriptors and tasks
stay flat."""

from __future__ import annotations

import asyncio
import os
import random

import pytest
from peers.faultproxy import FaultProxy
from peers.http_site import DATA
from peers.nginx import Nginx

from pepperpy_core import HttpClient, PepperPyError, RetryPolicy

REQUESTS = 5000
WORKERS = 50


def _proxy_tasks() -> int:
    return sum("FaultProxy._handle" in repr(t.get_coro()) for t in asyncio.all_tasks())


def _client_fds() -> int:
    """Open fds, less the three of each connection the proxy (test machinery) holds open: the
    client's socket, the proxy's accepted one and its upstream one."""
    return len(os.listdir("/proc/self/fd")) - 3 * _proxy_tasks()


def _client_tasks() -> int:
    return sum("FaultProxy" not in repr(t.get_coro()) for t in asyncio.all_tasks())


@pytest.mark.timeout(120)
async def test_soak_with_random_faults_keeps_fds_and_tasks_flat(
    nginx: Nginx, backend: str
) -> None:
    rng = random.Random(13)

    def fault() -> object:
        roll = rng.random()
        if roll < 0.04:
            return ("cut", rng.randrange(0, 300))
        if roll < 0.06:
            return ("reset", rng.randrange(0, 300))
        if roll < 0.08:
            return "refuse"
        if roll < 0.10:
            return "once"
        if roll < 0.101:
            return "stall"
        return None

    outcomes = {"ok": 0, "error": 0}

    async def worker(c: HttpClient, n: int, close: bool = True) -> None:
        # "Connection: close": a new connection (and a new roll of the fault dice) each time
        headers = {"Connection": "close"} if close else {}
        for i in range(n):
            path = "/data.txt" if i % 50 == 0 else "/small.json"
            try:
                response = await c.get(path, headers=headers)
            except PepperPyError:
                outcomes["error"] += 1
                continue
            assert response.status == 200
            assert response.content == (DATA if path == "/data.txt" else b'{"ok": true}')
            outcomes["ok"] += 1

    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, timeout=0.5, max_connections=WORKERS,
        retries=RetryPolicy(total=1, backoff_base=0.0, jitter=False),
    ) as c:
        await asyncio.gather(*(worker(c, 4, False) for _ in range(WORKERS)))  # warm the pool
        fds, tasks = _client_fds(), _client_tasks()
        proxy.fault = fault
        await asyncio.gather(*(worker(c, REQUESTS // WORKERS) for _ in range(WORKERS)))
        proxy.fault = None
        await asyncio.gather(*(worker(c, 4, False) for _ in range(WORKERS)))
        await asyncio.sleep(0.05)
        assert _client_tasks() <= tasks
        assert _client_fds() <= fds + 2
    assert outcomes["ok"] + outcomes["error"] == REQUESTS + 8 * WORKERS
    assert outcomes["error"] > 0 and outcomes["ok"] > REQUESTS // 2

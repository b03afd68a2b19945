"""A worker process for the multi-process tests: ``python workers.py MODE JSON``.

It builds its client, prints ``ready``, waits for ``go`` on stdin, does its work, and prints
one JSON line with what it saw. Modes: ``limit`` (send GETs for ``duration`` seconds through a
Redis-shared RateLimit, each tagged ``X-Task: pid-task``; times are ``time.monotonic()``, one
clock for every process on the host) and ``cache`` (one GET through a Redis-shared cache).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any

from pepperpy_core import (
    CachedClient,
    RateLimit,
    RateLimitedClient,
    RedisCacheStorage,
    RedisRateLimitStore,
)


async def _go() -> None:
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def limit(args: dict[str, Any]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    store = RedisRateLimitStore(args["redis"], prefix=args["prefix"])
    async with store, RateLimitedClient(base_url=args["url"], retries=0,
                                        rate_limit=RateLimit.of((100, 1.0)),
                                        rate_limit_store=store) as client:
        # pooled connections for every task, as a long-running worker has
        await asyncio.gather(*[client.get("/warm") for _ in range(args["concurrency"])])
        await _go()
        until = time.monotonic() + args["duration"]
        paused_at: list[float] = []  # when a 429 came back (its pause already set)

        async def loop(task: int) -> None:
            tag = {"X-Task": f"{os.getpid()}-{task}"}
            while time.monotonic() < until:
                response = await client.get("/work", headers=tag)
                statuses[response.status] += 1
                if response.status == 429:
                    paused_at.append(time.monotonic())

        await asyncio.gather(*[loop(task) for task in range(args["concurrency"])])
    return {"statuses": dict(statuses), "outages": store.outages, "paused_at": paused_at}


async def cache(args: dict[str, Any]) -> dict[str, Any]:
    storage = RedisCacheStorage(args["redis"], prefix=args["prefix"])
    async with CachedClient(base_url=args["url"], storage=storage) as client:
        await _go()
        response = await client.get("/shared")
        body = await response.json()
    await storage.aclose()
    return {"body": body, "cache": response.metadata["cache"]}


def main() -> None:
    mode, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run({"limit": limit, "cache": cache}[mode](json.loads(raw)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

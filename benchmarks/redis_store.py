"""The Redis stores' cost: an acquire on Redis against one Redis PING round trip (and the
peers pyrate-limiter's RedisBucket and limits' async Redis storage doing the same), requests
per second at concurrency 16 with the Redis store against the memory store, and a Redis cache
hit against a loopback origin round trip.

    python benchmarks/redis_store.py [--ops 3000] [--requests 2000] [--rounds 7]
            [--redis redis://127.0.0.1:6379/0]

Needs a Redis server (the project's machines run one on 127.0.0.1:6379); every key is under a
prefix of this run's own and is deleted at the end. The client is pinned to core 1 and the
loopback origin to core 0; Redis runs where the machine put it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from _harness import local_server, median, paired_rounds, pin_client, write_result

Op = Callable[[], Awaitable[Any]]

PING = "Redis PING (redis-py)"
OURS = "RedisRateLimitStore.acquire"
OURS_HELD = "RedisRateLimitStore.acquire_held + settle (the layer's pair)"
PYRATE = "pyrate-limiter RedisBucket"
LIMITS = "limits MovingWindow, async Redis"


def spread(values: list[float]) -> str:
    """The middle half of ``values`` as "low-high" (whole numbers)."""
    if len(values) < 4:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:,.0f}-{high:,.0f}"


async def time_op(op: Op, count: int) -> tuple[float, float]:
    """Microseconds per call of ``op``, ``count`` calls one after another: (wall, this
    process's CPU)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await op()
    return ((time.perf_counter() - wall) / count * 1e6,
            (time.process_time() - cpu) / count * 1e6)


async def server_us(redis: Any) -> float:
    """Redis's own time in commands since its stats were last reset (µs), less INFO/CONFIG."""
    stats = await redis.info("commandstats")
    return float(sum(v["usec"] for k, v in stats.items()
                     if k not in ("cmdstat_config", "cmdstat_info")))


async def acquire_ops(redis_url: str, prefix: str) -> tuple[dict[str, Op], list[Any]]:
    """One granted acquire per call for each contender (limits far above the load); the
    things to close afterwards."""
    from redis.asyncio import Redis

    from pepperpy_core import RedisRateLimitStore
    from pepperpy_core.behaviours.rate_limit import Rate

    ping_client = Redis.from_url(redis_url)
    store = RedisRateLimitStore(redis_url, prefix=prefix)
    rates = [Rate(10_000_000, 1.0)]

    async def ours() -> None:
        await store.acquire("bench", rates, 1)

    async def ours_held() -> None:
        _, hold = await store.acquire_held("bench-held", rates, 1)
        await store.settle(hold)

    ops: dict[str, Op] = {PING: ping_client.ping, OURS: ours, OURS_HELD: ours_held}
    closers: list[Any] = [ping_client, store]
    try:
        from pyrate_limiter import Duration, Limiter, RedisBucket
        from pyrate_limiter import Rate as PyrateRate

        pyrate_client = Redis.from_url(redis_url)
        bucket = await RedisBucket.init([PyrateRate(10_000_000, Duration.SECOND)],
                                        pyrate_client, f"{prefix}pyrate")
        limiter = Limiter(bucket)

        async def pyrate() -> None:
            await limiter.try_acquire_async("bench", blocking=False)

        ops[PYRATE] = pyrate
        closers.append(pyrate_client)
    except ImportError:
        print("pyrate-limiter not installed: skipped (pip install -e '.[benchmark]')")
    try:
        from limits import RateLimitItemPerSecond
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        storage = RedisStorage("async+" + redis_url, implementation="redispy",
                               key_prefix=f"{prefix}limits")
        moving = MovingWindowRateLimiter(storage)
        item = RateLimitItemPerSecond(10_000_000)

        async def limits_hit() -> None:
            await moving.hit(item, "bench")

        ops[LIMITS] = limits_hit
    except ImportError:
        print("limits[async-redis] not installed: skipped (pip install -e '.[benchmark]')")
    return ops, closers


async def acquire_rounds(ops: dict[str, Op], redis: Any, count: int, rounds: int,
                         block: int = 100) -> dict[str, dict[str, list[float]]]:
    """Per op and round: wall µs per call and its ratio to PING in the same round, this
    process's CPU µs per call, and Redis's own µs per call (its command stats, reset before
    each block: the steady parts of the cost on a loaded machine). A round runs ``count``
    calls of each op in blocks of ``block``, the ops taking turns block by block (rotated each
    round), so that every op meets the same load on a busy machine."""
    names = list(ops)
    for op in ops.values():
        await time_op(op, min(300, count))  # warm-up: scripts loaded, connections open
    out: dict[str, dict[str, list[float]]] = {
        n: {"us": [], "ratio": [], "cpu": [], "server": []} for n in names
    }
    blocks = max(1, count // block)
    for index in range(rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        wall = dict.fromkeys(names, 0.0)
        cpu = dict.fromkeys(names, 0.0)
        server = dict.fromkeys(names, 0.0)
        for _ in range(blocks):
            for name in order:
                await redis.config_resetstat()
                block_wall, block_cpu = await time_op(ops[name], block)
                wall[name] += block_wall / blocks
                cpu[name] += block_cpu / blocks
                server[name] += await server_us(redis) / block / blocks
        for name in names:
            out[name]["us"].append(wall[name])
            out[name]["ratio"].append(wall[name] / wall[PING])
            out[name]["cpu"].append(cpu[name])
            out[name]["server"].append(server[name])
    return out


async def throughput(origin: str, redis_url: str, prefix: str, requests: int, rounds: int
                     ) -> dict[str, dict[str, list[float]]]:
    """req/s at concurrency 16 through a RateLimitedClient that never waits, counts in memory
    against counts on Redis."""
    from pepperpy_core import (
        MemoryRateLimitStore,
        RateLimit,
        RateLimitedClient,
        RedisRateLimitStore,
    )

    limit = RateLimit.of((10_000_000, 1.0))
    store = RedisRateLimitStore(redis_url, prefix=prefix)
    memory = RateLimitedClient(rate_limit=limit, rate_limit_store=MemoryRateLimitStore())
    shared = RateLimitedClient(rate_limit=limit, rate_limit_store=store)
    try:
        async def with_memory(url: str) -> bytes:
            return (await memory.get(url)).content

        async def with_redis(url: str) -> bytes:
            return (await shared.get(url)).content

        return await paired_rounds({"memory store": with_memory, "Redis store": with_redis},
                                   origin + "/small", requests, rounds, 16, "memory store")
    finally:
        await memory.aclose()
        await shared.aclose()
        await store.aclose()


async def cache_hit(origin: str, redis_url: str, prefix: str, requests: int, rounds: int
                    ) -> dict[str, dict[str, list[float]]]:
    """One request at a time: a Redis cache hit against the same client's loopback round trip
    to the origin (a response it may not store)."""
    from pepperpy_core import CachedClient, RedisCacheStorage

    storage = RedisCacheStorage(redis_url, prefix=prefix)
    client = CachedClient(storage=storage)
    try:
        await client.get(origin + "/cacheable")  # stored once: every later one is a hit

        async def fetch(url: str) -> bytes:
            return (await client.get(url)).content

        async def hit(url: str) -> bytes:
            response = await client.get(origin + "/cacheable")
            assert response.metadata["cache"] == "hit"
            return response.content

        return await paired_rounds({"loopback origin": fetch, "Redis cache hit": hit},
                                   origin + "/small", requests, rounds, 1, "loopback origin")
    finally:
        await client.aclose()
        await storage.aclose()


async def cleanup(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        for pattern in (prefix + "*", "{" + prefix + "*", "LIMITS*" + prefix + "*"):
            names = [k async for k in client.scan_iter(match=pattern, count=1000)]
            if names:
                await client.delete(*names)
    finally:
        await client.aclose()


async def main_async(args: argparse.Namespace) -> None:
    prefix = f"ppbench:{uuid.uuid4().hex[:8]}:"
    try:
        ops, closers = await acquire_ops(args.redis, prefix)
        try:
            acquires = await acquire_rounds(ops, closers[0], args.ops, args.rounds)
        finally:
            for thing in closers:
                await thing.aclose()
        with local_server() as origin:
            rps = await throughput(origin, args.redis, prefix, args.requests, args.rounds)
            hit = await cache_hit(origin, args.redis, prefix, args.requests, args.rounds)
    finally:
        await cleanup(args.redis, prefix)
    report(acquires, rps, hit, args)


def report(acquires: dict[str, dict[str, list[float]]], rps: dict[str, dict[str, list[float]]],
           hit: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    lines = [
        "## Redis stores (shared rate limit and cache)",
        "",
        f"`benchmarks/redis_store.py`: {args.rounds} rounds, medians; client "
        f"pinned to core 1, loopback origin to core 0, Redis ({args.redis}) where it runs. "
        f"Acquires: {args.ops} calls one after another per round and contender, in blocks of "
        "100 taking turns (so every contender meets the same load), each granted (limits far "
        "above the load), the ratio against a PING on the same Redis in the same round.",
        "",
        "| one call | µs (median) | vs PING | client CPU µs | Redis µs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cell in acquires.items():
        lines.append(f"| {name} | {median(cell['us']):.1f} | {median(cell['ratio']):.2f}x | "
                     f"{median(cell['cpu']):.1f} | {median(cell['server']):.1f} |")
    ours = median(acquires[OURS]["ratio"])
    lines += [
        "",
        "Client CPU is this process's time per call (encoding, the client library, our "
        "code); Redis µs is the server's own time in the command (the script), from its "
        "command stats: both hold steadier than the wall figure on a loaded machine.",
        "",
        f"Target: an acquire at most 1.5x a PING round trip: {ours:.2f}x, "
        f"{'met' if ours <= 1.5 else 'not met'}. The layer also settles each request once "
        "its answer is in, so that it counts until a window after the answer (the peers "
        "count from the grant only). The next acquire on the key carries that settle, so "
        "the layer's pair (second row) is still one round trip per request.",
        "",
        f"Requests/second at concurrency 16 through `RateLimitedClient` (a limit that never "
        f"waits), {args.requests} requests per round:",
        "",
        "| store | req/s (median) | IQR | vs memory store |",
        "|---|---:|---:|---:|",
    ]
    for name, cell in rps.items():
        lines.append(f"| {name} | {median(cell['rps']):,.0f} | {spread(cell['rps'])} | "
                     f"{median(cell['ratio']):.2f}x |")
    lines += [
        "",
        "A cache hit from Redis against a round trip to the loopback origin, one request at "
        "a time (`CachedClient`):",
        "",
        "| request | µs per request (median) | vs origin round trip |",
        "|---|---:|---:|",
    ]
    for name, cell in hit.items():
        per = [1e6 / r for r in cell["rps"]]
        lines.append(f"| {name} | {median(per):.0f} | {1 / median(cell['ratio']):.2f}x |")
    versions = []
    import importlib.metadata as md

    for package in ("redis", "pyrate-limiter", "limits"):
        try:
            versions.append(f"{package} {md.version(package)}")
        except md.PackageNotFoundError:
            continue
    lines += ["", f"Peers and client: {', '.join(versions)}."]
    write_result("redis_store", "\n".join(lines),
                 {"acquire": acquires, "throughput": rps, "cache_hit": hit})
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    pin_client()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

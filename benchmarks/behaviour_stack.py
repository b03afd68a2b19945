"""The behaviour stack's cost: the full stack (metrics + cache miss + retry + rate limit that
never waits) against raw aiohttp and the plain HttpClient, and a memory cache hit against a
loopback round trip.

    python benchmarks/behaviour_stack.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _harness import local_server, median, pin_client, write_result

Fetch = Callable[[str], Awaitable[Any]]
CONCURRENCY = (1, 16)


async def run_load(fetch: Fetch, url: str, total: int, concurrency: int) -> float:
    """``total`` requests through ``fetch`` with ``concurrency`` workers: requests/second."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await fetch(url)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=60)
    return total / (time.perf_counter() - started)


def full_stack() -> Any:
    from pepperpy_core import HttpClient
    from pepperpy_core.behaviours import (
        CacheMixin,
        MetricsMixin,
        RateLimit,
        RateLimitMixin,
        RetryMixin,
    )

    class FullStack(MetricsMixin, CacheMixin, RetryMixin, RateLimitMixin, HttpClient):
        rate_limit = RateLimit.of((1_000_000, 1.0))  # never waits: we measure the overhead

    return FullStack()


async def make_clients() -> dict[str, tuple[Fetch, Callable[[], Awaitable[None]]]]:
    import aiohttp

    from pepperpy_core import HttpClient

    session = aiohttp.ClientSession()

    async def raw(url: str) -> bytes:
        async with session.get(url) as r:
            return await r.read()

    plain, stack = HttpClient(), full_stack()

    async def plain_fetch(url: str) -> bytes:
        return (await plain.get(url)).content

    async def stack_fetch(url: str) -> bytes:
        return (await stack.get(url)).content

    return {
        "aiohttp (raw)": (raw, session.close),
        "HttpClient (retry only)": (plain_fetch, plain.close),
        "full stack, cache miss": (stack_fetch, stack.close),
    }


async def throughput(base: str, requests: int, rounds: int) -> dict[str, list[float]]:
    clients = await make_clients()
    results: dict[str, list[float]] = {}
    try:
        for concurrency in CONCURRENCY:
            for fetch, _ in clients.values():
                await run_load(fetch, base + "/small", 200, concurrency)  # warm-up
            for _ in range(rounds):
                for name, (fetch, _) in clients.items():  # interleaved: noise hits all alike
                    rps = await run_load(fetch, base + "/small", requests, concurrency)
                    results.setdefault(f"{name}|{concurrency}", []).append(rps)
    finally:
        for _, close in clients.values():
            await close()
    return results


async def hit_vs_round_trip(base: str, requests: int, rounds: int) -> dict[str, list[float]]:
    """Microseconds per sequential request: a memory cache hit and a raw loopback exchange."""
    import aiohttp

    session, stack = aiohttp.ClientSession(), full_stack()
    out: dict[str, list[float]] = {"hit_us": [], "round_trip_us": []}
    try:
        await stack.get(base + "/cacheable")  # stored (max-age=3600)
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(requests):
                response = await stack.get(base + "/cacheable")
            out["hit_us"].append((time.perf_counter() - started) / requests * 1e6)
            assert response.metadata["from_cache"] is True
            started = time.perf_counter()
            for _ in range(requests):
                async with session.get(base + "/cacheable") as r:
                    await r.read()
            out["round_trip_us"].append((time.perf_counter() - started) / requests * 1e6)
    finally:
        await session.close()
        await stack.close()
    return out


def report(rps: dict[str, list[float]], hit: dict[str, list[float]], requests: int,
           rounds: int) -> str:
    lines = [
        "## Behaviour stack (`benchmarks/behaviour_stack.py`)",
        "",
        f"{requests} GETs of a 27-byte JSON body per round, {rounds} rounds, median shown; "
        "server (aiohttp) pinned to core 0, client to core 1. The full stack is metrics + "
        "cache (every request a miss: the response has no cache headers) + retry + a rate "
        "limit of 1,000,000/s (never waits).",
        "",
        "| client | concurrency | req/s | vs raw aiohttp | vs HttpClient |",
        "|---|---:|---:|---:|---:|",
    ]
    for concurrency in CONCURRENCY:
        raw = median(rps[f"aiohttp (raw)|{concurrency}"])
        plain = median(rps[f"HttpClient (retry only)|{concurrency}"])
        for name in ("aiohttp (raw)", "HttpClient (retry only)", "full stack, cache miss"):
            value = median(rps[f"{name}|{concurrency}"])
            lines.append(f"| {name} | {concurrency} | {value:,.0f} | {value / raw:.2f}x "
                         f"| {value / plain:.2f}x |")
    hit_us, trip_us = median(hit["hit_us"]), median(hit["round_trip_us"])
    lines += [
        "",
        "| sequential request | µs per request |",
        "|---|---:|",
        f"| memory cache hit (full stack) | {hit_us:.1f} |",
        f"| raw aiohttp loopback round trip | {trip_us:.1f} |",
        f"| **hit speed-up** | **{trip_us / hit_us:.0f}x** |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pin_client()
    with local_server() as base:
        rps = asyncio.run(throughput(base, args.requests, args.rounds))
        hit = asyncio.run(hit_vs_round_trip(base, min(args.requests, 1000), args.rounds))
    text = report(rps, hit, args.requests, args.rounds)
    print(text)
    write_result("behaviours", text, {"throughput": rps, "cache_hit": hit})


if __name__ == "__main__":
    main()

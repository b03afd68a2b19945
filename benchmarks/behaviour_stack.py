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

from _harness import Fetch, local_server, median, paired_rounds, pin_client, write_result
from http_overhead import iqr

CONCURRENCY = (1, 16)
RAW = "aiohttp (raw)"
PLAIN = "HttpClient (retry only)"
STACK = "full stack, cache miss"


def full_stack() -> Any:
    from pepperpy_core import CachedClient, MetricsClient, RateLimit, RateLimitedClient

    class FullStack(MetricsClient, CachedClient, RateLimitedClient):  # retry: HttpClient's own
        rate_limit = RateLimit.of((1_000_000, 1.0))  # never waits: we measure the overhead

    return FullStack(cache_ttl=None)  # the headers only: /small is never a hit


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
        RAW: (raw, session.close),
        PLAIN: (plain_fetch, plain.close),
        STACK: (stack_fetch, stack.close),
    }


async def throughput(base: str, requests: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    clients = await make_clients()
    fetches = {name: fetch for name, (fetch, _) in clients.items()}
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for concurrency in CONCURRENCY:
            paired = await paired_rounds(fetches, base + "/small", requests, rounds,
                                         concurrency, RAW)
            stack, plain = paired[STACK], paired[PLAIN]
            stack["vs_plain"] = [s / p for s, p in zip(stack["rps"], plain["rps"], strict=True)]
            for name, cell in paired.items():
                results[f"{name}|{concurrency}"] = cell
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


def report(rps: dict[str, dict[str, list[float]]], hit: dict[str, list[float]], requests: int,
           rounds: int) -> str:
    lines = [
        "## Behaviour stack (`benchmarks/behaviour_stack.py`)",
        "",
        f"{requests} GETs of a 27-byte JSON body per round, {rounds} rounds with every client "
        "once per round in a rotated order; server (aiohttp) pinned to core 0, client to core "
        "1. Ratios are medians of the per-round comparisons (IQR: the middle half of the "
        "per-round ratios against raw aiohttp). The full stack is metrics + cache (every "
        "request a miss: the response has no cache headers) + retry + a rate limit of "
        "1,000,000/s (never waits). \"CPU\" is raw aiohttp's client CPU time per request "
        "over the client's, per round (the client is busy all through a round, so this tracks "
        "req/s, with less of the noise other guests of the machine add to wall clock).",
        "",
        "| client | concurrency | req/s | vs raw aiohttp | IQR | CPU vs raw aiohttp "
        "| vs HttpClient |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in CONCURRENCY:
        for name in (RAW, PLAIN, STACK):
            cell = rps[f"{name}|{concurrency}"]
            versus_plain = (
                f"{median(cell['vs_plain']):.2f}x" if "vs_plain" in cell else "-"
            )
            lines.append(
                f"| {name} | {concurrency} | {median(cell['rps']):,.0f} "
                f"| {median(cell['ratio']):.2f}x | {iqr(cell['ratio'])} "
                f"| {median(cell['cpu_ratio']):.2f}x | {versus_plain} |"
            )
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
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
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

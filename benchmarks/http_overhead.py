"""HttpClient's overhead against raw aiohttp and httpx on the same local server.

Sequential and at concurrency 16 and 64: requests/second (median of rounds) and client CPU
microseconds per request; ratios against raw aiohttp in one run.

    python benchmarks/http_overhead.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _harness import local_server, median, pin_client, write_result

Fetch = Callable[[str], Awaitable[Any]]


async def run_load(fetch: Fetch, url: str, total: int, concurrency: int) -> tuple[float, float]:
    """``total`` requests through ``fetch`` with ``concurrency`` workers: (req/s, cpu µs/req)."""
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


async def make_clients() -> dict[str, tuple[Fetch, Callable[[], Awaitable[None]]]]:
    import aiohttp
    import httpx

    from pepperpy_core import HttpClient

    session = aiohttp.ClientSession()

    async def raw_fetch(url: str) -> bytes:
        async with session.get(url) as r:
            return await r.read()

    ours = HttpClient()

    async def our_fetch(url: str) -> bytes:
        return (await ours.get(url)).content

    hx = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))

    async def hx_fetch(url: str) -> bytes:
        return (await hx.get(url)).content

    return {
        "aiohttp (raw)": (raw_fetch, session.close),
        "pepperpy-core HttpClient": (our_fetch, ours.close),
        "httpx": (hx_fetch, hx.aclose),
    }


async def bench(base: str, requests: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    url = base + "/small"
    clients = await make_clients()
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for concurrency in (1, 16, 64):
            for fetch, _ in clients.values():
                await run_load(fetch, url, min(200, requests), concurrency)  # warm-up
            for _ in range(rounds):
                for name, (fetch, _) in clients.items():  # interleaved: noise hits all alike
                    rps, cpu = await run_load(fetch, url, requests, concurrency)
                    cell = results.setdefault(f"{name}|{concurrency}", {"rps": [], "cpu": []})
                    cell["rps"].append(rps)
                    cell["cpu"].append(cpu)
    finally:
        for _, close in clients.values():
            await close()
    return results


def report(results: dict[str, dict[str, list[float]]], requests: int, rounds: int) -> str:
    lines = [
        "## HTTP client overhead (`benchmarks/http_overhead.py`)",
        "",
        f"{requests} GETs of a 27-byte JSON body per round, {rounds} rounds, median shown; "
        "server (aiohttp) pinned to core 0, client to core 1.",
        "",
        "| client | concurrency | req/s | vs raw aiohttp | client CPU µs/req | extra CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for concurrency in (1, 16, 64):
        base_rps = median(results[f"aiohttp (raw)|{concurrency}"]["rps"])
        base_cpu = median(results[f"aiohttp (raw)|{concurrency}"]["cpu"])
        for name in ("aiohttp (raw)", "pepperpy-core HttpClient", "httpx"):
            cell = results[f"{name}|{concurrency}"]
            rps, cpu = median(cell["rps"]), median(cell["cpu"])
            lines.append(
                f"| {name} | {concurrency} | {rps:,.0f} | {rps / base_rps:.2f}x | {cpu:.0f} "
                f"| {cpu - base_cpu:+.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pin_client()
    with local_server() as base:
        results = asyncio.run(bench(base, args.requests, args.rounds))
    text = report(results, args.requests, args.rounds)
    print(text)
    write_result("http_overhead", text, {"results": results})


if __name__ == "__main__":
    main()

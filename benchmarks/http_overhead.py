"""HttpClient's overhead against raw aiohttp and httpx on the same local server.

Sequential and at concurrency 16 and 64: requests/second and client CPU microseconds per
request. Every client runs once per round, in a rotated order; a client's ratio is its req/s
over raw aiohttp's in the same round, and its extra CPU the difference in the same round; the
tables quote medians of those paired figures (with the interquartile range of the ratio).

    python benchmarks/http_overhead.py [--requests 1000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Awaitable, Callable

from _harness import Fetch, local_server, median, paired_rounds, pin_client, write_result

RAW = "aiohttp (raw)"
CONCURRENCY = (1, 16, 64)


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
        RAW: (raw_fetch, session.close),
        "pepperpy-core HttpClient": (our_fetch, ours.close),
        "httpx": (hx_fetch, hx.aclose),
    }


async def bench(base: str, requests: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    url = base + "/small"
    clients = await make_clients()
    fetches = {name: fetch for name, (fetch, _) in clients.items()}
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for concurrency in CONCURRENCY:
            paired = await paired_rounds(fetches, url, requests, rounds, concurrency, RAW)
            for name, cell in paired.items():
                results[f"{name}|{concurrency}"] = cell
    finally:
        for _, close in clients.values():
            await close()
    return results


def iqr(values: list[float]) -> str:
    """The middle half of ``values`` as "low-high"."""
    if len(values) < 4:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.2f}-{high:.2f}"


def report(results: dict[str, dict[str, list[float]]], requests: int, rounds: int) -> str:
    lines = [
        "## HTTP client overhead (`benchmarks/http_overhead.py`)",
        "",
        f"{requests} GETs of a 27-byte JSON body per round, {rounds} rounds with every client "
        "once per round in a rotated order; server (aiohttp) pinned to core 0, client to core "
        "1. Ratio and extra CPU are medians of the per-round comparisons with raw aiohttp "
        "(IQR: the middle half of the per-round ratios).",
        "",
        "| client | concurrency | req/s | vs raw aiohttp | IQR | client CPU µs/req "
        "| extra CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in CONCURRENCY:
        for name in (RAW, "pepperpy-core HttpClient", "httpx"):
            cell = results[f"{name}|{concurrency}"]
            lines.append(
                f"| {name} | {concurrency} | {median(cell['rps']):,.0f} "
                f"| {median(cell['ratio']):.2f}x | {iqr(cell['ratio'])} "
                f"| {median(cell['cpu']):.0f} | {median(cell['extra_cpu']):+.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    pin_client()
    with local_server() as base:
        results = asyncio.run(bench(base, args.requests, args.rounds))
    text = report(results, args.requests, args.rounds)
    print(text)
    write_result("http_overhead", text, {"results": results})


if __name__ == "__main__":
    main()

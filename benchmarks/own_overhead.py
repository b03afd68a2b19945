"""CPU cost of pepperpy-core's own request path, with no network: HttpClient over a transport
that answers at once. What is left of the gap to raw aiohttp is spent inside aiohttp.

    python benchmarks/own_overhead.py [--requests 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _harness import pin_client

from pepperpy_core import HttpClient, Request, Response


class _Instant:
    """A transport that answers every request with a tiny 200, without I/O."""

    async def send(self, request: Request) -> Response:
        return Response(200, body=b"{}", request=request, url=request.url)

    async def aclose(self) -> None:
        return None


async def measure(requests: int, rounds: int) -> list[float]:
    client = HttpClient(transport=_Instant())
    url = "http://127.0.0.1:1/small"
    for _ in range(1000):
        await client.get(url)
    per_request = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            await client.get(url)
        per_request.append((time.process_time() - started) / requests * 1e6)
    await client.close()
    return per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pin_client()
    figures = asyncio.run(measure(args.requests, args.rounds))
    print(f"own request path: {statistics.median(figures):.1f} µs CPU per request "
          f"(median of {args.rounds} rounds of {args.requests})")


if __name__ == "__main__":
    main()

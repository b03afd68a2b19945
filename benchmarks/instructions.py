"""User-space CPU instructions per HTTP request, counted with valgrind (callgrind).

Wall-clock and CPU-time figures on a shared 2-core machine move by 10-30 % between runs; an
instruction count does not. Each client (raw aiohttp, HttpClient, the full behaviour stack) runs
in a child process under callgrind, pinned to core 1 with address-space randomisation off and
PYTHONHASHSEED=0, against the same local server (core 0). Every child does 50 warm-up requests
and then ``n``; the per-request figure is the difference between a long and a short run divided
by the difference in requests, which cancels interpreter start-up, imports and shutdown.

    python benchmarks/instructions.py [--low 300] [--high 1300]

``--caches`` runs the same clients at concurrency 16 with callgrind's cache simulation, using
the geometry of core 1's own caches (its L1s, and its L2 as the last level: the L3 is shared),
and adds the misses and callgrind's cycle estimate. Instructions leave out what a request's
code and data cost to bring back into the caches; the estimate puts a price on that, still
steadily (it is a simulation, not a measurement of this machine's processor).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _harness import callgrind_prefix, local_server, run_load, write_result

RAW = "aiohttp (raw)"
PLAIN = "pepperpy-core HttpClient"
STACK = "full stack"
CLIENTS = {"raw": RAW, "plain": PLAIN, "stack": STACK}
#: With --layers: each layer of the full stack alone, and three pass-through layers.
LAYERS = {
    "metrics": "metrics layer only", "cache": "cache layer only (miss)",
    "ratelimit": "rate-limit layer only", "frames": "three pass-through layers",
}
CONCURRENCY = (1, 16)
WARM_UP = 50
CHILD_TIMEOUT = 600  # seconds per child process
PARALLEL = 2  # children at a time
COLLECTED = re.compile(r"^==\d+== Collected : ([\d ]+?)\s*$", re.MULTILINE)
#: callgrind's events with --cache-sim=yes, in its order
CACHE_EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")
HERE = Path(__file__).resolve().parent


# --- child: one client, one concurrency, a fixed number of requests -------------------------


def layer_client(kind: str) -> Any:
    """A client with one layer of the full stack (``--layers``), or three pass-through layers
    at the stack's ranks (what the frames alone cost)."""
    from pepperpy_core import HttpClient
    from pepperpy_core.behaviours import CachedClient, MetricsClient, RateLimit, RateLimitedClient
    from pepperpy_core.http.chain import RANK_CACHE, RANK_METRICS, RANK_RATE_LIMIT, CallNext
    from pepperpy_core.http.models import Request, Response

    class PassThrough:
        def __init__(self, rank: int) -> None:
            self.rank = rank

        async def __call__(self, request: Request, call_next: CallNext) -> Response:
            return await call_next(request)

    if kind == "frames":
        ranks = (RANK_METRICS, RANK_CACHE, RANK_RATE_LIMIT)
        return HttpClient(middlewares=[PassThrough(rank) for rank in ranks])
    if kind == "metrics":
        return MetricsClient()
    if kind == "cache":
        return CachedClient(cache_ttl=None)  # as in the full stack: a miss every time
    return RateLimitedClient(rate_limit=RateLimit.of((1_000_000, 1.0)))  # never waits


async def child(kind: str, concurrency: int, requests: int, base: str) -> None:
    from behaviour_stack import PLAIN, RAW, STACK, make_clients

    url = base + "/small"
    clients = await make_clients()  # the benchmark's own three clients; one of them is used
    if kind in LAYERS:
        extra = layer_client(kind)

        async def extra_fetch(url: str) -> bytes:
            return bytes((await extra.get(url)).content)

        clients[kind] = (extra_fetch, extra.close)
        fetch = extra_fetch
    else:
        fetch = clients[{"raw": RAW, "plain": PLAIN, "stack": STACK}[kind]][0]
    try:
        # run_load bounds each run to 120 s; under callgrind 1,300 requests take about 20 s.
        await run_load(fetch, url, WARM_UP, concurrency)
        await run_load(fetch, url, requests, concurrency)
    finally:
        for _, close in clients.values():
            await close()


def child_main(argv: list[str]) -> None:
    kind, concurrency, requests, base = argv
    # Same structlog set-up as the other benchmarks (INFO; per-request debug events dropped).
    # Only the logging part of pin_client matters here: taskset already pinned this process.
    from _harness import pin_client

    pin_client()
    asyncio.run(child(kind, int(concurrency), int(requests), base))


# --- parent: run the children under callgrind and take differences -------------------------


def command(
    kind: str, concurrency: int, requests: int, base: str, options: tuple[str, ...] = ()
) -> list[str]:
    """The child's command line: pinned to core 1, no ASLR, under callgrind (with ``options``
    for callgrind)."""
    return [
        *callgrind_prefix(), *options,
        sys.executable, str(HERE / "instructions.py"), "--child",
        kind, str(concurrency), str(requests), base,
    ]


Job = tuple[str, int, int]  # (client kind, concurrency, requests)


def run_children(
    jobs: list[Job], base: str, options: tuple[str, ...] = ()
) -> dict[Job, list[int]]:
    """Every job's callgrind totals (instructions first), ``PARALLEL`` children at a time."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {job: pool.submit(events, *job, base, options) for job in jobs}
        return {job: future.result() for job, future in futures.items()}


def events(
    kind: str, concurrency: int, requests: int, base: str, options: tuple[str, ...] = ()
) -> list[int]:
    """Every total callgrind collected for one child run (instructions first)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        command(kind, concurrency, requests, base, options), cwd=HERE, env=env, capture_output=True,
        text=True, timeout=CHILD_TIMEOUT,
    )
    found = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not found:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise RuntimeError(
            f"child {kind} c={concurrency} n={requests} failed (exit {proc.returncode}):\n{tail}"
        )
    return [int(part) for part in found[-1].split()]


def measure(base: str, low: int, high: int) -> dict[str, dict[str, float]]:
    """Per ``client|concurrency``: both totals and the instructions per request."""
    jobs = [(kind, c, n) for c in CONCURRENCY for kind in CLIENTS for n in (low, high)]
    totals = {job: found[0] for job, found in run_children(jobs, base).items()}
    results: dict[str, dict[str, float]] = {}
    for c in CONCURRENCY:
        for kind, name in CLIENTS.items():
            ir_low, ir_high = totals[(kind, c, low)], totals[(kind, c, high)]
            results[f"{name}|{c}"] = {
                "ir_low": ir_low,
                "ir_high": ir_high,
                "per_request": (ir_high - ir_low) / (high - low),
            }
    for c in CONCURRENCY:
        raw = results[f"{RAW}|{c}"]["per_request"]
        for name in CLIENTS.values():
            cell = results[f"{name}|{c}"]
            cell["extra"] = cell["per_request"] - raw
            cell["extra_pct"] = cell["extra"] / raw * 100
    return results


def measure_layers(base: str, low: int, high: int, concurrency: int = 16) -> dict[str, float]:
    """``--layers``: instructions per request of the plain client, of each layer of the full
    stack on top of it alone, and of three pass-through layers; at one concurrency."""
    kinds = ["plain", *LAYERS]
    jobs = [(kind, concurrency, n) for kind in kinds for n in (low, high)]
    totals = {job: found[0] for job, found in run_children(jobs, base).items()}
    return {
        kind: (totals[(kind, concurrency, high)] - totals[(kind, concurrency, low)])
        / (high - low)
        for kind in kinds
    }


def cache_options(core: int = 1) -> tuple[str, ...]:
    """callgrind's cache simulation with ``core``'s own caches as Linux describes them: its L1
    instruction and data caches, and its L2 as the last level (the L3 is shared with the other
    core and, on a virtual machine, with other guests). Without that description, callgrind's
    own detection decides."""
    found: dict[tuple[int, str], str] = {}
    for index in sorted(Path(f"/sys/devices/system/cpu/cpu{core}/cache").glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
            ways = int((index / "ways_of_associativity").read_text())
            line = int((index / "coherency_line_size").read_text())
        except (OSError, ValueError):
            continue
        scale = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
        found[(level, kind)] = f"{int(size.rstrip('KM')) * scale},{ways},{line}"
    wanted = {"--I1": (1, "Instruction"), "--D1": (1, "Data"), "--LL": (2, "Unified")}
    if not all(place in found for place in wanted.values()):
        return ("--cache-sim=yes",)
    return ("--cache-sim=yes", *(f"{flag}={found[place]}" for flag, place in wanted.items()))


def measure_caches(
    base: str, low: int, high: int, concurrency: int = 16
) -> tuple[tuple[str, ...], dict[str, dict[str, float]]]:
    """``--caches``: per client, each callgrind event per request under cache simulation."""
    options = cache_options()
    jobs = [(kind, concurrency, n) for kind in CLIENTS for n in (low, high)]
    totals = run_children(jobs, base, options)
    per_request: dict[str, dict[str, float]] = {}
    for kind, name in CLIENTS.items():
        pairs = zip(totals[(kind, concurrency, low)], totals[(kind, concurrency, high)],
                    strict=True)
        per_request[name] = {
            event: (b - a) / (high - low)
            for event, (a, b) in zip(CACHE_EVENTS, pairs, strict=True)
        }
    return options, per_request


def estimated_cycles(cell: dict[str, float]) -> float:
    """KCachegrind's cycle estimate: instructions, 10 per first-level miss, 100 per miss of the
    last level."""
    first = cell["I1mr"] + cell["D1mr"] + cell["D1mw"]
    last = cell["ILmr"] + cell["DLmr"] + cell["DLmw"]
    return cell["Ir"] + 10 * first + 100 * last


def report_caches(
    options: tuple[str, ...], per_request: dict[str, dict[str, float]], concurrency: int = 16
) -> str:
    raw = estimated_cycles(per_request[RAW])
    lines = [
        "## Simulated cache misses per request (`benchmarks/instructions.py --caches`)",
        "",
        f"As above at concurrency {concurrency}, under callgrind's cache simulation "
        f"(`{' '.join(options)}`: core 1's L1 caches, and its L2 as the last level). Estimated "
        "cycles are KCachegrind's formula (instructions + 10 per L1 miss + 100 per last-level "
        "miss); \"predicted\" is raw aiohttp's estimate over the client's, the throughput ratio "
        "to expect if only user-space work counted. It is a model: it leaves out the kernel's "
        "share of a request (which pulls a real ratio towards 1), and branch prediction and "
        "the processor's overlap of misses (either way).",
        "",
        "| client | instructions | L1i misses | L1d misses | last-level misses "
        "| estimated cycles | predicted vs raw aiohttp |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cell in per_request.items():
        cycles = estimated_cycles(cell)
        lines.append(
            f"| {name} | {cell['Ir']:,.0f} | {cell['I1mr']:,.0f} "
            f"| {cell['D1mr'] + cell['D1mw']:,.0f} "
            f"| {cell['ILmr'] + cell['DLmr'] + cell['DLmw']:,.0f} | {cycles:,.0f} "
            f"| {raw / cycles:.2f}x |"
        )
    return "\n".join(lines)


def report_layers(per_request: dict[str, float], concurrency: int = 16) -> str:
    plain = per_request["plain"]
    lines = [
        "## Instructions per layer (`benchmarks/instructions.py --layers`)",
        "",
        f"As above, at concurrency {concurrency}: the plain client, then each layer of the full "
        "stack alone on top of it, and three layers that only pass the request on (what a "
        "layer's coroutine frame and its glue cost without any work).",
        "",
        "| client | instructions per request | extra vs plain HttpClient |",
        "|---|---:|---:|",
        f"| {PLAIN} | {plain:,.0f} | - |",
    ]
    for kind, name in LAYERS.items():
        lines.append(f"| {name} | {per_request[kind]:,.0f} | {per_request[kind] - plain:+,.0f} |")
    return "\n".join(lines)


HEADING = "## Instructions per request (`benchmarks/instructions.py`)"


def report(results: dict[str, dict[str, float]], low: int, high: int) -> str:
    lines = [
        HEADING,
        "",
        "User-space CPU instructions each client spends per GET of a 27-byte JSON body, counted "
        "by valgrind's callgrind tool rather than timed, so the figure does not move with the "
        "machine's load. Each client runs in its own process (core 1, address randomisation "
        f"off, fixed hash seed) against the same local aiohttp server; after {WARM_UP} warm-up "
        f"requests it does either {low} or {high} requests, and the figure is the difference "
        "between the two totals divided by the difference in requests, which cancels start-up, "
        "imports and shutdown. Repeated runs agree to within about 1 %. Kernel time (sockets, "
        "system calls) is not counted, and instructions are not time: they leave out cache "
        "misses and waiting.",
        "",
        "| client | concurrency | instructions per request | extra vs raw aiohttp | extra % |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in CONCURRENCY:
        for name in CLIENTS.values():
            cell = results[f"{name}|{c}"]
            extra = "-" if name == RAW else f"{cell['extra']:+,.0f}"
            pct = "-" if name == RAW else f"{cell['extra_pct']:+.1f} %"
            lines.append(f"| {name} | {c} | {cell['per_request']:,.0f} | {extra} | {pct} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--low", type=int, default=300, help="requests in the short run")
    parser.add_argument("--high", type=int, default=1300, help="requests in the long run")
    parser.add_argument("--layers", action="store_true",
                        help="instead: the cost of each layer of the full stack alone")
    parser.add_argument("--caches", action="store_true",
                        help="instead: cache misses and estimated cycles (simulated), at 16")
    args = parser.parse_args()
    if args.high <= args.low:
        parser.error("--high must be larger than --low")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: skipping the instruction counts "
              "(install it, e.g. apt-get install valgrind)")
        text = HEADING + "\n\nSkipped: valgrind was not installed on this machine."
        write_result("instructions", text, {"skipped": "valgrind not installed"})
        return
    if args.caches:
        with local_server() as base:
            options, simulated = measure_caches(base, args.low, args.high)
        text = report_caches(options, simulated)
        print(text)
        write_result("instructions_caches", text, {"low": args.low, "high": args.high,
                                                   "options": options, "per_request": simulated})
        return
    if args.layers:
        with local_server() as base:
            layers = measure_layers(base, args.low, args.high)
        text = report_layers(layers)
        print(text)
        write_result("instructions_layers", text, {"low": args.low, "high": args.high,
                                                   "per_request": layers})
        return
    with local_server() as base:
        results = measure(base, args.low, args.high)
    text = report(results, args.low, args.high)
    print(text)
    write_result("instructions", text, {"low": args.low, "high": args.high,
                                        "warm_up": WARM_UP, "results": results})


if __name__ == "__main__":
    main()

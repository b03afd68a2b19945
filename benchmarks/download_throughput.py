"""Download throughput and peak memory: DownloadHandler against raw aiohttp and httpx.

A local server (own process, core 0) serves a body of ``--size`` bytes (1 GiB by default) from
one 1 MiB buffer; the client (core 1) reads it in 1 MiB chunks, either discarding it or writing
it to a file. Throughput is the median of ``--rounds`` rounds, every client in each round, so
ratios come from one run. Peak memory is measured per client in a fresh subprocess: the
``ru_maxrss`` growth over the level reached after imports and client set-up.

    python benchmarks/download_throughput.py [--size-mib 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from _harness import local_server, median, pin_client, write_result

MiB = 1024 * 1024

SERVER_CODE = r"""
import asyncio, os, sys
from aiohttp import web
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(sys.argv[1])})
BLOCK = memoryview(b"\xa5" * (1024 * 1024))
async def blob(request):
    size = int(request.query["size"])
    response = web.StreamResponse()
    response.content_length = size
    response.headers["ETag"] = '"blob"'
    await response.prepare(request)
    sent = 0
    while sent < size:
        piece = BLOCK[: min(len(BLOCK), size - sent)]
        await response.write(piece)
        sent += len(piece)
    await response.write_eof()
    return response
async def main():
    app = web.Application()
    app.router.add_get("/blob", blob)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

Case = Callable[[str, Path | None], Awaitable[int]]


async def raw_aiohttp(url: str, sink: Path | None) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await _drain(response.content.iter_chunked(MiB), sink)


async def raw_httpx(url: str, sink: Path | None) -> int:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url) as response:
        return await _drain(response.aiter_raw(MiB), sink)


async def pepperpy_stream(url: str, sink: Path | None) -> int:
    from pepperpy_core import HttpClient

    async with HttpClient() as client, client.stream("GET", url) as response:
        return await _drain(response.iter_bytes(MiB), sink)


async def pepperpy_download(url: str, sink: Path | None) -> int:
    """DownloadHandler: part file, size check, rename (the discard column writes /dev/null)."""
    from pepperpy_core import HttpClient
    from pepperpy_core.download import DownloadHandler

    target = sink or Path(tempfile.gettempdir()) / "pepperpy-bench-discard.bin"
    async with HttpClient() as client:
        result = await DownloadHandler(client).download(url, target)
    if sink is None:
        target.unlink()
    return result.bytes


async def _drain(chunks: object, sink: Path | None) -> int:
    total = 0
    if sink is None:
        async for chunk in chunks:  # type: ignore[attr-defined]
            total += len(chunk)
        return total
    with open(sink, "wb") as handle:
        async for chunk in chunks:  # type: ignore[attr-defined]
            handle.write(chunk)
            total += len(chunk)
    return total


CASES: dict[str, Case] = {
    "raw aiohttp (1 MiB chunks)": raw_aiohttp,
    "raw httpx (aiter_raw)": raw_httpx,
    "HttpClient.stream": pepperpy_stream,
    "DownloadHandler": pepperpy_download,
}


async def timed(case: Case, url: str, sink: Path | None, size: int) -> float:
    started = time.perf_counter()
    got = await case(url, sink)
    elapsed = time.perf_counter() - started
    assert got == size, f"{case.__name__}: got {got} of {size} bytes"
    return size / elapsed / MiB


async def throughput(url: str, size: int, rounds: int, folder: Path) -> dict[str, dict[str, float]]:
    """MiB/s per case and mode (discard, file), medians over rounds."""
    samples: dict[str, dict[str, list[float]]] = {n: {"discard": [], "file": []} for n in CASES}
    names = list(CASES)
    for index in range(rounds):
        # A rotated order per round: no client always follows the one that just wrote 1 GiB.
        for name in names[index % len(names):] + names[: index % len(names)]:
            case = CASES[name]
            samples[name]["discard"].append(await timed(case, url, None, size))
            target = folder / "out.bin"
            samples[name]["file"].append(await timed(case, url, target, size))
            target.unlink(missing_ok=True)
    return {n: {m: median(v) for m, v in modes.items()} for n, modes in samples.items()}


def peak_memory(name: str, url: str, folder: Path) -> float:
    """MiB of ru_maxrss growth while ``name`` downloads to a file, in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", name, "--url", url, "--dir", str(folder)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["delta_mib"])


def measure_child(name: str, url: str, folder: Path) -> None:
    pin_client(1)
    import aiohttp  # noqa: F401 - imports count in the baseline, not in the delta
    import httpx  # noqa: F401

    import pepperpy_core.download  # noqa: F401

    asyncio.run(CASES[name](url.replace(url.split("size=")[1], "1024"), folder / "warm.bin"))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    asyncio.run(CASES[name](url, folder / "out.bin"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"delta_mib": (peak - baseline) / 1024}))


def markdown(size: int, figures: dict[str, dict[str, float]], memory: dict[str, float]) -> str:
    base = figures["raw aiohttp (1 MiB chunks)"]
    lines = [
        "## Download throughput",
        "",
        f"One {size // MiB} MiB body over 127.0.0.1 (server on core 0, client on core 1), read in "
        "1 MiB chunks; files written to tmpfs (memory) where the machine has one, so that disk "
        "writeback does not decide the figures; clients in a rotated order per round; median "
        "MiB/s of the rounds; ratio against raw aiohttp in the same run. "
        "Peak memory: ru_maxrss growth over the post-import level, one fresh process per "
        "client, writing to a file.",
        "",
        "| client | discard MiB/s | ratio | to file MiB/s | ratio | peak memory +MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, modes in figures.items():
        lines.append(
            f"| {name} | {modes['discard']:.0f} | {modes['discard'] / base['discard']:.2f}x | "
            f"{modes['file']:.0f} | {modes['file'] / base['file']:.2f}x | "
            f"{memory.get(name, float('nan')):.1f} |"
        )
    lines += [
        "",
        "DownloadHandler does more than the raw loops: a part file beside the target, progress "
        "and stall bookkeeping per chunk, a size check and a rename (in the discard column it "
        "still writes its file, then deletes it).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure")
    parser.add_argument("--url")
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.measure:
        measure_child(args.measure, args.url, Path(args.dir))
        return
    pin_client(1)
    # Files go to memory (tmpfs) when the machine has one: the figures should be the clients'
    # own, not the disk's writeback throttling, which lands on whoever writes next.
    if os.access("/dev/shm", os.W_OK):
        tempfile.tempdir = "/dev/shm"
    from pepperpy_core import configure_logging

    configure_logging("INFO")
    size = args.size_mib * MiB
    started = time.monotonic()
    with local_server(SERVER_CODE) as base, tempfile.TemporaryDirectory() as tmp:
        url = f"{base}/blob?size={size}"
        figures = asyncio.run(throughput(url, size, args.rounds, Path(tmp)))
        memory = {name: peak_memory(name, url, Path(tmp)) for name in CASES}
    text = markdown(size, figures, memory)
    print(text)
    print(f"\n(took {time.monotonic() - started:.0f} s)")
    write_result("download", text, {"size": size, "throughput": figures, "memory": memory})


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()

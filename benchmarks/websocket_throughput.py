"""WebSocket throughput: pepperpy-core's WebSocket on each backend against raw ``websockets``,
aiohttp's WebSocket client and picows, all talking to the same local ``websockets`` server, in
one run. pepperpy-core also runs with orjson as its codec (``dumps=``/``loads=``).

Workloads (messages are small JSON objects; every client encodes and decodes JSON itself,
as an application would):

- ping-pong: send one message, wait for its echo; round trips per second.
- pipelined: send N messages back to back, then wait for the server's count; messages/s.
- batched: pepperpy's BatchWebSocket sending the same N messages as JSON arrays of 100.

The server runs in a subprocess pinned to core 0 and the client is pinned to core 1 (when
the machine has two cores). Each figure is the median of several rounds, clients
interleaved within each round. The whole script stays well under two minutes.

Usage: ``python benchmarks/websocket_throughput.py [--rounds 5] [--out PATH]``
Writes a markdown section to ``benchmarks/results/websocket.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import picows
from _harness import callgrind_prefix
from picows import WSFrame, WSListener, WSMsgType, WSTransport
from websockets.asyncio.client import connect as raw_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.version import version as websockets_version

from pepperpy_core.websocket import BatchWebSocket, WebSocket

PING_PONGS = 2000
PIPELINED = 30000
BATCH_SIZE = 100
DONE = "__done__"
WORKLOAD_BUDGET = 40.0  # seconds per workload before stopping early (after MIN_ROUNDS)
MIN_ROUNDS = 3
# Every client encodes with the same prebuilt compact encoder, so the ratios measure the
# WebSocket layers, not JSON settings.
ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
MESSAGE = {"type": "trade", "symbol": "BTCUSDT", "price": 67123.45, "qty": 0.012, "seq": 0}


# --------------------------------------------------------------------- server (subprocess)


async def server_handler(ws: ServerConnection) -> None:
    """/echo echoes every message; /sink counts messages (a JSON array counts its items)
    and answers the count when told DONE."""
    assert ws.request is not None
    if ws.request.path == "/echo":
        async for message in ws:
            await ws.send(message)
        return
    count = 0
    async for message in ws:
        if message == DONE:
            await ws.send(str(count))
            count = 0
        elif isinstance(message, str) and message.startswith("["):
            count += message.count('"seq"')  # items in a batch, without decoding it
        else:
            count += 1


async def run_server() -> None:
    async with serve(
        server_handler,
        "127.0.0.1",
        0,
        compression=None,
        max_size=None,
        max_queue=None,
        ping_interval=None,  # a client slowed down by callgrind must not be dropped
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def pin(core: int) -> bool:
    """Pin this process to ``core`` when the machine has it; whether it did."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})
        return True
    return False


# --------------------------------------------------------------------- client adapters


class Client:
    """One library under test: connect, send an object, receive an object, close."""

    name = ""

    async def open(self, url: str) -> None:
        raise NotImplementedError

    async def send(self, data: Any) -> None:
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        raise NotImplementedError

    async def receive(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class Raw(Client):
    name = "websockets (raw)"

    async def open(self, url: str) -> None:
        self.ws = await raw_connect(url, compression=None, max_size=2**20)

    async def send(self, data: Any) -> None:
        await self.ws.send(ENCODE(data))

    async def send_text(self, text: str) -> None:
        await self.ws.send(text)

    async def receive(self) -> Any:
        return json.loads(await self.ws.recv())

    async def close(self) -> None:
        await self.ws.close()


class Aiohttp(Client):
    name = "aiohttp"

    async def open(self, url: str) -> None:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, compress=0, max_msg_size=2**20)

    async def send(self, data: Any) -> None:
        await self.ws.send_str(ENCODE(data))

    async def send_text(self, text: str) -> None:
        await self.ws.send_str(text)

    async def receive(self) -> Any:
        return json.loads(await self.ws.receive_str())

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


class _PicowsListener(WSListener):  # type: ignore[misc]
    """picows delivers frames to a callback; queue the text ones for receive()."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.waiter: asyncio.Future[None] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.messages.append(frame.get_payload_as_utf8_text())
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


class Picows(Client):
    name = "picows"

    async def open(self, url: str) -> None:
        self.transport, self.listener = await picows.ws_connect(_PicowsListener, url)

    async def send(self, data: Any) -> None:
        self.transport.send(WSMsgType.TEXT, ENCODE(data).encode())

    async def send_text(self, text: str) -> None:
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def receive(self) -> Any:
        listener = self.listener
        while not listener.messages:
            listener.waiter = asyncio.get_running_loop().create_future()
            await listener.waiter
        return json.loads(listener.messages.pop(0))

    async def close(self) -> None:
        self.transport.send_close(picows.WSCloseCode.OK)
        try:
            await asyncio.wait_for(self.transport.wait_disconnected(), 2)
        except TimeoutError:
            self.transport.disconnect()


class Pepper(Client):
    name = "pepperpy-core (websockets backend)"
    backend: Any = "websockets"

    def make(self, url: str) -> WebSocket:
        return WebSocket(url, compression=False, backend=self.backend)

    async def open(self, url: str) -> None:
        self.ws = self.make(url)
        await self.ws.connect()

    async def send(self, data: Any) -> None:
        await self.ws.send(data)

    async def send_text(self, text: str) -> None:
        await WebSocket.send(self.ws, text)  # bypass batching for the control message

    async def receive(self) -> Any:
        return await self.ws.receive()

    async def close(self) -> None:
        await self.ws.close()


class PepperAiohttp(Pepper):
    name = "pepperpy-core (aiohttp backend)"
    backend = "aiohttp"


def _orjson_text(data: Any) -> str:
    return orjson.dumps(data).decode()


class PepperOrjson(Pepper):
    name = "pepperpy-core (websockets backend, orjson)"

    def make(self, url: str) -> WebSocket:
        return WebSocket(
            url, compression=False, backend=self.backend, dumps=_orjson_text, loads=orjson.loads
        )


class PepperAiohttpOrjson(PepperOrjson):
    name = "pepperpy-core (aiohttp backend, orjson)"
    backend = "aiohttp"


class PepperBatch(Pepper):
    name = f"pepperpy-core BatchWebSocket ({BATCH_SIZE}/batch)"

    def make(self, url: str) -> WebSocket:
        return BatchWebSocket(url, batch_size=BATCH_SIZE, flush_interval=1.0, compression=False)

    async def send_text(self, text: str) -> None:
        assert isinstance(self.ws, BatchWebSocket)
        await self.ws.flush()
        await WebSocket.send(self.ws, text)


# --------------------------------------------------------------------- workloads


async def ping_pong(client: Client, base: str) -> float:
    """Round trips per second."""
    await client.open(f"{base}/echo")
    try:
        message = dict(MESSAGE)
        start = time.perf_counter()
        for seq in range(PING_PONGS):
            message["seq"] = seq
            await client.send(message)
            await client.receive()
        return PING_PONGS / (time.perf_counter() - start)
    finally:
        await client.close()


async def pipelined(client: Client, base: str) -> float:
    """Messages per second, counted when the server confirms it received them all."""
    await client.open(f"{base}/sink")
    try:
        message = dict(MESSAGE)
        start = time.perf_counter()
        for seq in range(PIPELINED):
            message["seq"] = seq
            await client.send(dict(message))
        await client.send_text(DONE)
        count = await client.receive()
        elapsed = time.perf_counter() - start
        assert count == PIPELINED, f"{client.name}: server counted {count}"
        return PIPELINED / elapsed
    finally:
        await client.close()


PING_PONG_CLIENTS: list[type[Client]] = [
    Raw,
    Aiohttp,
    Picows,
    Pepper,
    PepperAiohttp,
    PepperOrjson,
    PepperAiohttpOrjson,
]
Samples = dict[str, dict[str, list[float]]]
CPU_KEY = " cpu"  # suffix of the per-client lists of client CPU microseconds per message


async def measure(base: str, rounds: int) -> Samples:
    """Every round's rate per workload and client, clients interleaved within each round."""
    plan: list[tuple[str, Callable[[Client, str], Awaitable[float]], list[type[Client]]]] = [
        ("ping-pong (round trips/s)", ping_pong, PING_PONG_CLIENTS),
        ("pipelined (messages/s)", pipelined, [*PING_PONG_CLIENTS, PepperBatch]),
    ]
    samples: Samples = {}
    for workload, run, clients in plan:
        for cls in clients:  # warm-up round, not recorded
            await run(cls(), base)
        deadline = time.perf_counter() + WORKLOAD_BUDGET
        for done in range(rounds):
            if done >= MIN_ROUNDS and time.perf_counter() > deadline:
                break  # a busy machine: keep the whole run under two minutes
            for cls in clients:
                cpu = time.process_time()
                rate = await run(cls(), base)
                count = PING_PONGS if run is ping_pong else PIPELINED
                cpu_us = (time.process_time() - cpu) / count * 1e6
                by_client = samples.setdefault(workload, {})
                by_client.setdefault(cls.name, []).append(rate)
                by_client.setdefault(cls.name + CPU_KEY, []).append(cpu_us)
    return samples


# --------------------------------------------------------------------- instruction counts

# With --instructions: each client runs in a child process under callgrind (pinned to core 1,
# no ASLR, PYTHONHASHSEED=0) for a short and a long run of each workload; the difference
# divided by the difference in messages is the client's own instructions per message, a
# figure that does not move with the machine's load the way rates and CPU times do.
INSTRUCTION_CLIENTS: list[type[Client]] = [Raw, Aiohttp, Picows, Pepper, PepperAiohttp]
INSTRUCTION_RUNS = {"ping-pong": (100, 600), "pipelined": (500, 3000)}
COLLECTED = re.compile(r"^==\d+== Collected : (\d+)\s*$", re.MULTILINE)


async def child_run(client_name: str, workload: str, count: int, base: str) -> None:
    cls = next(c for c in INSTRUCTION_CLIENTS if c.__name__ == client_name)
    client = cls()
    if workload == "ping-pong":
        await client.open(f"{base}/echo")
        message = dict(MESSAGE)
        for seq in range(count):
            message["seq"] = seq
            await client.send(message)
            await client.receive()
    else:
        await client.open(f"{base}/sink")
        message = dict(MESSAGE)
        for seq in range(count):
            message["seq"] = seq
            await client.send(dict(message))
        await client.send_text(DONE)
        assert await client.receive() == count
    await client.close()


def instructions(client_name: str, workload: str, count: int, base: str) -> int:
    proc = subprocess.run(
        [
            *callgrind_prefix(),
            sys.executable,
            __file__,
            "--child",
            client_name,
            workload,
            str(count),
            base,
        ],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    found = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"{client_name} {workload} {count}: {proc.stderr[-2000:]}")
    return int(found[-1])


def measure_instructions(
    base: str, workloads: Sequence[str] = tuple(INSTRUCTION_RUNS)
) -> dict[str, dict[str, float]]:
    """Instructions per message, per workload and client."""
    runs_of = {w: INSTRUCTION_RUNS[w] for w in workloads}
    jobs = [
        (cls, workload, n)
        for workload, runs in runs_of.items()
        for cls in INSTRUCTION_CLIENTS
        for n in runs
    ]
    with ThreadPoolExecutor(2) as pool:
        totals = list(
            pool.map(lambda job: instructions(job[0].__name__, job[1], job[2], base), jobs)
        )
    counted = {
        (cls.name, workload, n): total
        for (cls, workload, n), total in zip(jobs, totals, strict=True)
    }
    per_message: dict[str, dict[str, float]] = {}
    for workload, (low, high) in runs_of.items():
        for cls in INSTRUCTION_CLIENTS:
            extra = counted[(cls.name, workload, high)] - counted[(cls.name, workload, low)]
            per_message.setdefault(workload, {})[cls.name] = extra / (high - low)
    return per_message


def instruction_report(per_message: dict[str, dict[str, float]]) -> str:
    lines = [
        "### Instructions per message (callgrind)",
        "",
        "`python benchmarks/websocket_throughput.py --instructions`: the client's user-space "
        "instructions per message (long run minus short run), steady from run to run. "
        "pepperpy-core is compared with the library under its backend.",
        "",
        "| workload | client | instructions/msg | vs raw websockets | vs its own library |",
        "|---|---|---:|---:|---:|",
    ]
    own = {Pepper.name: Raw.name, PepperAiohttp.name: Aiohttp.name}
    for workload, by_client in per_message.items():
        raw = by_client[Raw.name]
        for client, value in by_client.items():
            base = own.get(client)
            # "x faster" reading: the library's instructions over ours (>= 0.95 is the goal)
            versus = f"{by_client[base] / value:.2f}x" if base else ""
            lines.append(
                f"| {workload} | {client} | {value:,.0f} | {raw / value:.2f}x | {versus} |"
            )
    lines += [
        "",
        "Ratios read as speed: raw instructions over the client's (above 1.00x: fewer "
        "instructions than the reference).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------- report


def report(samples: Samples, rounds: int, pinned: bool) -> str:
    results = {w: {c: statistics.median(r) for c, r in by.items()} for w, by in samples.items()}
    lines = [
        "## WebSocket throughput",
        "",
        f"`python benchmarks/websocket_throughput.py` on {platform.machine()}, "
        f"Python {platform.python_version()}, websockets {websockets_version}, "
        f"aiohttp {aiohttp.__version__}; server and client on 127.0.0.1"
        + (", pinned to cores 0 and 1" if pinned else " (not pinned: fewer than 2 cores)")
        + f"; compression off; median of {rounds} rounds. Messages are small JSON objects; "
        "every client encodes them with the same compact encoder and decodes replies.",
        "",
        "| workload | client | median rate | slowest-fastest round | vs raw websockets "
        "| client CPU µs/msg | CPU vs raw |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for workload, by_client in results.items():
        raw, raw_cpu = by_client[Raw.name], by_client[Raw.name + CPU_KEY]
        for client, rate in by_client.items():
            if client.endswith(CPU_KEY):
                continue
            low, high = min(samples[workload][client]), max(samples[workload][client])
            cpu = by_client[client + CPU_KEY]
            lines.append(
                f"| {workload} | {client} | {rate:,.0f} | {low:,.0f}-{high:,.0f} "
                f"| {rate / raw:.2f}x | {cpu:.1f} | {cpu / raw_cpu:.2f}x |"
            )
    pipelined_rates = results["pipelined (messages/s)"]
    gain = pipelined_rates[PepperBatch.name] / pipelined_rates[Pepper.name]
    lines += [
        "",
        f"Batching gain: BatchWebSocket sends {gain:.1f}x the messages per second of one "
        f"frame per message ({BATCH_SIZE} messages per JSON-array frame).",
        "",
        "Rates are wall-clock and swing with whatever else the machine runs (see the range); "
        "client CPU per message (the client process's CPU time over the run, connect and "
        "close included) is the steadier measure of each library's own cost.",
        "",
    ]
    return "\n".join(lines)


def quiet_logging() -> None:
    """As a service would: our per-connection info events stay quiet."""
    import logging

    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per message (valgrind)"
    )
    parser.add_argument(
        "--workloads", nargs="+", choices=list(INSTRUCTION_RUNS), default=list(INSTRUCTION_RUNS),
        help="with --instructions: only these workloads",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "websocket.md"
    )
    args = parser.parse_args()
    if args.serve:
        pin(0)
        asyncio.run(run_server())
        return
    if args.child:
        client_name, workload, count, base = args.child
        quiet_logging()
        asyncio.run(child_run(client_name, workload, int(count), base))
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        if args.instructions:
            per_message = measure_instructions(f"ws://127.0.0.1:{port}", args.workloads)
            text = instruction_report(per_message)
            out = args.out.with_name(args.out.stem + "_instructions.md")
            out.write_text(text, encoding="utf-8")
            print(text)
            print(f"(written to {out})")
            return
        pinned = pin(1)
        quiet_logging()
        started = time.perf_counter()
        results = asyncio.run(measure(f"ws://127.0.0.1:{port}", args.rounds))
        took = time.perf_counter() - started
    finally:
        if server.stdin is not None:
            server.stdin.close()  # the server exits when its stdin closes
        server.wait(timeout=10)
    rounds = min(len(v) for by in results.values() for v in by.values())
    text = report(results, rounds, pinned)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"(measured in {took:.1f} s; written to {args.out})")


if __name__ == "__main__":
    main()

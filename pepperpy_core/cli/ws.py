"""``pepperpy-core ws URL``: follow a WebSocket feed, printing one message per line."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import Any

from pepperpy_core.cli._common import EXIT_OK, check_url, number, parse_header

_HELP = """\
Connect to a WebSocket, send the --subscribe and --send messages, then send every line typed
on stdin (JSON if it parses, else text) and print every message received, one per line (text
as text, JSON values as compact JSON, binary as hex). Reconnects with backoff when the
connection drops and replays the --subscribe messages first. Stops after --count messages,
after --duration seconds, or on Ctrl-C. [connected], [disconnected] and [reconnected] lines
go to stderr.

examples:
  pepperpy-core ws wss://stream.example.com/ws --subscribe '{"op": "subscribe", "ch": "trades"}'
  pepperpy-core ws ws://127.0.0.1:8765 --send '{"type": "hello"}' --count 1
"""


def add_parser(sub: Any) -> None:
    """Register the ``ws`` subcommand."""
    p = sub.add_parser(
        "ws", help="follow a WebSocket feed (reconnecting)", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="ws:// or wss:// URL")
    p.add_argument("--subscribe", action="append", default=[], metavar="MSG",
                   help="message sent now and again after every reconnect (JSON or text)")
    p.add_argument("--send", action="append", default=[], metavar="MSG",
                   help="message sent once after connecting (JSON or text)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra handshake header")
    p.add_argument("--count", type=number(int), default=None, metavar="N",
                   help="stop after N messages received")
    p.add_argument("--duration", type=number(float), default=None, metavar="SECONDS",
                   help="stop after this many seconds")
    p.add_argument("--no-stdin", action="store_true", help="do not read messages from stdin")
    p.add_argument("--no-reconnect", action="store_true", help="exit when the connection drops")
    p.set_defaults(handler=run_ws)


def _message(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _line(message: Any) -> str:
    if isinstance(message, bytes):
        return message.hex()
    if isinstance(message, str):
        return message
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


async def run_ws(args: argparse.Namespace, *, out: Any = None) -> int:
    """Follow the feed; return the exit code (0 when stopped by --count/--duration)."""
    import asyncio

    from pepperpy_core.websocket import WebSocket

    out = out or sys.stdout
    ws = WebSocket(
        check_url(args.url, ("ws", "wss")), headers=dict(parse_header(h) for h in args.header),
        auto_reconnect=not args.no_reconnect, decode_json=False,  # text printed as received
    )
    received = 0
    connects = 0
    enough = asyncio.Event()

    @ws.on("message")
    def show(message: Any) -> None:
        nonlocal received
        received += 1
        out.write(_line(message) + "\n")
        out.flush()
        if args.count and received >= args.count:
            enough.set()

    @ws.on("connect")
    def connected() -> None:
        nonlocal connects
        connects += 1
        print("[connected]" if connects == 1 else "[reconnected]", file=sys.stderr, flush=True)

    ws.on("disconnect", lambda *_: print("[disconnected]", file=sys.stderr, flush=True))
    ws.on("error", lambda error: print(f"[error] {error}", file=sys.stderr, flush=True))

    tasks: set[asyncio.Future[Any]] = set()
    try:
        await ws.connect()
        for text in args.subscribe:
            await ws.subscribe(_message(text))
        for text in args.send:
            await ws.send(_message(text))
        tasks = {ws.start(), asyncio.ensure_future(enough.wait())}
        reading = None if args.no_stdin else asyncio.ensure_future(_send_stdin(ws))
        if reading is not None:
            tasks.add(reading)
        loop = asyncio.get_running_loop()
        deadline = None if args.duration is None else loop.time() + args.duration
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(tasks, timeout=left,
                                         return_when=asyncio.FIRST_COMPLETED)
            if reading is None or done != {reading}:
                break  # --count reached, --duration up, or the feed ended
            reading.result()  # a failed send ends the command with its error
            tasks.discard(reading)  # end of stdin: keep listening
    finally:
        for task in tasks:
            task.cancel()
        await ws.close()
    return EXIT_OK


async def _send_stdin(ws: Any) -> None:
    """Send each line of stdin as one message until end of input."""
    import asyncio

    loop = asyncio.get_running_loop()
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return  # no usable stdin
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        for line in sys.stdin.read().splitlines():
            if line.strip():
                await ws.send(_message(line))
        return
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(fd), "rb", buffering=0)
    )
    try:
        while line := await reader.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text.strip():
                await ws.send(_message(text))
    finally:
        transport.close()

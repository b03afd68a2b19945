"""``pepperpy-core ws URL``: follow a WebSocket feed, printing one message per line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from pepperpy_core.cli._common import EXIT_OK, parse_header

_HELP = """\
Connect to a WebSocket, send the --subscribe and --send messages, and print every message
received, one per line (JSON values as compact JSON). Reconnects with backoff when the
connection drops and replays the --subscribe messages first. Stops after --count messages,
after --duration seconds, or on Ctrl-C. Connection events go to stderr.

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
    p.add_argument("--count", type=int, default=0, help="stop after this many messages")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
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
    from pepperpy_core.websocket import WebSocket

    out = out or sys.stdout
    ws = WebSocket(
        args.url, headers=dict(parse_header(h) for h in args.header),
        auto_reconnect=not args.no_reconnect,
    )
    received = 0
    enough = asyncio.Event()

    @ws.on("message")
    def show(message: Any) -> None:
        nonlocal received
        received += 1
        out.write(_line(message) + "\n")
        out.flush()
        if args.count and received >= args.count:
            enough.set()

    for event in ("disconnect", "reconnect"):
        ws.on(event, lambda *a, _e=event: print(f"[{_e}]", file=sys.stderr))
    ws.on("error", lambda error: print(f"[error] {error}", file=sys.stderr))

    try:
        await ws.connect()
        for text in args.subscribe:
            await ws.subscribe(_message(text))
        for text in args.send:
            await ws.send(_message(text))
        listener = ws.start()
        waiter = asyncio.ensure_future(enough.wait())
        await asyncio.wait({listener, waiter}, timeout=args.duration,
                           return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        await ws.close()
    return EXIT_OK

"""``pepperpy-core demo``: an offline tour on local servers started in-process.

Every figure it prints is measured on the spot: retries riding out failures, the rate limiter
pacing requests, cache hits, metrics, a WebSocket surviving a server restart with its batches
intact, a download resuming after a cut, and a Binance Vision range from a local archive.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

_HELP = """\
Start local HTTP, WebSocket and archive servers in this process and show, with real output,
what the library does on a bad network. Needs no internet. Takes a few seconds.
Pick sections with --only, e.g. --only retry,cache.
"""

SECTIONS = ("retry", "ratelimit", "cache", "metrics", "websocket", "download", "vision")


def add_parser(sub: Any) -> None:
    """Register the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo", help="an offline tour of every capability on local servers",
        description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections ({','.join(SECTIONS)})")
    p.set_defaults(handler=run_demo)


async def run_demo(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the chosen sections in order; return 0. (The tour's code, which needs aiohttp,
    loads only now, so ``demo --help`` stays light.)"""
    from pepperpy_core.cli._demo_tour import run_tour

    return await run_tour(args, out=out)

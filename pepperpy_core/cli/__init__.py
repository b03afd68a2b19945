"""The ``pepperpy-core`` command line.

Exit codes scripts can rely on: 0 success, 1 a failure the command reports (HTTP error status,
failed download...), 2 bad usage or configuration, 3 network failure (connect, timeout, TLS),
130 interrupted. Errors print as one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pepperpy_core.cli._common import EXIT_INTERRUPTED, run_guarded

__all__ = ["main"]

_DESCRIPTION = """\
Async networking from the command line: HTTP with retries, WebSocket feeds, connectivity
monitoring, verified downloads and Binance Vision market data.

examples:
  pepperpy-core get https://api.example.com/data --json
  pepperpy-core download https://host/a.zip https://host/b.zip -o downloads --concurrency 4
  pepperpy-core monitor tcp://1.1.1.1:443 https://example.com/health
  pepperpy-core vision download BTCUSDT --type klines --interval 1m \\
      --start 2024-01-01 --end 2024-01-31
  pepperpy-core demo          (an offline tour on local servers)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="pepperpy-core",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from pepperpy_core import __version__

    parser.add_argument("--version", action="version", version=f"pepperpy-core {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registrars():
        register(sub)  # type: ignore[operator]
    return parser


def _registrars() -> list[object]:
    from pepperpy_core.cli import get

    found: list[object] = [get.add_parser]
    for module, attr in _OPTIONAL:
        try:
            mod = __import__(f"pepperpy_core.cli.{module}", fromlist=[attr])
        except ImportError:  # pragma: no cover - a subcommand still being built
            continue
        found.append(getattr(mod, attr))
    return found


_OPTIONAL: list[tuple[str, str]] = [
    ("download", "add_download_parser"),
    ("ws", "add_parser"),
    ("monitor", "add_monitor_parser"),
    ("vision", "add_parser"),
    ("demo", "add_parser"),
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pepperpy-core`` script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_guarded(args.handler(args), debug=args.debug)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


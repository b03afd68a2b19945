"""The ``pepperpy-core`` command line.

Exit codes are documented in ``pepperpy_core.cli._common`` and ``docs/cli.md``: 0 success,
1 a reported failure, 2 bad usage, 3/4/5 an HTTP 3xx/4xx/5xx with ``get --check-status``, 6 name
not resolved, 7 cannot connect, 28 timeout, 35 TLS, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pepperpy_core.cli._common import EXIT_INTERRUPTED, UsageError, run_guarded

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


#: name -> (module, registrar, one-line help). Only the chosen subcommand's module is imported,
#: so ``pepperpy-core --help`` and ``pepperpy-core get --help`` stay fast.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "get": ("get", "add_parser", "send an HTTP request and print the response"),
    "download": ("download", "add_download_parser", "download files concurrently, verified"),
    "ws": ("ws", "add_parser", "follow a WebSocket feed (reconnecting, interactive)"),
    "monitor": ("monitor", "add_monitor_parser", "watch connectivity and print each transition"),
    "vision": ("vision", "add_parser", "Binance Vision public market data"),
    "demo": ("demo", "add_parser", "an offline tour on local servers"),
}


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in _COMMANDS else None
    return None


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The argument parser; ``command`` is the subcommand whose options are registered
    (``"*"``: every one; ``None``: none, only their names)."""
    from pepperpy_core._version import __version__

    parser = argparse.ArgumentParser(
        prog="pepperpy-core",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pepperpy-core {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, attr, summary) in _COMMANDS.items():
        if command in ("*", name):
            mod = importlib.import_module(f"pepperpy_core.cli.{module}")
            getattr(mod, attr)(sub)
        else:
            sub.add_parser(name, help=summary)
    for subparser in sub.choices.values():  # for argument errors found after parsing
        subparser.set_defaults(usage_parser=subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pepperpy-core`` script; returns the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen(words))
    args, extra = parser.parse_known_args(words)
    if extra:
        # Request items may follow options (``get URL -v q==1``); anything else is an error.
        if not hasattr(args, "items") or any(word.startswith("-") for word in extra):
            args.usage_parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.items = [*args.items, *extra]
    try:
        return run_guarded(args.handler(args), debug=args.debug)
    except UsageError as exc:
        args.usage_parser.error(str(exc))  # usage, "pepperpy-core CMD: error: ...", exit 2
        raise  # pragma: no cover - error() exits
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


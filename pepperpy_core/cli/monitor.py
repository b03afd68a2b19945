"""``pepperpy-core monitor [TARGET...]``: print connectivity transitions with timestamps."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK, number

if TYPE_CHECKING:
    from pepperpy_core.network.state import ConnectionState

__all__ = ["add_monitor_parser", "run_monitor"]

_HELP = """\
Check connectivity every --interval seconds and print one timestamped line when the state
changes (OFFLINE with the reason, ONLINE with the latency), until interrupted (Ctrl-C).
TARGET is tcp://host:port, host:port, http(s)://url (any 2xx is up) or dns://name; with no
TARGET, several well-known public endpoints are probed and any one up means online.

examples:
  pepperpy-core monitor
  pepperpy-core monitor tcp://db.internal:5432 https://api.example.com/health --all
  pepperpy-core monitor 1.1.1.1:443 --interval 2 --offline-after 2
"""


def add_monitor_parser(subparsers: Any) -> None:
    """Register the ``monitor`` subcommand on an ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "monitor", help="watch connectivity and print each transition", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("targets", nargs="*", default=[], metavar="TARGET", type=_target,
                   help="what to probe (default: public)")
    p.add_argument("--interval", type=number(float), default=5.0,
                   help="seconds between checks (5)")
    p.add_argument("--timeout", type=number(float), default=3.0, help="seconds per probe (3)")
    p.add_argument("--offline-after", type=number(int), default=3,
                   help="failed checks in a row before OFFLINE (3)")
    p.add_argument("--online-after", type=number(int), default=2,
                   help="successful checks in a row before ONLINE again (2)")
    p.add_argument("--all", action="store_true", help="online only when every target is up")
    p.add_argument("--duration", type=number(float), default=None,
                   help="stop after this many seconds (default: run until interrupted)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: {time, state, latency_ms, error}")
    p.set_defaults(handler=_handle)


def _target(text: str) -> str:
    """An argparse ``type=``: a target the probes understand, else an error naming it."""
    from pepperpy_core.exceptions import ConfigurationError
    from pepperpy_core.network.probes import parse_target

    try:
        parse_target(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


#: The name cli/__init__.py's registrar list looks for, as for the other subcommands.
add_parser = add_monitor_parser


async def _handle(args: argparse.Namespace) -> int:
    return await run_monitor(
        list(args.targets), interval=args.interval, timeout=args.timeout,
        offline_after=args.offline_after, online_after=args.online_after,
        require="all" if args.all else "any", duration=args.duration,
        as_json=args.json,
    )


async def run_monitor(
    targets: list[str],
    *,
    interval: float,
    timeout: float = 3.0,
    offline_after: int = 3,
    online_after: int = 2,
    require: Literal["any", "all"] = "any",
    duration: float | None = None,
    max_transitions: int | None = None,
    out: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
    as_json: bool = False,
) -> int:
    """Print the first state, then every transition, until interrupted, ``duration`` seconds
    pass (None: no limit) or ``max_transitions`` transitions were printed (None: no limit).

    ``targets``: as for ``NetworkManager(targets=...)``; empty: the default public targets.
    ``out``: where lines go (None: stdout); ``now``: the timestamp source (None: local time);
    ``as_json``: one JSON object per line instead of text (no banner line).
    Returns 0 when online at the end, 1 when offline.
    """
    import asyncio

    from pepperpy_core.network.manager import NetworkManager

    stream = out or sys.stdout
    stamp = now or (lambda: datetime.now().astimezone())
    finished = asyncio.Event()
    printed = 0

    def emit(label: str, state: ConnectionState) -> None:
        when = stamp().isoformat(timespec="seconds")
        if as_json:
            latency = None if state.latency is None else round(state.latency * 1000, 2)
            record = {"time": when, "state": label, "latency_ms": latency,
                      "error": None if label == "ONLINE" else state.last_error}
            print(json.dumps(record), file=stream, flush=True)
            return
        print(f"{when}  {_describe(label, state)}", file=stream, flush=True)

    def on_change(label: str) -> Callable[[], None]:
        def callback() -> None:
            nonlocal printed
            emit(label, manager.state)
            printed += 1
            if max_transitions is not None and printed >= max_transitions:
                finished.set()
        return callback

    manager = NetworkManager(
        targets=targets or None, interval=interval, timeout=timeout,
        offline_after=offline_after, online_after=online_after, require=require,
    )
    async with manager:
        names = ", ".join(str(t) for t in manager.targets)
        if not as_json:
            print(f"monitoring {names} every {interval:g} s (Ctrl-C to stop)", file=stream,
                  flush=True)
        online = await manager.check_connection()
        emit("ONLINE" if online else "OFFLINE", manager.state)
        await manager.monitor_connection(
            on_disconnect=on_change("OFFLINE"), on_reconnect=on_change("ONLINE")
        )
        try:
            await asyncio.wait_for(finished.wait(), duration)
        except asyncio.TimeoutError:
            pass  # the duration is up: a normal end
        return EXIT_OK if manager.is_online else EXIT_FAILURE


def _describe(label: str, state: ConnectionState) -> str:
    if label == "ONLINE":
        latency = "" if state.latency is None else f"  latency {state.latency * 1000:.1f} ms"
        return f"ONLINE{latency}"
    return f"OFFLINE  {state.last_error or ''}".rstrip()

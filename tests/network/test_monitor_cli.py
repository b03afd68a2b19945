"""``pepperpy-core monitor``: the function behind it on a local target, and its arguments."""

from __future__ import annotations

import argparse
import asyncio
import io
from datetime import datetime, timezone
from typing import Any

from pepperpy_core.cli.monitor import add_monitor_parser, run_monitor

STAMP = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)


async def test_monitor_prints_each_transition_with_a_timestamp(
    tcp_target: Any, wait_for: Any
) -> None:
    """An outage prints OFFLINE then ONLINE after the first state, then the run ends (exit 0)."""
    out = io.StringIO()
    run = asyncio.ensure_future(run_monitor(
        [tcp_target.target], interval=0.02, timeout=1.0, offline_after=2, online_after=1,
        max_transitions=2, duration=10.0, out=out, now=lambda: STAMP,
    ))
    await wait_for(lambda: "ONLINE" in out.getvalue())
    await tcp_target.stop()
    await wait_for(lambda: "OFFLINE" in out.getvalue())
    await tcp_target.start()
    assert await asyncio.wait_for(run, 5.0) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"monitoring {tcp_target.target} every 0.02 s")
    assert [line.split()[1] for line in lines[1:]] == ["ONLINE", "OFFLINE", "ONLINE"]
    assert all(line.startswith("2025-03-01T10:00:00+00:00  ") for line in lines[1:])
    assert str(tcp_target.port) in lines[2]  # the reason names the target


async def test_monitor_duration_bounds_the_run(tcp_target: Any) -> None:
    """With duration it stops by itself; the exit code says offline (1) at the end."""
    out = io.StringIO()
    await tcp_target.stop()
    code = await run_monitor([tcp_target.target], interval=0.02, timeout=0.5, duration=0.1,
                             out=out)
    assert code == 1
    assert out.getvalue().splitlines()[1].split()[1] == "OFFLINE"


async def test_monitor_subcommand_parses_targets_and_options(tcp_target: Any) -> None:
    """The registered subcommand maps its options onto run_monitor and runs through handler."""
    parser = argparse.ArgumentParser(prog="pepperpy-core")
    add_monitor_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["monitor", tcp_target.target, "--interval", "0.02",
                              "--offline-after", "1", "--all", "--duration", "0.05"])
    assert (args.targets, args.interval, args.offline_after, args.all) == (
        [tcp_target.target], 0.02, 1, True)
    assert await args.handler(args) == 0

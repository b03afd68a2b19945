"""What importing pepperpy-core costs, against importing aiohttp alone, and how fast the command
line answers ``--help``.

Each case runs in a fresh interpreter with ``python -X importtime``; its import time is the sum
of the cumulative times of the modules it loads at top level that a bare interpreter does not
(so interpreter start-up and ``site`` are left out of every case alike). Cases run once per
round in a rotated order; the tables quote medians, and each case's ratio to ``import aiohttp``
is the median of the ratios within rounds. ``pepperpy-core --help`` is timed end to end
(start-up included), as a user waits for it. Bytecode is cached (in a temporary
``PYTHONPYCACHEPREFIX``, warmed once), as it is for an installed package: a source checkout run
with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile our modules on every start.

    python benchmarks/import_time.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import write_result

BASELINE = "import aiohttp"
CASES = {
    BASELINE: "import aiohttp",
    "import pepperpy_core": "import pepperpy_core",
    "from pepperpy_core import HttpClient": "from pepperpy_core import HttpClient",
    "HttpClient ready to send (its aiohttp transport loaded)": (
        "from pepperpy_core import HttpClient\nimport pepperpy_core.http._aiohttp"
    ),
    "from pepperpy_core import WebSocket": "from pepperpy_core import WebSocket",
    "from pepperpy_core import CachedClient": "from pepperpy_core import CachedClient",
}
#: The goals of issue 15 (import) and issue 20 (``--help``).
GOAL_RATIO = 1.3
GOAL_HELP_S = 0.3
#: ``pepperpy-core [SUBCOMMAND] --help`` for each of these (the empty one is the tool's own).
HELPS = ("", "get", "download", "ws", "monitor", "vision", "demo")


def _top_level(stderr: str) -> dict[str, int]:
    """Module -> cumulative µs for the modules ``-X importtime`` shows at the top level."""
    found: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith(" ") and not name.startswith("  ") and cumulative.strip().isdigit():
            found[name.strip()] = int(cumulative)
    return found


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def import_us(code: str, startup: set[str]) -> float:
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True, timeout=60, env=ENV)
    return float(sum(us for name, us in _top_level(run.stderr).items() if name not in startup))


def help_seconds(command: str, sub: str = "") -> float:
    started = time.perf_counter()
    subprocess.run([command, *([sub] if sub else []), "--help"], capture_output=True,
                   check=True, timeout=60, env=ENV)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # children inherit it
    with tempfile.TemporaryDirectory() as cache:
        ENV["PYTHONPYCACHEPREFIX"] = cache
        measure(args.rounds)


def measure(rounds: int) -> None:
    bare = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                          capture_output=True, text=True, check=True, timeout=60, env=ENV)
    startup = set(_top_level(bare.stderr))
    command = shutil.which("pepperpy-core", path=str(Path(sys.executable).parent)) or shutil.which(
        "pepperpy-core"
    )
    for code in CASES.values():  # fill the bytecode cache
        import_us(code, set())
    if command:
        for sub in HELPS:
            help_seconds(command, sub)
    names = list(CASES)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    helps: dict[str, list[float]] = {sub: [] for sub in HELPS}
    for index in range(rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        figures = {name: import_us(CASES[name], startup) for name in order}
        for name, us in figures.items():
            times[name].append(us)
            ratios[name].append(us / figures[BASELINE])
        if command:
            for sub in HELPS:
                helps[sub].append(help_seconds(command, sub))
    lines = [
        "## Import time",
        "",
        "`benchmarks/import_time.py`: each case in a fresh interpreter, `python -X importtime`, "
        "the modules it loads beyond a bare interpreter's; medians of "
        f"{rounds} rounds in rotated order; the ratio is against `import aiohttp` in the "
        "same round.",
        "",
        "| case | import time (ms) | vs `import aiohttp` |",
        "|---|---:|---:|",
    ]
    for name in names:
        lines.append(f"| `{name}` | {statistics.median(times[name]) / 1000:.1f} | "
                     f"{statistics.median(ratios[name]):.2f}x |")
    data: dict[str, object] = {"times_us": times, "ratios": ratios}
    if command:
        lines += ["", "`pepperpy-core [COMMAND] --help`, end to end (interpreter start-up "
                  f"included), target under {GOAL_HELP_S} s:", "",
                  "| command | median (s) | fastest (s) | slowest (s) |", "|---|---:|---:|---:|"]
        for sub, values in helps.items():
            values.sort()
            lines.append(f"| `pepperpy-core {sub + ' ' if sub else ''}--help` | "
                         f"{statistics.median(values):.3f} | {values[0]:.3f} | "
                         f"{values[-1]:.3f} |")
        data["help_s"] = helps
    ready = statistics.median(ratios["HttpClient ready to send (its aiohttp transport loaded)"])
    lines += ["", f"Target: the HTTP client at most {GOAL_RATIO}x `import aiohttp`: "
              f"{ready:.2f}x, {'met' if ready <= GOAL_RATIO else 'not met'}."]
    text = "\n".join(lines)
    print(text)
    write_result("import_time", text, data)


if __name__ == "__main__":
    main()

"""Run every comparison against the peer libraries and write docs/benchmarks.md.

    ./dev.sh bench            (or: python benchmarks/run_all.py [--quick])

Each benchmark runs in its own process (server pinned to core 0, client to core 1, 127.0.0.1
only, bounded counts and time) and leaves a markdown section in benchmarks/results/; this
script prints a summary of ratios and writes the sections into docs/benchmarks.md.

The page also holds analysis written by hand (what a figure means, what was tried). Each
generated part sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` lines, and
only those parts are replaced; a section not yet on the page is added at its end.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from _harness import RESULTS, machine

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs" / "benchmarks.md"

#: (script, result section, arguments for --quick)
BENCHMARKS = [
    ("http_overhead.py", "http_overhead", ["--requests", "500", "--rounds", "3"]),
    ("behaviour_stack.py", "behaviours", ["--requests", "500", "--rounds", "3"]),
    ("observability.py", "observability", ["--requests", "500", "--rounds", "3"]),
    ("websocket_throughput.py", "websocket", ["--rounds", "3"]),
    ("download_throughput.py", "download", ["--size-mib", "128", "--rounds", "2"]),
    ("vision_parse.py", "vision_parse", ["--rows", "200000", "--rounds", "3"]),
    ("vision_parse.py", "vision_parse_instructions", ["--instructions", "--rows", "50000"]),
    ("instructions.py", "instructions", ["--low", "200", "--high", "700"]),
    ("instructions.py", "instructions_layers", ["--layers", "--low", "200", "--high", "700"]),
    ("instructions.py", "instructions_caches", ["--caches", "--low", "200", "--high", "700"]),
    ("import_time.py", "import_time", ["--rounds", "7"]),
    ("redis_store.py", "redis_store", ["--ops", "1000", "--requests", "500", "--rounds", "3"]),
]

#: Arguments that choose what a script measures (kept in full runs, unlike sizes).
MODES = ("--layers", "--caches", "--instructions")

HEADER = """\
# Benchmarks

The tables come from `./dev.sh bench` (`benchmarks/run_all.py`), which rewrites only the parts
between `<!-- generated: NAME -->` markers, each from its benchmark's last run (the date and
machine close each section); the text around them is analysis written by hand, dated where it
speaks of a run. Method: each benchmark runs in its own process; the local server (aiohttp or
websockets, bound to 127.0.0.1) is pinned to core 0 and the client to core 1; every loop is
bounded in count and time; figures are medians of several rounds, and peers are measured in
the same run, interleaved, so background noise touches all of them alike. Ratios are against
the peer named in each table. This is a 2-core shared machine: single figures move by 10-20 %
between runs, ratios less.

Targets, and where we stand in this run:

"""


def run(script: str, extra: list[str]) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(HERE / script), *extra], cwd=HERE, check=True,
                   timeout=900)
    return time.monotonic() - started


def versions() -> str:
    import importlib.metadata as md

    names = ["aiohttp", "httpx", "websockets", "pydantic", "structlog", "numpy", "pandas",
             "pyarrow"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            continue
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs")
    parser.add_argument("--only", default="", help="comma-separated result names")
    args = parser.parse_args()
    only = {x for x in args.only.split(",") if x}
    for script, name, quick in BENCHMARKS:
        if only and name not in only:
            continue
        print(f"== {script} ({name})", flush=True)
        extra = [a for a in quick if a in MODES]  # a mode, not a size: kept in full runs
        seconds = run(script, quick if args.quick else extra)
        print(f"   {seconds:.0f} s", flush=True)
    parts = [(name, (RESULTS / f"{name}.md").read_text(encoding="utf-8"))
             for _, name, _ in BENCHMARKS if (RESULTS / f"{name}.md").exists()]
    goals_file = HERE / "goals.md"
    if goals_file.exists():
        parts.insert(0, ("goals", goals_file.read_text(encoding="utf-8")))
    parts.append(("machine", f"## Machine\n\n{machine()}; {platform.platform()}.\n\n"
                             f"Versions: {versions()}.\n"))
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else HEADER
    for name, body in parts:
        text = refresh(text, name, body)
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS}")
    _ = json  # results/*.json hold the raw figures


def refresh(page: str, name: str, body: str) -> str:
    """``page`` with its generated part ``name`` replaced by ``body`` (added at the end when the
    page has no such part); whatever lies outside the markers is kept as it is."""
    block = f"<!-- generated: {name} -->\n{body.strip()}\n<!-- end: {name} -->"
    pattern = re.compile(
        rf"^<!-- generated: {re.escape(name)} -->\n.*?^<!-- end: {re.escape(name)} -->$",
        re.MULTILINE | re.DOTALL,
    )
    replaced, found = pattern.subn(lambda _: block, page, count=1)
    return replaced if found else page.rstrip("\n") + "\n\n" + block + "\n"


if __name__ == "__main__":
    main()

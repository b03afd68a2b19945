"""Binance Vision CSV parse speed: ``parse_csv`` against ``pandas.read_csv``, ``polars.read_csv``
and per-row pydantic validation, on archive-shaped files, in one run on one pinned core.

Two files are generated in a temporary folder, each in the archive's own layout:

* spot ``BTCUSDT-1m`` klines: no header, millisecond times, 8-decimal prices (12 columns);
* USD-M ``BTCUSDT`` aggTrades: the header row futures files carry since 2022, ``true``/``false``
  booleans (7 columns).

Every round times each parser once per file in a rotated order (so drifts of the shared
machine hit all alike); a parser's ratio to pandas is the median of its per-round ratios.
Every parser reads the file from disk and ends with typed columns:

* ``parse_csv`` (engine ``auto``: polars when installed) and ``parse_csv(engine="pyarrow")``,
  ``path.read_bytes()`` included; times end as ``timestamp[us, UTC]``, so ours does more;
* ``pandas.read_csv`` (C engine; header row and names as the file needs);
* ``polars.read_csv`` (the same);
* per-row pydantic: ``csv.reader`` rows validated one by one into :class:`Kline` /
  :class:`AggTrade`, on the first 100,000 rows, scaled to the file.

The whole process runs under ``taskset`` on one core (it re-executes itself that way), with
polars' and pyarrow's thread pools at one thread, so no parser gets a second core.

    python benchmarks/vision_parse.py [--rows 1000000] [--rounds 5] [--core 1]

``--instructions`` counts instructions per row instead (valgrind's callgrind, on at most
200,000 kline rows): the steady figure, where wall-clock times on a shared machine move.

    python benchmarks/vision_parse.py --instructions [--rows 200000]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import write_result

#: Targets: at least 0.5x pandas and 10x per-row pydantic; the stretch, at least 1.0x pandas
#: and 0.8x polars.
GOALS = {"pandas": (0.5, 1.0), "polars": 0.8, "per_row": 10.0}
PYDANTIC_SAMPLE = 100_000
#: The kline column names of the archive's futures header rows (spot files have none).
KLINE_NAMES = [
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
]  # fmt: skip
AGG_HEADER = (
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
)


def pin(core: int) -> None:
    """Re-execute under ``taskset -c core`` unless already confined to that one core; cap the
    thread pools of polars and pyarrow at one thread (set before either is imported)."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    if hasattr(os, "sched_getaffinity") and os.sched_getaffinity(0) != {core}:
        taskset = shutil.which("taskset")
        if taskset and (os.cpu_count() or 1) > core:
            os.execv(taskset, [taskset, "-c", str(core), sys.executable, *sys.argv])


def write_klines(path: Path, rows: int) -> None:
    """Spot 1m klines from 2024-01-01 as the archive writes them (ms, 8 decimals, no header)."""
    import random

    rng = random.Random(7)
    t, price = 1_704_067_200_000, 42_000.0
    with open(path, "w", encoding="ascii") as fh:
        for _ in range(rows):
            price += rng.gauss(0, 8)
            v = rng.random() * 50
            n = rng.randrange(1, 5_000)
            fh.write(
                f"{t},{price:.8f},{price + 3.1:.8f},{price - 2.9:.8f},{price + 1.2:.8f},{v:.8f},"
                f"{t + 59_999},{v * price:.8f},{n},{v / 2:.8f},{v * price / 2:.8f},0\n"
            )
            t += 60_000


def write_agg_trades(path: Path, rows: int) -> None:
    """USD-M aggTrades as the archive writes them: a header row, ms times, ``true``/``false``."""
    import random

    rng = random.Random(11)
    agg, first, t, price = 1_900_000_000, 4_400_000_000, 1_704_067_200_000, 42_000.0
    with open(path, "w", encoding="ascii") as fh:
        fh.write(AGG_HEADER + "\n")
        for _ in range(rows):
            price += rng.choice((-0.1, 0.0, 0.1))
            last = first + rng.randrange(0, 4)
            maker = "true" if rng.random() < 0.5 else "false"
            fh.write(f"{agg},{price:.1f},{rng.random() * 2:.3f},{first},{last},{t},{maker}\n")
            agg, first, t = agg + 1, last + 1, t + rng.randrange(0, 40)


def per_row(
    path: Path, model: Any, names: list[str], skip_header: bool, sample: int = PYDANTIC_SAMPLE
) -> Callable[[], None]:
    """Validate the first ``sample`` rows one by one (strings in, as csv gives them)."""

    def run() -> None:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            if skip_header:
                next(reader)
            for i, row in enumerate(reader):
                if i == sample:
                    break
                model.model_validate(dict(zip(names, row, strict=False)))

    return run


def cases(kind: str, path: Path, sample: int = PYDANTIC_SAMPLE) -> dict[str, Callable[[], Any]]:
    import pandas as pd
    import polars as pl

    from pepperpy_core.vision import AggTrade, Kline, parse_csv

    if kind == "klines":
        market, data_type, header = "spot", "klines", False
        names = KLINE_NAMES
        model, fields = Kline, list(Kline.model_fields)
    else:
        market, data_type, header = "futures/um", "aggTrades", True
        names = AGG_HEADER.split(",")
        model, fields = AggTrade, names

    def ours(engine: Any) -> Callable[[], Any]:
        return lambda: parse_csv(
            path.read_bytes(), market=market, data_type=data_type, engine=engine
        )

    pandas_kw: dict[str, Any] = {"header": 0} if header else {"header": None, "names": names}
    polars_kw: dict[str, Any] = {"has_header": header}
    if not header:
        polars_kw["new_columns"] = names
    return {
        "ours": ours("auto"),
        "ours_pyarrow": ours("pyarrow"),
        "pandas": lambda: pd.read_csv(path, engine="c", **pandas_kw),
        "polars": lambda: pl.read_csv(path, **polars_kw),
        "per_row": per_row(path, model, fields, header, sample),
    }


def measure(kind: str, path: Path, rows: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per parser: median seconds (per_row scaled to ``rows``) and median ratio to pandas."""
    runs = cases(kind, path)
    from pepperpy_core.vision import parse_csv

    market, data_type = ("spot", "klines") if kind == "klines" else ("futures/um", "aggTrades")
    check = parse_csv(path.read_bytes(), market=market, data_type=data_type)
    assert len(check) == rows, (len(check), rows)
    scale = rows / min(rows, PYDANTIC_SAMPLE)
    for fn in runs.values():  # warm-up: imports, caches, page cache
        if fn is not runs["per_row"]:
            fn()
    names = list(runs)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        this: dict[str, float] = {}
        for name in order:
            start = time.perf_counter()
            runs[name]()
            this[name] = (time.perf_counter() - start) * (scale if name == "per_row" else 1)
        for name in names:
            seconds[name].append(this[name])
            ratios[name].append(this["pandas"] / this[name])
    out = {}
    for name in names:
        out[name] = {
            "median_s": statistics.median(seconds[name]),
            "best_s": min(seconds[name]),
            "vs_pandas": statistics.median(ratios[name]),
            "vs_polars": statistics.median(
                p / s for p, s in zip(seconds["polars"], seconds[name], strict=True)
            ),
            "vs_per_row": statistics.median(
                p / s for p, s in zip(seconds["per_row"], seconds[name], strict=True)
            ),
        }
    return out


LABELS = {
    "ours": "`parse_csv` (engine auto: polars)",
    "ours_pyarrow": '`parse_csv(engine="pyarrow")`',
    "pandas": "`pandas.read_csv` (C engine)",
    "polars": "`polars.read_csv`",
    "per_row": "per-row pydantic (100k rows, scaled)",
}
TITLES = {
    "klines": "spot 1m klines, no header, 12 columns",
    "aggTrades": "USD-M aggTrades, header row, true/false, 7 columns",
}


def report(rows: int, results: dict[str, dict[str, dict[str, float]]], sizes: dict[str, float],
           core: int, rounds: int) -> str:  # fmt: skip
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    lines = [
        "## Binance Vision: CSV parse speed (`benchmarks/vision_parse.py`)",
        "",
        f"{rows:,} rows per file into typed columns, in files shaped like the archive's; the "
        f"whole process pinned to core {core} with `taskset` (polars and pyarrow at one "
        f"thread); {rounds} rounds, each parser once per round in a rotated order; every parser "
        "reads the file from disk. Times are medians; ratios are medians of the per-round "
        "ratios (higher is faster). `parse_csv` does more than the peers: it checks the header "
        "and empty fields and turns every time column into `timestamp[us, UTC]`.",
        "",
        f"Versions: pandas {pd.__version__}, polars {pl.__version__}, pyarrow {pa.__version__}.",
    ]
    for kind, table in results.items():
        lines += [
            "",
            f"### {TITLES[kind]} ({sizes[kind]:.0f} MB)",
            "",
            "| parser | median s | M rows/s | vs pandas | vs polars | vs per-row pydantic |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, fig in table.items():
            lines.append(
                f"| {LABELS[name]} | {fig['median_s']:.3f} | {rows / fig['median_s'] / 1e6:.2f} "
                f"| {fig['vs_pandas']:.2f}x | {fig['vs_polars']:.2f}x | {fig['vs_per_row']:.1f}x |"
            )
    lines += ["", "Targets: " + goals_line(results)]
    return "\n".join(lines)


def goals_line(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Each target against the figure as shown (two decimals: a ratio within 0.005 of its
    target is noise on this machine either way)."""

    def verdict(value: float, goal: float) -> str:
        return "met" if round(value, 2) >= goal else "missed"

    parts = []
    for kind, table in results.items():
        ours = table["ours"]
        low, high = GOALS["pandas"]
        pandas, polars, rows = ours["vs_pandas"], ours["vs_polars"], ours["vs_per_row"]
        parts.append(
            f"{kind}: {pandas:.2f}x pandas (>= {low}x {verdict(pandas, low)}; stretch >= "
            f"{high}x {verdict(pandas, high)}), {polars:.2f}x polars (>= {GOALS['polars']}x "
            f"{verdict(polars, GOALS['polars'])}), {rows:.1f}x per-row pydantic (>= "
            f"{GOALS['per_row']:.0f}x {verdict(rows, GOALS['per_row'])})"
        )
    return "; ".join(parts) + "."


# --- instructions (callgrind): a steady figure on a shared machine ---------------------------

INSTR_SAMPLE = 20_000  # per-row pydantic rows per "parse" under callgrind (scaled to the file)
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions_child(name: str, path: str, repeat: int) -> None:
    """One parser, once to warm up and then ``repeat`` times (run under callgrind)."""
    import pyarrow as pa

    pa.set_cpu_count(1)
    run = cases("klines", Path(path), INSTR_SAMPLE)[name]
    for _ in range(1 + repeat):
        run()


def count_instructions(name: str, path: Path, repeat: int, core: int) -> int:
    """Total instructions of one child run: pinned, no address randomisation, fixed hashes."""
    prefix = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    if shutil.which("setarch"):
        prefix += ["setarch", "-R"]
    argv = [*prefix, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, "--child", name, str(path), str(repeat)]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0", "POLARS_MAX_THREADS": "1"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    found = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"{name}: callgrind run failed:\n{proc.stderr[-2000:]}")
    return int(found[-1])


def instructions_report(rows: int, per_row_n: dict[str, float]) -> str:
    labels = {**LABELS, "per_row": f"per-row pydantic ({INSTR_SAMPLE:,} rows)"}
    lines = [
        "### Instructions per row (`benchmarks/vision_parse.py --instructions`)",
        "",
        f"User-space instructions per spot kline row, counted by callgrind on {rows:,} rows "
        f"(per-row pydantic on {INSTR_SAMPLE:,}), one thread: the difference between three "
        "parses and one, so imports and start-up cancel. Steady from run to run, unlike the "
        "timings above; instructions are not time (vectorised code does more per "
        "instruction), so read these ratios beside the timed ones.",
        "",
        "| parser | instructions per row | pandas / this | polars / this |",
        "|---|---:|---:|---:|",
    ]
    for name in LABELS:
        lines.append(
            f"| {labels[name]} | {per_row_n[name]:,.0f} | "
            f"{per_row_n['pandas'] / per_row_n[name]:.2f}x | "
            f"{per_row_n['polars'] / per_row_n[name]:.2f}x |"
        )
    return "\n".join(lines)


def instructions(rows: int, core: int) -> None:
    """Instructions per row of each parser: (3 parses - 1 parse) / 2, which cancels start-up,
    imports and the warm-up; per-row pydantic on INSTR_SAMPLE rows, scaled."""
    from concurrent.futures import ThreadPoolExecutor

    names = list(LABELS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "BTCUSDT-klines.csv"
        write_klines(path, rows)
        jobs = [(n, r) for n in names for r in (1, 3)]
        with ThreadPoolExecutor(2) as pool:  # two children at a time, both on ``core``
            found = pool.map(lambda job: count_instructions(job[0], path, job[1], core), jobs)
            totals = dict(zip(jobs, found, strict=True))
    per_row_n = {n: (totals[(n, 3)] - totals[(n, 1)]) / 2 for n in names}
    per_row_n = {
        n: v / (min(rows, INSTR_SAMPLE) if n == "per_row" else rows) for n, v in per_row_n.items()
    }
    md = instructions_report(rows, per_row_n)
    print(md)
    write_result("vision_parse_instructions", md, {"rows": rows, "per_row": per_row_n})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per row (callgrind)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        instructions_child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.instructions:
        instructions(min(args.rows, 200_000), args.core)
        return
    pin(args.core)
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    results: dict[str, dict[str, dict[str, float]]] = {}
    sizes: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, write in (("klines", write_klines), ("aggTrades", write_agg_trades)):
            path = Path(tmp) / f"BTCUSDT-{kind}.csv"
            write(path, args.rows)
            sizes[kind] = path.stat().st_size / 1e6
            results[kind] = measure(kind, path, args.rows, args.rounds)
            path.unlink()
    md = report(args.rows, results, sizes, args.core, args.rounds)
    print(md)
    write_result("vision_parse", md, {"rows": args.rows, "rounds": args.rounds,
                                      "results": results})  # fmt: skip


if __name__ == "__main__":
    main()

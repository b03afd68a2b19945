"""``pepperpy-core vision``: Binance Vision data from the command line.

``vision download`` fetches a date range (verified against the published checksums, cached
under ``OUT/archive``) and writes the rows as one CSV or Parquet file; ``vision list`` prints
what the archive holds for a symbol.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.vision.listing import DEFAULT_LISTING_URL
from pepperpy_core.vision.paths import DEFAULT_BASE_URL, VisionFile

_DOWNLOAD_HELP = """\
Download Binance Vision data for one symbol and date range, verify every zip against its
published .CHECKSUM, and write the rows as one CSV or Parquet file under --out. Verified zips
are kept under OUT/archive and reused on the next run; whole completed months are fetched as
one monthly file. Days the archive lacks are listed in the summary, not treated as errors.
Exit code 0 when every file was fetched or reported missing, 1 when some file failed.

examples:
  pepperpy-core vision download BTCUSDT --start 2024-01-01 --end 2024-03-31 --out data/
  pepperpy-core vision download BTCUSDT --market futures/um --type aggTrades \\
      --start 2024-01-01 --end 2024-01-07 --out data/ --format parquet
"""

_LIST_HELP = """\
List the files the archive holds for a symbol and data type (its S3 listing, all pages).

examples:
  pepperpy-core vision list BTCUSDT --type klines --interval 1h
  pepperpy-core vision list ETHUSDT --market futures/um --type trades --frequency monthly
"""


def add_parser(sub: Any) -> None:
    """Register ``vision download`` and ``vision list``."""
    vision = sub.add_parser(
        "vision", help="download and parse Binance Vision market data",
        description="Binance Vision (data.binance.vision) public market data.",
    )
    actions = vision.add_subparsers(dest="vision_command", metavar="ACTION")
    actions.required = True
    down = actions.add_parser(
        "download", help="download a date range and write it as CSV or Parquet",
        description=_DOWNLOAD_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(down)
    down.add_argument("--start", required=True, type=_date, help="first day, YYYY-MM-DD (UTC)")
    down.add_argument("--end", required=True, type=_date, help="last day, inclusive")
    down.add_argument("--out", default="data", type=Path, help="output folder (data)")
    down.add_argument("--format", choices=("csv", "parquet"), default="csv",
                      help="output format (csv; parquet needs pyarrow)")
    down.add_argument("--concurrency", type=int, default=4, help="files at once (4)")
    down.add_argument("--no-monthly", action="store_true",
                      help="always use daily files, even for whole months")
    down.add_argument("--json", action="store_true", help="print the summary as JSON")
    down.set_defaults(handler=run_vision_download)
    listing = actions.add_parser(
        "list", help="list the files the archive holds", description=_LIST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(listing)
    listing.add_argument("--frequency", choices=("daily", "monthly"), default="daily")
    listing.add_argument("--listing-url", default=DEFAULT_LISTING_URL, help=argparse.SUPPRESS)
    listing.add_argument("--json", action="store_true",
                         help="one JSON array of {key, size, last_modified}")
    listing.set_defaults(handler=run_vision_list)


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("symbol", help="trading pair, e.g. BTCUSDT (COIN-M: BTCUSD_PERP)")
    p.add_argument("--market", default="spot", choices=("spot", "futures/um", "futures/cm"))
    p.add_argument("--type", dest="data_type", default="klines",
                   help="klines, aggTrades, trades, markPriceKlines, indexPriceKlines, "
                        "premiumIndexKlines (klines)")
    p.add_argument("--interval", default="1m", help="kline interval, e.g. 1m, 1h, 1d (1m)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="archive root or a mirror")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _manager(args: argparse.Namespace, **extra: Any) -> Any:
    from pepperpy_core.vision.manager import VisionDownloadManager

    return VisionDownloadManager(
        symbol=args.symbol, interval=args.interval, market=args.market,
        data_type=args.data_type, base_url=args.base_url, **extra,
    )


async def run_vision_download(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Download the range, write the table, print the summary; return the exit code."""
    out = out or sys.stdout
    if args.format == "parquet":
        _require_pyarrow()
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be >= 1")
    args.out.mkdir(parents=True, exist_ok=True)
    async with _manager(
        args, cache_dir=args.out / "archive", max_concurrent=args.concurrency,
        prefer_monthly=not args.no_monthly,
    ) as manager:
        plan = manager.plan(args.start, args.end)
        with _FileBar(len(plan.files)) as bar:
            result = await manager.download_range(
                args.start, args.end, strict=False, on_file=bar.update
            )
    target = args.out / _output_name(args)
    if result.rows:
        write = result.frame.to_parquet if args.format == "parquet" else result.frame.to_csv
        write(target)
    summary = _summary(args, result, target if result.rows else None)
    if args.json:
        print(json.dumps(summary, indent=2), file=out)
    else:
        _print_summary(summary, out)
    return EXIT_FAILURE if result.failed else EXIT_OK


async def run_vision_list(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Print one archive file per line (its path under the archive root)."""
    out = out or sys.stdout
    async with _manager(args, listing_base_url=args.listing_url) as manager:
        entries = await manager.list_files(frequency=args.frequency)
    if args.json:
        rows = [{"key": e.key, "size": e.size, "last_modified": e.last_modified}
                for e in entries]
        print(json.dumps(rows, indent=2, default=str), file=out)
        return EXIT_OK
    for entry in entries:
        print(entry.key, file=out)
    print(f"{len(entries)} files", file=sys.stderr)
    return EXIT_OK


def _output_name(args: argparse.Namespace) -> str:
    kind = args.data_type + (f"-{args.interval}" if args.data_type.endswith("lines") else "")
    market = args.market.replace("/", "-")
    return f"{args.symbol.upper()}-{market}-{kind}-{args.start}_{args.end}.{args.format}"


def _summary(args: argparse.Namespace, result: Any, target: Path | None) -> dict[str, Any]:
    return {
        "symbol": args.symbol.upper(),
        "market": args.market,
        "data_type": args.data_type,
        "files": len(result.files),
        "cached_files": result.cached_files,
        "rows": result.rows,
        "missing_days": [d.isoformat() for d in result.missing_days],
        "not_yet_published": [d.isoformat() for d in result.not_yet_published],
        "failed": [f"{spec.filename}: {error}" for spec, error in result.failed],
        "bytes_downloaded": result.bytes_downloaded,
        "seconds": round(result.elapsed, 2),
        "output": os.fspath(target) if target else None,
    }


def _print_summary(s: dict[str, Any], out: TextIO) -> None:
    print(
        f"{s['symbol']} {s['market']} {s['data_type']}: {s['files']} files "
        f"({s['cached_files']} from cache), {s['rows']:,} rows, "
        f"{s['bytes_downloaded'] / 1e6:.1f} MB downloaded in {s['seconds']} s", file=out,
    )
    if s["missing_days"]:
        print(f"missing days ({len(s['missing_days'])}): {_days(s['missing_days'])}", file=out)
    if s["not_yet_published"]:
        print(f"not published yet: {_days(s['not_yet_published'])}", file=out)
    for failure in s["failed"]:
        print(f"FAILED {failure}", file=out)
    print(f"wrote {s['output']}" if s["output"] else "no rows to write", file=out)


def _days(days: list[str]) -> str:
    return ", ".join(days) if len(days) <= 6 else f"{days[0]} ... {days[-1]}"


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "--format parquet needs pyarrow: pip install 'pepperpy-core[dataframes]'"
        ) from None


class _FileBar:
    """File-count progress on stderr: a rich bar on a terminal, nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.progress: Any = None
        if sys.stderr.isatty():
            try:
                from rich.progress import Progress
            except ImportError:
                return
            self.progress = Progress(transient=True)
            self.task = self.progress.add_task("files", total=total)

    def __enter__(self) -> _FileBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, spec: VisionFile, status: str) -> None:
        if self.progress is None:
            return
        if status == "fallback":  # one monthly file became a month of daily files
            self.total += len(spec.days()) - 1
            self.progress.update(self.task, total=self.total)
            return
        self.progress.update(self.task, advance=1, description=f"{spec.filename} {status}")

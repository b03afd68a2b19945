"""``pepperpy-core vision``: Binance Vision data from the command line.

``vision download`` fetches a date range (verified against the published checksums, cached
under ``OUT/archive``) and writes the rows as one CSV or Parquet file; ``vision list`` prints
what the archive holds for a symbol; ``vision symbols`` the symbols of a market and type.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK
from pepperpy_core.exceptions import ConfigurationError

if TYPE_CHECKING:
    from pepperpy_core.vision.paths import VisionFile

#: The public archive (``pepperpy_core.vision.DEFAULT_BASE_URL``), spelt out here so that
#: ``vision --help`` does not load the Vision package (and pydantic with it).
DEFAULT_BASE_URL = "https://data.binance.vision"

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
List the files the archive holds for a symbol and data type (its S3 listing, all pages, from
--base-url when it is a mirror). A symbol with no files says so (exit code 1).

examples:
  pepperpy-core vision list BTCUSDT --type klines --interval 1h
  pepperpy-core vision list ETHUSDT --market futures/um --type trades --frequency monthly
"""


_SYMBOLS_HELP = """\
List the symbols the archive has for a market and data type (its S3 listing, all pages).

examples:
  pepperpy-core vision symbols --market futures/um --type metrics
  pepperpy-core vision symbols --type klines --frequency monthly
"""
_MARKETS = ("spot", "futures/um", "futures/cm", "option")
_TYPES_HELP = (
    "klines, aggTrades, trades; futures: markPriceKlines, indexPriceKlines, premiumIndexKlines, "
    "bookTicker, bookDepth, metrics, liquidationSnapshot, fundingRate; option: BVOLIndex, "
    "EOHSummary (klines)"
)


def add_parser(sub: Any) -> None:
    """Register ``vision download``, ``vision list`` and ``vision symbols``."""
    vision = sub.add_parser(
        "vision",
        help="download and parse Binance Vision market data",
        description="Binance Vision (data.binance.vision) public market data.",
    )
    actions = vision.add_subparsers(dest="vision_command", metavar="ACTION")
    actions.required = True
    down = actions.add_parser(
        "download",
        help="download a date range and write it as CSV or Parquet",
        description=_DOWNLOAD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(down)
    down.add_argument("--start", required=True, type=_date, help="first day, YYYY-MM-DD (UTC)")
    down.add_argument("--end", required=True, type=_date, help="last day, inclusive")
    down.add_argument("--out", default="data", type=Path, help="output folder (data)")
    down.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="output format (csv; parquet needs pyarrow)",
    )
    down.add_argument("--concurrency", type=int, default=4, help="files at once (4)")
    down.add_argument(
        "--no-monthly", action="store_true", help="always use daily files, even for whole months"
    )
    down.add_argument(
        "--revalidate",
        default="1d",
        type=_revalidate,
        help="re-check cached zips against the published .CHECKSUM: never, "
        "always, or an age such as 12h or 7d (1d)",
    )
    down.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="drop duplicate rows (they are reported either way)",
    )
    down.add_argument("--json", action="store_true", help="print the summary as JSON")
    down.set_defaults(handler=run_vision_download)
    listing = actions.add_parser(
        "list",
        help="list the files the archive holds",
        description=_LIST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(listing)
    listing.add_argument(
        "--frequency",
        choices=("daily", "monthly"),
        default=None,
        help="daily or monthly files (daily where the type has them)",
    )
    listing.add_argument("--listing-url", default=None, help=argparse.SUPPRESS)
    listing.add_argument(
        "--json", action="store_true", help="one JSON array of {key, size, last_modified}"
    )
    listing.set_defaults(handler=run_vision_list)
    symbols = actions.add_parser(
        "symbols",
        help="list the symbols of a market and data type",
        description=_SYMBOLS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    symbols.add_argument("--market", default="spot", choices=_MARKETS)
    symbols.add_argument("--type", dest="data_type", default="klines", help=_TYPES_HELP)
    symbols.add_argument(
        "--frequency",
        choices=("daily", "monthly"),
        default=None,
        help="daily or monthly folders (daily where the type has them)",
    )
    symbols.add_argument("--base-url", default=DEFAULT_BASE_URL, help="archive root or a mirror")
    symbols.add_argument("--listing-url", default=None, help=argparse.SUPPRESS)
    symbols.add_argument("--json", action="store_true", help="one JSON array of symbols")
    symbols.set_defaults(handler=run_vision_symbols, symbol="BTCUSDT", interval="1m")


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("symbol", help="trading pair, e.g. BTCUSDT (COIN-M: BTCUSD_PERP)")
    p.add_argument("--market", default="spot", choices=_MARKETS)
    p.add_argument("--type", dest="data_type", default="klines", help=_TYPES_HELP)
    p.add_argument(
        "--interval",
        default="1m",
        help="kline interval: 1s (spot) 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d, "
        "and monthly-only 3d 1w 1mo (1m)",
    )
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="archive root or a mirror")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _revalidate(text: str) -> Any:
    if text in ("never", "always"):
        return text
    number, unit = text[:-1], text[-1:]
    if unit in _AGE_UNITS and number.isdigit():
        return dt.timedelta(seconds=int(number) * _AGE_UNITS[unit])
    raise argparse.ArgumentTypeError(f"expected never, always or an age like 12h, got {text!r}")


def _manager(args: argparse.Namespace, **extra: Any) -> Any:
    from pepperpy_core.vision.manager import VisionDownloadManager

    return VisionDownloadManager(
        symbol=args.symbol,
        interval=args.interval,
        market=args.market,
        data_type=args.data_type,
        base_url=args.base_url,
        **extra,
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
        args,
        cache_dir=args.out / "archive",
        max_concurrent=args.concurrency,
        prefer_monthly=not args.no_monthly,
        revalidate=args.revalidate,
        drop_duplicates=args.drop_duplicates,
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
    from pepperpy_core.vision.paths import frequencies

    published = frequencies(args.market, args.data_type)
    frequency = args.frequency or published[0]
    if frequency not in published:
        raise ConfigurationError(
            f"--frequency: {args.data_type} on {args.market} is published {published[0]} only"
        )
    async with _manager(args, listing_base_url=args.listing_url) as manager:
        entries = await manager.list_files(frequency=frequency)
        if not entries:
            print(await _nothing_listed(args, manager, frequency, published), file=sys.stderr)
            if args.json:
                print("[]", file=out)
            return EXIT_FAILURE
    if args.json:
        rows = [{"key": e.key, "size": e.size, "last_modified": e.last_modified} for e in entries]
        print(json.dumps(rows, indent=2, default=str), file=out)
        return EXIT_OK
    for entry in entries:
        print(entry.key, file=out)
    zips = sum(1 for e in entries if e.key.endswith(".zip"))
    print(f"{zips} files (and their .CHECKSUM)", file=sys.stderr)
    return EXIT_OK


async def _nothing_listed(
    args: argparse.Namespace, manager: Any, frequency: str, published: tuple[str, ...]
) -> str:
    """Why a listing came back empty, and what to run instead: other intervals of the
    symbol, its files of the other frequency, or (the symbol is not there) ``vision
    symbols``."""
    symbol = args.symbol.upper()
    kind = f"{frequency} {args.data_type}"
    if manager.interval is not None:
        kind = f"{frequency} {args.interval} {args.data_type}"
        intervals = await manager.list_intervals(frequency=frequency)
        if intervals:
            return (
                f"no {kind} files for {symbol} on {args.market}; it has these {frequency} "
                f"intervals: {' '.join(intervals)} (choose one with --interval)"
            )
    for other in published:
        if other != frequency and await manager.list_files(frequency=other):
            return (
                f"no {kind} files for {symbol} on {args.market}, but {other} files exist: "
                f"add --frequency {other}"
            )
    mirror = "" if args.base_url == DEFAULT_BASE_URL else f" --base-url {args.base_url}"
    return (
        f"no {kind} files for {symbol} on {args.market}: the archive has no such symbol "
        f"there; see the symbols it has: pepperpy-core vision symbols --market {args.market} "
        f"--type {args.data_type}{mirror}"
    )


async def run_vision_symbols(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Print one symbol per line."""
    out = out or sys.stdout
    async with _manager(args, listing_base_url=args.listing_url) as manager:
        symbols = await manager.list_symbols(frequency=args.frequency)
    if args.json:
        print(json.dumps(symbols, ensure_ascii=False), file=out)
    else:
        for symbol in symbols:
            print(symbol, file=out)
        print(f"{len(symbols)} symbols", file=sys.stderr)
    return EXIT_OK if symbols else EXIT_FAILURE


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
        "after_series_end": [d.isoformat() for d in result.after_series_end],
        "replaced": [spec.filename for spec in result.replaced],
        "quality": result.quality.summary(),
        "failed": [f"{spec.filename}: {error}" for spec, error in result.failed],
        "bytes_downloaded": result.bytes_downloaded,
        "seconds": round(result.elapsed, 2),
        "output": os.fspath(target) if target else None,
    }


def _print_summary(s: dict[str, Any], out: TextIO) -> None:
    print(
        f"{s['symbol']} {s['market']} {s['data_type']}: {s['files']} files "
        f"({s['cached_files']} from cache), {s['rows']:,} rows, "
        f"{s['bytes_downloaded'] / 1e6:.1f} MB downloaded in {s['seconds']} s",
        file=out,
    )
    if s["missing_days"]:
        print(f"missing days ({len(s['missing_days'])}): {_days(s['missing_days'])}", file=out)
    if s["not_yet_published"]:
        print(f"not published yet: {_days(s['not_yet_published'])}", file=out)
    if s["after_series_end"]:
        print(f"not published (the series stopped): {_days(s['after_series_end'])}", file=out)
    for name in s["replaced"]:
        print(f"replaced upstream, downloaded again: {name}", file=out)
    _print_quality(s["quality"], out)
    for failure in s["failed"]:
        print(f"FAILED {failure}", file=out)
    print(f"wrote {s['output']}" if s["output"] else "no rows to write", file=out)


def _print_quality(q: dict[str, Any], out: TextIO) -> None:
    if q["ok"]:
        print("quality: no gaps, no duplicates", file=out)
        return
    for item in q["files_with_gaps"]:
        shown = ", ".join(item["missing"][:3]) + (" ..." if len(item["missing"]) > 3 else "")
        print(
            f"gap: {item['file']} has {item['rows']} of {item['expected_rows']} rows; "
            f"missing open times: {shown}", file=out,
        )  # fmt: skip
    for name, count in q["files_with_duplicates"].items():
        print(f"duplicates: {name} has {count} duplicate rows", file=out)
    for d in q["monthly_daily_disagreements"]:
        print(
            f"monthly and daily files disagree on {d['day']}: {d['monthly_rows']} rows "
            f"against {d['daily_rows']}", file=out,
        )  # fmt: skip


def _days(days: list[str]) -> str:
    return ", ".join(days) if len(days) <= 6 else f"{days[0]} ... {days[-1]}"


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "--format parquet needs pyarrow: pip install 'pepperpy-core[dataframes]'"
        ) from None


#: What a file event means to a user; events not listed (downloaded, cached) are quiet.
_EVENTS = {
    "replaced": "changed upstream since it was cached; downloaded again",
    "missing": "not in the archive (HTTP 404); listed as a missing day",
    "late": "not published yet (inside the grace window)",
    "fallback": "monthly file not published yet; using its daily files",
    "failed": "failed (the reason is in the summary)",
}


class _FileBar:
    """File-count progress on stderr: a rich bar when stderr is a terminal (stdout stays
    clean for ``--json``), nothing otherwise. Notable file events (replaced, missing, late,
    fallback, failed) are one line each on stderr; while the bar is live they, and any log
    line or warning, are printed through it, above the bar, never across it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.progress: Any = None
        if sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import Progress
            except ImportError:
                return
            self.progress = Progress(console=Console(file=sys.stderr), transient=True)
            self.task = self.progress.add_task("files", total=total)

    def __enter__(self) -> _FileBar:
        if self.progress is not None:
            # From here sys.stderr is the bar's proxy: log records (the library's handler
            # writes to the current sys.stderr) and warnings print above the bar.
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def note(self, text: str) -> None:
        """One line on stderr: above the bar while it is live."""
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, spec: VisionFile, status: str) -> None:
        if status in _EVENTS:
            self.note(f"{spec.filename}: {_EVENTS[status]}")
        if self.progress is None:
            return
        if status == "fallback":  # one monthly file became a month of daily files
            self.total += len(spec.days()) - 1
            self.progress.update(self.task, total=self.total)
            return
        self.progress.update(self.task, advance=1, description=f"{spec.filename} {status}")

"""``pepperpy-core download URL... -o DIR``: verified, resumable downloads, shown like aria2c.

On a terminal (with rich, ``pepperpy-core[progress]``): one live row per file in flight
(name, bar, percent, size, speed, time left). Elsewhere: one line per file event (started,
done, failed). Then a summary table where a failed file says FAILED. Sizes and speeds are in
binary units (KiB, MiB, GiB) throughout. Exit code 0 when every file arrived, 1 when any
failed, 2 for bad arguments (refused before any transfer), 130 on Ctrl-C (the partial files
stay; the same command resumes them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK, UsageError, check_url, number

if TYPE_CHECKING:
    from pepperpy_core.download.concurrent import AggregateProgress, FileOutcome
    from pepperpy_core.download.handler import DownloadResult
    from pepperpy_core.download.progress import DownloadProgress
    from pepperpy_core.http.client import HttpClient

__all__ = ["add_download_parser", "run_download"]

_HELP = """\
Download one or more files into a folder, several at a time. Each file streams to a hidden
part file beside its target, resumes after a dropped connection, is retried when the server
is busy or the transfer stalls, and is renamed into place only once complete (and verified
with --sha256).

On a terminal: one row per file in flight (name, percent, size, speed, time left). On a pipe
or a log: one line per file event. At the end: a table of every file, failed ones marked
FAILED. Ctrl-C keeps the partial files: rerun the same command to resume them.

The same URL twice, two URLs that would be saved under one name, a --sha256 that is not 64
hex digits or a -j below 1 are refused before anything is transferred.

exit codes: 0 every file arrived; 1 some failed; 2 bad arguments; 130 interrupted.

examples:
  pepperpy-core download https://host/a.zip -o downloads
  pepperpy-core download https://host/a.zip https://host/b.zip -o downloads -j 4
  pepperpy-core download https://host/a.zip --sha256 9f86d0...  (one --sha256 per URL, in order)
"""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _sha256_arg(text: str) -> str:
    value = text.strip().lower()
    if not _HEX64.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected 64 hex digits, got {text!r}")
    return value


def add_download_parser(subparsers: Any) -> None:
    """Register the ``download`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "download", help="download files (resumable, verified, concurrent)", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("urls", nargs="+", metavar="URL",
                   help="http(s) URLs to download (http:// assumed without a scheme)")
    p.add_argument("-o", "--out-dir", default=".", help="folder for the files (default: .)")
    p.add_argument("-j", "--concurrency", type=number(int), default=4, metavar="N",
                   help="files in flight at once (4)")
    p.add_argument("--sha256", action="append", default=None, metavar="HEX", type=_sha256_arg,
                   help="expected sha256 of each URL, in order; repeat per URL")
    p.add_argument("--retries", type=number(int, inclusive=True), default=3, metavar="N",
                   help="retries per file after the first attempt (3; 0: none)")
    p.add_argument("--skip-if-same", action="store_true",
                   help="keep existing files of the announced size (or checksum)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress rows or event lines (the summary still prints)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per file and a summary on stdout")
    p.set_defaults(handler=_run_from_args)


async def _run_from_args(args: argparse.Namespace) -> int:
    return await run_download(
        args.urls, out_dir=args.out_dir, concurrency=args.concurrency, sha256=args.sha256,
        max_retries=args.retries, skip_if_same=args.skip_if_same,
        progress="none" if args.no_progress or args.json else "auto",
        json_out=sys.stdout if args.json else None,
    )


def check_plan(urls: Sequence[str], sha256: Sequence[str] | None) -> list[str]:
    """The URLs to fetch (with ``http://`` assumed), after refusing what cannot work: a URL
    given twice, two URLs saved under one name, a --sha256 count that does not match."""
    from pepperpy_core.cli._items import guess_url
    from pepperpy_core.download.naming import filename_for
    from pepperpy_core.logging import redact_url

    if sha256 and len(sha256) != len(urls):
        raise UsageError(
            f"--sha256 given {len(sha256)} time(s) for {len(urls)} URL(s); give one per URL"
        )
    full = [guess_url(url) for url in urls]
    seen: set[str] = set()
    names: dict[str, str] = {}
    for url in full:
        check_url(url)
        if url in seen:
            raise UsageError(f"URL given twice: {redact_url(url)}")
        seen.add(url)
        name = filename_for(url)
        if name in names:
            raise UsageError(
                f"{redact_url(names[name])} and {redact_url(url)} would both be saved as "
                f"{name!r}; download them into different folders (-o)"
            )
        names[name] = url
    return full


async def run_download(
    urls: Sequence[str],
    *,
    out_dir: str,
    concurrency: int = 4,
    sha256: Sequence[str] | None = None,
    max_retries: int = 3,
    skip_if_same: bool = False,
    progress: str = "auto",
    client: HttpClient | None = None,
    stream: TextIO | None = None,
    json_out: TextIO | None = None,
    **handler_options: Any,
) -> int:
    """Download ``urls`` into ``out_dir``; show progress and a summary; return the exit code.

    - ``sha256``: one expected digest per URL, in order (None: not checked).
    - ``progress``: ``"auto"`` (live rows on a terminal with rich, event lines otherwise),
      ``"rich"`` (live rows), ``"plain"`` (event lines) or ``"none"``; drawn on ``stream``
      (default stderr). The summary table prints in every case.
    - ``client``: an HttpClient to use (default: a new one, closed afterwards).
    - ``json_out``: also write a JSON summary there (``{"files": [...], "ok": n, ...}``).
    - ``handler_options``: passed to ``DownloadHandler`` (``chunk_size``, ``min_speed``...).

    Bad arguments raise ``UsageError`` (a ``ConfigurationError``) before any transfer.
    Cancelled (Ctrl-C), it says that the partial files are kept and that the same command
    resumes them, then lets the cancellation through.
    """
    import asyncio

    from pepperpy_core.download.concurrent import download_files_concurrently
    from pepperpy_core.http.client import HttpClient

    out = stream or sys.stderr
    full = check_plan(urls, sha256)
    display = _make_display(progress, out)
    own = client is None
    http = client or HttpClient(timeout=60.0)
    try:
        with display:
            outcomes = await download_files_concurrently(
                http, full, out_dir, concurrency, sha256=list(sha256) if sha256 else None,
                skip_if_same=skip_if_same, progress=display.update,
                on_outcome=display.finished, max_retries=max_retries, **handler_options,
            )
    except asyncio.CancelledError:
        print(f"partial files are kept in {out_dir}: rerun the same command to resume",
              file=out, flush=True)
        raise
    finally:
        if own:
            await http.aclose()
    size = sum(o.result.bytes for o in outcomes if o.result is not None)
    if json_out is not None:
        json.dump(_json_summary(outcomes, size), json_out, indent=2)
        json_out.write("\n")
    display.summary(outcomes, out_dir)
    return EXIT_FAILURE if any(not o.ok for o in outcomes) else EXIT_OK


def _json_summary(outcomes: Sequence[FileOutcome], size: int) -> dict[str, Any]:
    files = [
        {
            "url": o.url,
            "path": str(o.result.path if o.result is not None else o.path),
            "ok": o.ok,
            "bytes": o.result.bytes if o.result is not None else None,
            "sha256": o.result.sha256 if o.result is not None else None,
            "resumed": o.result.resumed if o.result is not None else False,
            "attempts": o.result.attempts if o.result is not None else None,
            "error": None if o.error is None else _reason(o),
        }
        for o in outcomes
    ]
    ok = sum(1 for f in files if f["ok"])
    return {"files": files, "ok": ok, "failed": len(files) - ok, "bytes": size}


# --------------------------------------------------------------------- units


def size_text(count: float) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``12.3 MiB``, ``1.1 GiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def _pair(done: int, total: int | None) -> str:
    """``1.2 / 3.0 MiB``: both in the unit of the total (of ``done`` when it is unknown)."""
    if total is None:
        return size_text(done)
    _, unit = size_text(total).split()
    scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit]
    shown = f"{done}" if unit == "B" else f"{done / scale:.1f}"
    return f"{shown} / {size_text(total)}"


def _speed(rate: float) -> str:
    return f"{size_text(rate)}/s"


def _clock(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; ``--:--`` when unknown."""
    if seconds is None:
        return "--:--"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _name(url: str) -> str:
    from pepperpy_core.download.naming import filename_for

    return filename_for(url)


def _reason(outcome: FileOutcome) -> str:
    from pepperpy_core.download.handler import redact_text

    return redact_text(str(outcome.error))


def _summary_rows(outcomes: Sequence[FileOutcome],
                  rate_of: Callable[[DownloadResult], float]) -> list[tuple[str, ...]]:
    """(status, file, size, time, speed, note) per file, in the order given."""
    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        if o.result is None:
            rows.append(("FAILED", _name(o.url), "-", "-", "-", _reason(o)))
            continue
        r = o.result
        note = "already there" if r.skipped else ("resumed" if r.resumed else "")
        rate = 0.0 if r.skipped else rate_of(r)
        rows.append(("OK", r.path.name, size_text(r.bytes), f"{r.elapsed:.1f} s",
                     _speed(rate) if rate else "-", note))
    return rows


def _totals(outcomes: Sequence[FileOutcome], out_dir: str) -> str:
    failed = sum(1 for o in outcomes if not o.ok)
    size = sum(o.result.bytes for o in outcomes if o.result is not None)
    text = (f"downloaded {len(outcomes) - failed} of {len(outcomes)} file(s), "
            f"{size_text(size)}, into {out_dir}")
    return text + (f"; {failed} FAILED" if failed else "")


# --------------------------------------------------------------------- displays


class _Lines:
    """No live display: one line per file event (started, done, failed) when ``events``,
    and a plain summary table at the end."""

    def __init__(self, out: TextIO, *, events: bool = True) -> None:
        self.out = out
        self.events = events
        self.started: set[str] = set()
        #: The first progress seen per URL: what a resumed file already had, and when.
        self.first: dict[str, DownloadProgress] = {}

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def update(self, view: AggregateProgress) -> None:
        for file in view.files:
            self.first.setdefault(file.url, file)
            if file.url not in self.started:
                self.started.add(file.url)
                if self.events:
                    size = "size unknown" if file.total is None else size_text(file.total)
                    self.say(f"[start] {_name(file.url)}  {size}")

    def finished(self, outcome: FileOutcome) -> None:
        if not self.events:
            return
        result = outcome.result
        if result is None:
            self.say(f"[FAILED] {_name(outcome.url)}  {_reason(outcome)}")
        elif result.skipped:
            self.say(f"[skip] {result.path.name}  already there ({size_text(result.bytes)})")
        else:
            rate = self.rate_of(result)
            resumed = ", resumed" if result.resumed else ""
            self.say(f"[done] {result.path.name}  {size_text(result.bytes)} in "
                     f"{result.elapsed:.1f} s ({_speed(rate)}){resumed}")

    def rate_of(self, result: DownloadResult) -> float:
        """Bytes per second of this run: a resumed file's earlier bytes do not count."""
        first = self.first.get(result.url)
        if result.resumed and first is not None:
            moved, span = result.bytes - first.downloaded, result.elapsed - first.elapsed
            if moved > 0 and span > 0:
                return moved / span
        return result.bytes / result.elapsed if result.elapsed > 0 else 0.0

    def summary(self, outcomes: Sequence[FileOutcome], out_dir: str) -> None:
        head = ("status", "file", "size", "time", "speed", "note")
        rows = [head, *_summary_rows(outcomes, self.rate_of)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            self.say("  ".join([*cells, row[-1]]).rstrip())
        self.say(_totals(outcomes, out_dir))


class _Rows(_Lines):
    """rich live rows, one per file in flight; done and failed files print above the rows;
    a rich table at the end."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}", style="bold"), BarColumn(bar_width=24),
            TextColumn("{task.fields[pct]:>4}"), TextColumn("{task.fields[size]:>21}"),
            TextColumn("{task.fields[speed]:>12}"), TextColumn("ETA {task.fields[eta]}"),
            console=self.console, refresh_per_second=8,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Rows:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def say(self, line: str) -> None:
        self.progress.console.print(line, markup=False)

    def update(self, view: AggregateProgress) -> None:
        for file in view.files:
            fields: dict[str, Any] = {
                "pct": "?" if file.fraction is None else f"{file.fraction * 100:.0f}%",
                "size": _pair(file.downloaded, file.total),
                "speed": _speed(file.speed), "eta": _clock(file.eta),
            }
            task = self.tasks.get(file.url)
            if task is None:
                self.started.add(file.url)
                self.tasks[file.url] = self.progress.add_task(
                    _name(file.url), total=file.total, completed=file.downloaded, **fields)
            else:
                self.progress.update(task, total=file.total, completed=file.downloaded,
                                     **fields)

    def finished(self, outcome: FileOutcome) -> None:
        task = self.tasks.pop(outcome.url, None)
        if task is not None:
            self.progress.remove_task(task)
        super().finished(outcome)

    def summary(self, outcomes: Sequence[FileOutcome], out_dir: str) -> None:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in ("status", "file", "size", "time", "speed", "note"):
            table.add_column(column, justify="right" if column in ("size", "time", "speed")
                             else "left")
        for row in _summary_rows(outcomes, self.rate_of):
            status = "[green]OK[/]" if row[0] == "OK" else "[bold red]FAILED[/]"
            table.add_row(status, *(_escape(cell) for cell in row[1:]))
        self.console.print(table)
        style = "red" if any(not o.ok for o in outcomes) else "green"
        self.console.print(_totals(outcomes, out_dir), style=style, markup=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _make_display(kind: str, out: TextIO) -> _Lines:
    from pepperpy_core.exceptions import ConfigurationError

    if kind not in ("auto", "rich", "plain", "none"):
        raise ConfigurationError(f"progress: expected auto, rich, plain or none, got {kind!r}")
    terminal = kind == "rich" or (kind == "auto" and _isatty(out))
    if terminal:
        try:
            return _Rows(out)
        except ImportError:
            if kind == "rich":
                raise ConfigurationError(
                    "progress='rich' needs rich: pip install 'pepperpy-core[progress]'"
                ) from None
    return _Lines(out, events=kind != "none")


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False

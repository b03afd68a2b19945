"""``pepperpy-core download URL... -o DIR``: verified, resumable downloads with a progress bar.

The bar uses rich when it is installed (``pepperpy-core[progress]``) and a plain line on
stderr otherwise. Exit code 0 when every file arrived, 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from pepperpy_core.cli._common import EXIT_FAILURE, EXIT_OK
from pepperpy_core.download.concurrent import AggregateProgress, download_files_concurrently
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.client import HttpClient

__all__ = ["add_download_parser", "run_download"]

_HELP = """\
Download one or more files into a folder. Each file streams to a hidden part file beside its
target, resumes after a dropped connection, is retried when the server is busy or the
transfer stalls, and is renamed into place only once complete (and verified with --sha256).

examples:
  pepperpy-core download https://host/a.zip -o downloads
  pepperpy-core download https://host/a.zip https://host/b.zip -o downloads --concurrency 4
  pepperpy-core download https://host/a.zip --sha256 9f86d0...  (one --sha256 per URL, in order)
"""


def add_download_parser(subparsers: Any) -> None:
    """Register the ``download`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "download", help="download files (resumable, verified, concurrent)", description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("urls", nargs="+", metavar="URL", help="http(s) URLs to download")
    p.add_argument("-o", "--out-dir", default=".", help="folder for the files (default: .)")
    p.add_argument("--concurrency", type=int, default=4, help="files in flight at once (4)")
    p.add_argument("--sha256", action="append", default=None, metavar="HEX",
                   help="expected sha256 of each URL, in order; repeat per URL")
    p.add_argument("--retries", type=int, default=3, help="retries per file (3)")
    p.add_argument("--skip-if-same", action="store_true",
                   help="keep existing files of the announced size (or checksum)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
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
    """Download ``urls`` into ``out_dir``; print failures and a summary; return the exit code.

    - ``sha256``: one expected digest per URL, in order (None: not checked).
    - ``progress``: ``"auto"`` (rich if installed, else plain), ``"rich"``, ``"plain"`` or
      ``"none"``; drawn on ``stream`` (default stderr).
    - ``client``: an HttpClient to use (default: a new one, closed afterwards).
    - ``json_out``: also write a JSON summary there (``{"files": [...], "ok": n, ...}``).
    - ``handler_options``: passed to :class:`~pepperpy_core.DownloadHandler`.
    """
    out = stream or sys.stderr
    if sha256 and len(sha256) != len(urls):
        raise ConfigurationError(
            f"--sha256 given {len(sha256)} time(s) for {len(urls)} URL(s); give one per URL"
        )
    own = client is None
    http = client or HttpClient(timeout=60.0)
    bar = _make_bar(progress, out, len(urls))
    try:
        with bar:
            outcomes = await download_files_concurrently(
                http, list(urls), out_dir, concurrency, sha256=list(sha256) if sha256 else None,
                skip_if_same=skip_if_same, progress=bar.update, max_retries=max_retries,
                **handler_options,
            )
    finally:
        if own:
            await http.aclose()
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        print(f"failed: {outcome.url}: {outcome.error}", file=out)
    size = sum(o.result.bytes for o in outcomes if o.result is not None)
    if json_out is not None:
        json.dump(_json_summary(outcomes, size), json_out, indent=2)
        json_out.write("\n")
    print(
        f"downloaded {len(outcomes) - len(failed)} of {len(outcomes)} file(s), "
        f"{_size(size)}, into {out_dir}", file=out,
    )
    return EXIT_FAILURE if failed else EXIT_OK


def _json_summary(outcomes: Sequence[Any], size: int) -> dict[str, Any]:
    files = [
        {
            "url": o.url,
            "path": str(o.result.path if o.result is not None else o.path),
            "ok": o.ok,
            "bytes": o.result.bytes if o.result is not None else None,
            "sha256": o.result.sha256 if o.result is not None else None,
            "resumed": o.result.resumed if o.result is not None else False,
            "attempts": o.result.attempts if o.result is not None else None,
            "error": None if o.error is None else str(o.error),
        }
        for o in outcomes
    ]
    ok = sum(1 for f in files if f["ok"])
    return {"files": files, "ok": ok, "failed": len(files) - ok, "bytes": size}


# --------------------------------------------------------------------- progress display


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, view: AggregateProgress) -> None:
        return None


class _PlainBar(_NoBar):
    """One line on the stream, rewritten at most every ``interval`` seconds."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.clock = clock
        self.last = 0.0
        self.view: AggregateProgress | None = None

    def update(self, view: AggregateProgress) -> None:
        self.view = view
        now = self.clock()
        if now - self.last >= 0.5:
            self.last = now
            self._draw()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        total = f" of {_size(view.total)}" if view.total else ""
        print(
            f"{view.files_done + view.files_failed}/{view.files_total} files, "
            f"{_size(view.downloaded)}{total}, {_size(int(view.speed))}/s", file=self.out,
        )

    def __exit__(self, *exc: object) -> None:
        self._draw()


class _RichBar(_NoBar):
    """A rich progress bar over all files (bytes, speed, time left)."""

    def __init__(self, out: TextIO, files: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.files = files
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=Console(file=out),
        )
        self.task = self.progress.add_task(f"0/{files} files", total=None)

    def __enter__(self) -> _RichBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, view: AggregateProgress) -> None:
        self.progress.update(
            self.task, completed=view.downloaded, total=view.total,
            description=f"{view.files_done + view.files_failed}/{view.files_total} files",
        )


def _make_bar(kind: str, out: TextIO, files: int) -> _NoBar:
    if kind == "none":
        return _NoBar()
    if kind in ("auto", "rich"):
        try:
            return _RichBar(out, files)
        except ImportError:
            if kind == "rich":
                raise ConfigurationError(
                    "progress='rich' needs rich: pip install 'pepperpy-core[progress]'"
                ) from None
    if kind in ("auto", "plain"):
        return _PlainBar(out)
    raise ConfigurationError(f"progress: expected auto, rich, plain or none, got {kind!r}")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover

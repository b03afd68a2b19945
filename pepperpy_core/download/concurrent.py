"""``download_files_concurrently``: many downloads, at most ``max_concurrent`` at a time.

A fixed pool of workers pulls files from one list, so thousands of files cost
``max_concurrent`` tasks, not thousands. Each file gets its own outcome: one failure never
cancels the others. Cancelling the call cancels the workers; each download keeps its resumable
part file for the next call (or removes it with ``keep_partial=False``).
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typing_extensions import Unpack

from pepperpy_core.download.handler import DownloadHandler, DownloadResult, HandlerOptions
from pepperpy_core.download.progress import DownloadProgress
from pepperpy_core.exceptions import ConfigurationError, DownloadError

__all__ = ["AggregateProgress", "FileOutcome", "download_files_concurrently"]


@dataclass(frozen=True)
class FileOutcome:
    """The outcome of one file: ``result`` on success, ``error`` on failure. True in a
    boolean context when it succeeded, so ``all(outcomes)`` reads naturally."""

    url: str
    path: Path
    result: DownloadResult | None = None
    error: DownloadError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class AggregateProgress:
    """All files at once: counts, bytes received (``downloaded``), bytes announced by the
    files started so far (``total``, None until one announces a size), the combined speed
    in bytes/s of the transfers in flight, and (``files``) the latest
    :class:`DownloadProgress` of each transfer in flight, in the order the URLs were given."""

    files_total: int
    files_done: int
    files_failed: int
    in_flight: int
    downloaded: int
    total: int | None
    speed: float
    files: tuple[DownloadProgress, ...] = ()


AggregateCallback = Callable[[AggregateProgress], Any]
#: Called with each file's :class:`FileOutcome` as soon as that file ends (sync or async).
OutcomeCallback = Callable[["FileOutcome"], Any]


class _Board:
    """Collects per-file progress into an :class:`AggregateProgress`."""

    def __init__(
        self, count: int, callback: AggregateCallback | None,
        on_outcome: OutcomeCallback | None = None,
    ) -> None:
        self.count = count
        self.callback = callback
        self.on_outcome = on_outcome
        self.live: dict[int, DownloadProgress] = {}
        self.finished_bytes = 0
        self.finished_total = 0
        self.done = 0
        self.failed = 0

    def view(self) -> AggregateProgress:
        totals = [p.total for p in self.live.values() if p.total is not None]
        known = self.finished_total + sum(totals)
        return AggregateProgress(
            files_total=self.count, files_done=self.done, files_failed=self.failed,
            in_flight=len(self.live),
            downloaded=self.finished_bytes + sum(p.downloaded for p in self.live.values()),
            total=known if (known or totals) else None,
            speed=sum(p.speed for p in self.live.values()),
            files=tuple(self.live[index] for index in sorted(self.live)),
        )

    async def publish(self) -> None:
        if self.callback is not None:
            await _maybe_await(self.callback(self.view()))

    def per_file(self, index: int) -> Callable[[DownloadProgress], Any]:
        async def update(progress: DownloadProgress) -> None:
            self.live[index] = progress
            await self.publish()

        return update

    async def finish(self, index: int, outcome: FileOutcome) -> None:
        self.live.pop(index, None)
        if outcome.result is not None:
            self.done += 1
            self.finished_bytes += outcome.result.bytes
            self.finished_total += outcome.result.bytes
        else:
            self.failed += 1
        if self.on_outcome is not None:
            await _maybe_await(self.on_outcome(outcome))
        await self.publish()


async def download_files_concurrently(
    client: Any,
    urls: Sequence[str],
    local_paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    max_concurrent: int = 5,
    *,
    sha256: Sequence[str | None] | None = None,
    overwrite: bool = True,
    skip_if_same: bool = False,
    progress: AggregateCallback | None = None,
    keep_partial: bool = True,
    on_outcome: OutcomeCallback | None = None,
    **handler_options: Unpack[HandlerOptions],
) -> list[FileOutcome]:
    """Download ``urls`` with at most ``max_concurrent`` transfers in flight.

    - ``client``: an :class:`HttpClient` (preferred) or a raw aiohttp/httpx client.
    - ``local_paths``: one path per URL, or a single folder to put every file in (names
      from the server or the URL, kept inside the folder).
    - ``sha256``: expected digests, one per URL (None entries: not checked).
    - ``progress``: called with an :class:`AggregateProgress` as bytes arrive (sync or async).
    - ``keep_partial``: as for :meth:`DownloadHandler.download`: a failed or cancelled file
      keeps its resumable part for the next call (True) or removes it (False).
    - ``on_outcome``: called with each file's :class:`FileOutcome` as soon as that file ends
      (sync or async), before the ``progress`` update that counts it.
    - ``handler_options``: passed to :class:`DownloadHandler` (``chunk_size``,
      ``max_retries``, ``min_speed``, ``stall_window``, ``sleep``, ``clock``...).

    Returns one :class:`FileOutcome` per URL, in the order given.
    """
    paths = _paths_for(urls, local_paths)
    digests = list(sha256) if sha256 is not None else [None] * len(urls)
    if len(digests) != len(urls):
        raise ConfigurationError("sha256: give one digest (or None) per URL")
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or (
        max_concurrent < 1
    ):
        raise ConfigurationError("max_concurrent: must be an int >= 1")
    outcomes: list[FileOutcome | None] = [None] * len(urls)
    board = _Board(len(urls), progress, on_outcome)
    work = iter(range(len(urls)))
    async with DownloadHandler(client, **handler_options) as handler:

        async def worker() -> None:
            for index in work:
                outcomes[index] = await _one(
                    handler, board, index, urls[index], paths[index], digests[index],
                    overwrite=overwrite, skip_if_same=skip_if_same, keep_partial=keep_partial,
                )

        await asyncio.gather(*(worker() for _ in range(min(max_concurrent, len(urls)))))
    return [o for o in outcomes if o is not None]


async def _one(
    handler: DownloadHandler, board: _Board, index: int, url: str, path: str | Path,
    digest: str | None, *, overwrite: bool, skip_if_same: bool, keep_partial: bool,
) -> FileOutcome:
    try:
        result = await handler.download(
            url, path, sha256=digest, overwrite=overwrite, skip_if_same=skip_if_same,
            progress=board.per_file(index), keep_partial=keep_partial,
        )
        outcome = FileOutcome(url, result.path, result=result)
    except DownloadError as exc:
        outcome = FileOutcome(url, Path(path), error=exc)
    except Exception as exc:  # one file's surprise must not take the others down
        error = DownloadError(f"{type(exc).__name__}: {exc}", url=url, path=path)
        error.__cause__ = exc
        outcome = FileOutcome(url, Path(path), error=error)
    await board.finish(index, outcome)
    return outcome


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


def _paths_for(
    urls: Sequence[str], local_paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]
) -> list[str | Path]:
    if isinstance(urls, str):
        raise ConfigurationError("urls: expected a list of URLs, got one string")
    if isinstance(local_paths, (str, os.PathLike)):
        folder = os.fspath(local_paths)
        folder = folder if folder.endswith(("/", os.sep)) else folder + os.sep
        return [folder] * len(urls)  # the trailing separator marks "a folder"
    paths: list[str | Path] = [Path(p) for p in local_paths]
    if len(paths) != len(urls):
        raise ConfigurationError(
            f"local_paths: {len(paths)} paths for {len(urls)} URLs; give one per URL or a folder"
        )
    return paths


def _show_handler_keywords() -> None:
    """List the handler's keywords in ``download_files_concurrently``'s signature."""
    own = inspect.signature(download_files_concurrently)
    handler = [p for name, p in inspect.signature(DownloadHandler).parameters.items()
               if name in HandlerOptions.__annotations__]
    fixed = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    download_files_concurrently.__signature__ = own.replace(  # type: ignore[attr-defined]
        parameters=[*fixed, *handler]
    )


_show_handler_keywords()

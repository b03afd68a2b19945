"""``DownloadHandler``: resumable, verified downloads on an :class:`HttpClient`.

One call, step by step::

    plan the target (a file path, or a folder + a safe name from the URL / Content-Disposition)
    -> attempts, each guarded by a stall watchdog:
         GET (Range + If-Range when a partial file exists) -> 200 restarts, 206 appends
         -> stream chunks into ".{name}.part" beside the target, hashing as they arrive
    -> transient failures (connection, timeout, 429/5xx, stall, short body) wait a backoff
       from the RetryPolicy and resume
    -> size and checksum verified -> the part file renamed onto the target.

A failed or cancelled call leaves nothing behind: the part file is removed, the target is
either the old file or the complete new one.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import inspect
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pepperpy_core._hashing import sha256_file
from pepperpy_core.behaviours.backoff import parse_retry_after
from pepperpy_core.behaviours.retry import RetryPolicy
from pepperpy_core.download.naming import filename_for, target_in
from pepperpy_core.download.progress import DownloadProgress, DownloadProgressTracker
from pepperpy_core.exceptions import (
    ChecksumMismatchError,
    ConfigurationError,
    DownloadError,
    DownloadStalledException,
    TransportError,
)
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.factory import ClientRef
from pepperpy_core.http.models import Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["DownloadHandler", "DownloadResult", "ProgressCallback"]

_log = get_logger("pepperpy_core.download")

#: Called with a :class:`DownloadProgress` after each chunk; may be sync or async.
ProgressCallback = Callable[[DownloadProgress], Any]

_SHA256 = re.compile(r"\b[0-9a-fA-F]{64}\b")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
MiB = 1024 * 1024


@dataclass(frozen=True)
class DownloadResult:
    """What one successful download produced.

    ``bytes`` is the file's size; ``sha256`` its hex digest when a checksum was checked (or
    ``compute_sha256=True``), else None; ``resumed`` is True when a later attempt continued a
    partial transfer; ``skipped`` is True when an identical file was already there.
    """

    url: str
    path: Path
    bytes: int
    sha256: str | None
    resumed: bool
    attempts: int
    elapsed: float
    skipped: bool = False


class _Retryable(DownloadError):
    """An attempt failed in a way the next attempt may fix (status, short body, bad range)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


@dataclass
class _Job:
    """The mutable state of one download call, kept across its attempts."""

    url: str
    target: Path | None
    directory: Path | None
    expected_sha: str | None
    expected_size: int | None
    overwrite: bool
    skip_if_same: bool
    hashing: bool
    progress: ProgressCallback | None
    tracker: DownloadProgressTracker
    validator: str | None = None
    total: int | None = None
    written: int = 0
    attempts: int = 0
    resumed: bool = False
    skipped: bool = False
    settled: bool = False
    hasher: Any = field(default=None)

    @property
    def part(self) -> Path | None:
        if self.target is None:
            return None
        return self.target.with_name(f".{self.target.name}.part")

    def restart(self) -> None:
        """Forget the bytes received so far (the next write starts the file afresh)."""
        self.written = 0
        self.hasher = hashlib.sha256() if self.hashing else None

    def discard(self) -> None:
        """Remove the part file (failure or cancellation)."""
        part = self.part
        if part is not None:
            try:
                part.unlink(missing_ok=True)
            except OSError:  # pragma: no cover - nothing more we can do
                pass


class DownloadHandler:
    """Downloads files through an :class:`HttpClient` (or a raw aiohttp/httpx client, wrapped
    over the same session by :func:`~pepperpy_core.http.factory.as_http_client`).

    - ``chunk_size``: bytes read and written at a time (default 1 MiB); memory stays constant.
    - ``max_retries``: attempts after the first one; each resumes where the last stopped.
    - ``retry_policy``: backoff and Retry-After handling between attempts (its ``total`` is
      replaced by ``max_retries``); None: 0.5 s doubling up to 30 s, with jitter.
    - ``min_speed``: bytes/s below which a transfer is stalled; None disables the check.
    - ``stall_window``: seconds under ``min_speed`` before the attempt is abandoned with
      :class:`DownloadStalledException` (then retried like any transient failure).
    - ``progress``: default callback for every download (sync or async), given a
      :class:`DownloadProgress` after each chunk.
    - ``sleep`` / ``clock``: injected time (pass a FakeClock's ``sleep`` and ``time``).
    """

    def __init__(
        self,
        client: Any,
        *,
        chunk_size: int = MiB,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        min_speed: float | None = 1.0,
        stall_window: float = 60.0,
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if chunk_size <= 0:
            raise ConfigurationError("DownloadHandler: chunk_size must be > 0 bytes")
        if max_retries < 0:
            raise ConfigurationError("DownloadHandler: max_retries must be >= 0")
        if stall_window <= 0:
            raise ConfigurationError("DownloadHandler: stall_window must be > 0 seconds")
        self._client = ClientRef(client)
        self.chunk_size = chunk_size
        self.policy = (retry_policy or RetryPolicy()).with_(total=max_retries)
        self.min_speed = min_speed
        self.stall_window = stall_window
        self.progress = progress
        self._sleep = sleep
        self._clock = clock
        #: The error behind the last ``download_file()`` that returned False.
        self.last_error: DownloadError | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def client(self) -> HttpClient:
        """The HttpClient downloads go through (a raw client is wrapped on first use)."""
        return self._client.get()

    async def aclose(self) -> None:
        """Close the wrapper made around a raw client (the raw client itself stays open)."""
        await self._client.aclose()

    async def __aenter__(self) -> DownloadHandler:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ----------------------------------------------------------------- public API

    async def download_file(
        self, url: str, local_path: str | os.PathLike[str], **options: Any
    ) -> bool:
        """Download ``url`` to ``local_path``; True on success, False on failure (the reason
        is logged and kept in :attr:`last_error`). Options as for :meth:`download`."""
        try:
            await self.download(url, local_path, **options)
        except DownloadError as exc:
            self.last_error = exc
            _log.warning("download.failed", url=redact_url(url), reason=str(exc))
            return False
        self.last_error = None
        return True

    async def download(
        self,
        url: str,
        local_path: str | os.PathLike[str],
        *,
        sha256: str | None = None,
        checksum_url: str | None = None,
        overwrite: bool = True,
        skip_if_same: bool = False,
        expected_size: int | None = None,
        compute_sha256: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download ``url``; return a :class:`DownloadResult` or raise :class:`DownloadError`.

        - ``local_path``: the file to write, or an existing folder (or a path ending in ``/``)
          to put it in under a safe name from the server's ``Content-Disposition`` or the URL.
          Parent folders are created.
        - ``sha256``: expected hex digest; ``checksum_url``: a ``sha256sum``-style file to
          read it from. A mismatch raises :class:`ChecksumMismatchError` and leaves no file.
        - ``overwrite``: False refuses to replace an existing file (DownloadError).
        - ``skip_if_same``: keep an existing file with the expected checksum, or (without one)
          the size the server announces, and make no transfer.
        - ``expected_size``: bytes; a different size from the server is an error.
        - ``compute_sha256``: compute ``result.sha256`` even without an expected checksum.
        - ``progress``: callback for this call (default: the handler's).
        """
        started = self._clock()
        job = await self._plan(
            url, Path(local_path), str(local_path).endswith(("/", os.sep)), sha256,
            checksum_url, overwrite, skip_if_same, expected_size, compute_sha256, progress,
        )
        try:
            if not await self._settle_existing(job, None):
                await self._attempts(job)
        except BaseException:
            job.discard()
            raise
        return self._result(job, self._clock() - started)

    # ----------------------------------------------------------------- planning

    async def _plan(
        self, url: str, path: Path, is_dir_hint: bool, sha256: str | None,
        checksum_url: str | None, overwrite: bool, skip_if_same: bool,
        expected_size: int | None, compute_sha256: bool, progress: ProgressCallback | None,
    ) -> _Job:
        if sha256 is not None and checksum_url is not None:
            raise ConfigurationError("pass sha256= or checksum_url=, not both")
        directory, target = _place(path, is_dir_hint, url)
        expected = _checked_sha(sha256) if sha256 is not None else None
        if checksum_url is not None:
            expected = await self._fetch_checksum(checksum_url, url, target)
        job = _Job(
            url=url, target=target, directory=directory, expected_sha=expected,
            expected_size=expected_size, overwrite=overwrite, skip_if_same=skip_if_same,
            hashing=compute_sha256 or expected is not None, progress=progress or self.progress,
            tracker=DownloadProgressTracker(
                expected_size, url=url, min_speed=self.min_speed,
                stall_window=self.stall_window, clock=self._clock,
            ),
        )
        job.restart()
        if job.part is not None:
            job.discard()  # a part file from an earlier run has no validator we can trust
        return job

    async def _fetch_checksum(self, checksum_url: str, url: str, target: Path | None) -> str:
        try:
            response = await self.client.get(checksum_url)
            text = await response.text(errors="replace")
        except TransportError as exc:
            raise DownloadError(
                f"cannot fetch checksum {redact_url(checksum_url)}: {exc}", url=url
            ) from exc
        if response.status != 200:
            raise DownloadError(
                f"checksum {redact_url(checksum_url)}: HTTP {response.status} {response.reason}",
                url=url,
            )
        return _parse_checksum(text, target.name if target else filename_for(url), checksum_url)

    async def _settle_existing(self, job: _Job, announced: int | None) -> bool:
        """Whether an existing target can be kept as is (True: skip the transfer). Raises
        when it exists, differs, and ``overwrite`` is False."""
        target = job.target
        if target is None:
            return False
        job.settled = True
        if not target.is_file():
            return False
        if job.skip_if_same:
            same = await self._same_file(job, target, announced)
            if same:
                job.skipped = True
                job.written = target.stat().st_size
                return True
            if same is None:
                job.settled = False  # decide once the server announces a size
                return False
        if not job.overwrite:
            raise DownloadError(
                f"{target} already exists (overwrite=False)", url=job.url, path=target
            )
        return False

    @staticmethod
    async def _same_file(job: _Job, target: Path, announced: int | None) -> bool | None:
        if job.expected_sha is not None:
            return await asyncio.to_thread(sha256_file, target) == job.expected_sha
        size = job.expected_size if job.expected_size is not None else announced
        if size is None:
            return None
        return _size_of(target) == size

    # ----------------------------------------------------------------- attempts

    async def _attempts(self, job: _Job) -> None:
        while True:
            job.attempts += 1
            try:
                await self._guarded(job)
                self._commit(job)
                if job.progress is not None:
                    await _call(job.progress, job.tracker.snapshot(done=True))
                return
            except (TransportError, DownloadStalledException, _Retryable) as exc:
                if job.attempts > self.policy.total:
                    raise _final(job, exc) from exc
                delay = self._delay(job, exc)
                _log.debug(
                    "download.retry", url=redact_url(job.url), attempt=job.attempts,
                    received=job.written, wait_s=round(delay, 3), reason=str(exc),
                )
                await self._sleep(delay)
            except DownloadError as exc:
                exc.attempts, exc.url = job.attempts, job.url
                exc.path = exc.path or job.target
                raise

    def _delay(self, job: _Job, exc: Exception) -> float:
        asked = getattr(exc, "retry_after", None)
        if asked is not None and self.policy.respect_retry_after:
            return float(min(asked, self.policy.retry_after_max))
        return self.policy.backoff(job.attempts)

    async def _guarded(self, job: _Job) -> None:
        """One attempt, abandoned when the stall watchdog fires."""
        job.tracker.restart_window(job.written)
        if self.min_speed is None:
            await self._attempt(job)
            return
        work = asyncio.ensure_future(self._attempt(job))
        watchdog = asyncio.ensure_future(self._watch(job.tracker))
        try:
            await asyncio.wait({work, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watchdog.cancel()
            if not work.done():
                work.cancel()
            await asyncio.wait({work, watchdog})
        if not watchdog.cancelled() and watchdog.exception() is not None:
            raise watchdog.exception()  # type: ignore[misc]
        work.result()

    async def _watch(self, tracker: DownloadProgressTracker) -> None:
        interval = min(1.0, self.stall_window / 4)
        while True:
            await self._sleep(interval)
            tracker.check_stall()

    async def _attempt(self, job: _Job) -> None:
        offset = job.written if (job.written and job.validator) else 0
        if offset == 0 and job.written:
            job.restart()  # no validator: resuming could splice two versions of the file
        headers = (
            {"Range": f"bytes={offset}-", "If-Range": job.validator or ""} if offset else {}
        )
        async with self.client.stream(
            "GET", job.url, headers=headers or None, retries=0
        ) as response:
            start = self._accept(job, response, offset)
            if start is None:
                return  # 416 for a part that is already complete
            if not job.settled:
                self._name(job, response)
                if await self._settle_existing(job, job.total):
                    return
            await self._receive(job, response, start)

    def _accept(self, job: _Job, response: Response, offset: int) -> int | None:
        """Check the status and headers; return the offset the body starts at."""
        status = response.status
        if status == 206 and offset:
            return self._accept_partial(job, response, offset)
        if status == 200:
            if offset:
                _log.debug("download.restart", url=redact_url(job.url), reason="no 206")
            job.restart()
            self._learn(job, response, _content_length(response))
            return 0
        if status == 416 and offset:
            total = _range_total(response.headers.get("content-range", ""))
            if total == offset:
                job.total = total
                return None
            job.restart()
            raise _Retryable(f"server refused range bytes={offset}- (HTTP 416); restarting")
        raise _status_error(job, response)

    def _accept_partial(self, job: _Job, response: Response, offset: int) -> int:
        found = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if found is None or int(found.group(1)) != offset:
            job.restart()
            raise _Retryable("server sent a range that does not continue the file; restarting")
        total = None if found.group(3) == "*" else int(found.group(3))
        self._learn(job, response, total)
        job.resumed = True
        _log.debug("download.resume", url=redact_url(job.url), offset=offset, total=total)
        return offset

    @staticmethod
    def _learn(job: _Job, response: Response, total: int | None) -> None:
        if job.expected_size is not None and total is not None and total != job.expected_size:
            raise DownloadError(
                f"server announces {total} bytes, expected_size is {job.expected_size}"
            )
        job.total = total if total is not None else job.expected_size
        job.tracker.total = job.total
        etag = response.headers.get("etag", "")
        strong_etag = etag if etag and not etag.startswith("W/") else None
        job.validator = strong_etag or response.headers.get("last-modified")

    @staticmethod
    def _name(job: _Job, response: Response) -> None:
        if job.target is None and job.directory is not None:
            name = filename_for(job.url, response.headers.get("content-disposition"))
            job.target = target_in(job.directory, name)

    async def _receive(self, job: _Job, response: Response, start: int) -> None:
        part = job.part
        assert part is not None
        try:
            # Deliberately synchronous: a 1 MiB write lands in the page cache in well under a
            # millisecond, while a thread hop per chunk would cost more than it saves.
            with open(part, "r+b" if start else "wb") as sink:  # noqa: ASYNC230
                sink.truncate(start)
                sink.seek(start)
                async for chunk in response.iter_bytes(self.chunk_size):
                    sink.write(chunk)
                    if job.hasher is not None:
                        job.hasher.update(chunk)
                    job.written += len(chunk)
                    job.tracker.update(len(chunk))
                    if job.progress is not None:
                        await _call(job.progress, job.tracker.snapshot())
        except TransportError:
            raise
        except OSError as exc:
            raise _disk_error(exc, part, job.url) from exc
        if job.total is not None and job.written < job.total:
            raise _Retryable(f"connection closed after {job.written} of {job.total} bytes")
        if job.total is not None and job.written > job.total:
            job.restart()
            raise _Retryable(f"server sent {job.written} bytes, more than announced {job.total}")

    # ----------------------------------------------------------------- finishing

    def _commit(self, job: _Job) -> None:
        """Verify the checksum and move the part file onto the target."""
        if job.skipped:
            return
        part, target = job.part, job.target
        assert part is not None and target is not None
        if job.expected_sha is not None:
            actual = job.hasher.hexdigest()
            if actual != job.expected_sha:
                job.discard()
                raise ChecksumMismatchError(
                    f"sha256 mismatch for {redact_url(job.url)}: expected {job.expected_sha}, "
                    f"got {actual}; {target.name} was not written",
                    expected=job.expected_sha, actual=actual, url=job.url, path=target,
                )
        try:
            if not part.exists():
                part.touch()  # an empty body still produces its (empty) file
            os.replace(part, target)
        except OSError as exc:
            raise _disk_error(exc, target, job.url) from exc
        _log.debug("download.done", url=redact_url(job.url), bytes=job.written)

    def _result(self, job: _Job, elapsed: float) -> DownloadResult:
        assert job.target is not None
        digest = job.hasher.hexdigest() if job.hasher is not None and not job.skipped else None
        if job.skipped:
            digest = job.expected_sha
        return DownloadResult(
            url=job.url, path=job.target, bytes=job.written, sha256=digest,
            resumed=job.resumed, attempts=job.attempts, elapsed=elapsed, skipped=job.skipped,
        )


# --------------------------------------------------------------------- helpers


async def _call(callback: ProgressCallback, progress: DownloadProgress) -> None:
    outcome = callback(progress)
    if inspect.isawaitable(outcome):
        await outcome


def _place(path: Path, is_dir_hint: bool, url: str) -> tuple[Path | None, Path | None]:
    """``(directory, target)``: a folder to name the file in, or the file itself; the
    folder (or the file's parent) is created."""
    directory = path if (is_dir_hint or path.is_dir()) else None
    target = None if directory is not None else path.absolute()
    _make_parents(directory if directory is not None else path.absolute().parent, url)
    return directory, target


def _size_of(path: Path) -> int:
    return path.stat().st_size


def _make_parents(folder: Path, url: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, folder, url) from exc


def _checked_sha(value: str) -> str:
    digest = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ConfigurationError(f"sha256: expected 64 hex digits, got {value!r}")
    return digest


def _parse_checksum(text: str, name: str, source: str) -> str:
    """The digest for ``name`` in a ``sha256sum``-style text (or its only digest)."""
    lines = [line for line in text.splitlines() if _SHA256.search(line)]
    for line in lines:
        if line.rstrip().endswith(name):
            return _SHA256.search(line).group(0).lower()  # type: ignore[union-attr]
    if lines:
        return _SHA256.search(lines[0]).group(0).lower()  # type: ignore[union-attr]
    raise DownloadError(f"no sha256 digest found in {redact_url(source)}")


def _content_length(response: Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _range_total(content_range: str) -> int | None:
    _, _, total = content_range.rpartition("/")
    return int(total) if total.isdigit() else None


def _status_error(job: _Job, response: Response) -> DownloadError:
    text = f"HTTP {response.status} {response.reason} for {redact_url(job.url)}"
    if response.status == 429 or response.status >= 500:
        asked = parse_retry_after(response.headers.get("retry-after"))
        return _Retryable(text, retry_after=asked, url=job.url, response=response)
    return DownloadError(text, url=job.url, path=job.target, response=response)


def _disk_error(exc: OSError, path: Path, url: str) -> DownloadError:
    reason = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return DownloadError(f"cannot write {path}: {reason}", url=url, path=path)


def _final(job: _Job, exc: Exception) -> DownloadError:
    """The error reported when the attempts run out, naming the last reason."""
    where = redact_url(job.url)
    message = f"download of {where} failed after {job.attempts} attempt(s): {exc}"
    error: DownloadError
    if isinstance(exc, DownloadStalledException):
        error = DownloadStalledException(message, url=job.url, path=job.target)
    else:
        error = DownloadError(message, url=job.url, path=job.target)
    error.attempts = job.attempts
    error.response = getattr(exc, "response", None)
    return error

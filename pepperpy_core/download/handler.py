"""``DownloadHandler``: resumable, verified downloads on an :class:`HttpClient`.

One call, step by step::

    plan the target (a file path, or a folder + a safe name from the URL / Content-Disposition)
    -> attempts, each guarded by a stall watchdog:
         GET (Accept-Encoding: identity; Range + If-Range when a partial file exists with a
         strong validator) -> 200 restarts, 206 appends only when its complete length and
         validator match the first response's
         -> stream chunks into ".{name}.part" beside the target, hashing as they arrive;
            a sidecar ".{name}.part.json" records the URL's hash, the validator and the size
    -> transient failures (connection, timeout, 429/5xx, stall, short body) wait a backoff
       from the RetryPolicy and resume
    -> size and checksum verified -> the part file renamed onto the target.

Nothing is ever under the target's name until it is complete and verified. A failed,
cancelled or killed call keeps a resumable part file and its sidecar (``keep_partial=True``,
the default), which the next call (in this process or another) continues after checking the
validator, like ``wget -c``; ``keep_partial=False`` removes them instead.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import inspect
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict

from typing_extensions import Unpack

from pepperpy_core._backoff import parse_retry_after
from pepperpy_core._hashing import sha256_file
from pepperpy_core.config import check_count
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
from pepperpy_core.http.retry import RetryPolicy
from pepperpy_core.logging import get_logger, redact_url

__all__ = [
    "DownloadHandler", "DownloadOptions", "DownloadResult", "HandlerOptions", "ProgressCallback",
]

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
    keep_partial: bool = True
    validator: str | None = None
    total: int | None = None
    encoded: bool = False
    checked_disk: bool = False
    hashed: int = 0
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

    @property
    def sidecar(self) -> Path | None:
        part = self.part
        return None if part is None else part.with_name(part.name + ".json")

    def restart(self) -> None:
        """Forget the bytes received so far (the next write starts the file afresh)."""
        self.written = 0
        self.hashed = 0
        self.validator = None
        self.hasher = hashlib.sha256() if self.hashing else None

    def resumable(self) -> bool:
        """Whether the part file on disk can be continued by a later call."""
        return bool(self.written and self.validator and self.total and not self.encoded)

    def discard(self) -> None:
        """Remove the part file and its sidecar."""
        for path in (self.part, self.sidecar):
            if path is not None:
                try:
                    path.unlink(missing_ok=True)
                except OSError:  # pragma: no cover - nothing more we can do
                    pass

    def leave(self) -> None:
        """On failure or cancellation: keep a resumable part (``keep_partial``) or remove it."""
        if self.keep_partial and self.resumable():
            _log.debug(
                "download.kept_partial", url=redact_url(self.url), path=str(self.part),
                received=self.written, total=self.total,
            )
            return
        self.discard()

    def save_sidecar(self) -> None:
        """Record what a later call needs to continue the part file (no secret in clear)."""
        sidecar = self.sidecar
        if sidecar is None:
            return
        if not (self.validator and self.total) or self.encoded:
            sidecar.unlink(missing_ok=True)  # this part cannot be resumed: no stale record
            return
        record = {
            "format": 1, "url": redact_url(self.url), "url_sha256": _url_key(self.url),
            "validator": self.validator, "total": self.total,
        }
        temporary = sidecar.with_name(sidecar.name + ".tmp")
        temporary.write_text(json.dumps(record))
        os.replace(temporary, sidecar)

    def load_sidecar(self) -> bool:
        """Take over a part file left by an earlier call for the same URL; False if none
        (or it does not belong to this URL, or is damaged: then it is removed)."""
        self.checked_disk = True
        part, sidecar = self.part, self.sidecar
        if part is None or sidecar is None or not part.is_file():
            return False
        try:
            record = json.loads(sidecar.read_text())
            size = part.stat().st_size
            fits = (
                record.get("format") == 1 and record.get("url_sha256") == _url_key(self.url)
                and isinstance(record.get("validator"), str) and record["validator"]
                and isinstance(record.get("total"), int) and 0 < size <= record["total"]
            )
        except (OSError, ValueError, AttributeError):
            fits = False
        if not fits:
            self.discard()
            return False
        self.written, self.validator, self.total = size, record["validator"], record["total"]
        self.tracker.total = self.total
        _log.debug("download.found_partial", url=redact_url(self.url), received=size)
        return True


class HandlerOptions(TypedDict, total=False):
    """:class:`DownloadHandler`'s keywords but ``progress``, for the functions that make one
    (``download_files_concurrently(..., chunk_size=...)``); a test keeps the lists the same."""

    chunk_size: int
    max_retries: int
    retry_policy: RetryPolicy | None
    min_speed: float | None
    stall_window: float
    sleep: Callable[[float], Awaitable[Any]]
    clock: Callable[[], float]


class DownloadOptions(TypedDict, total=False):
    """:meth:`DownloadHandler.download`'s keywords, which :meth:`~DownloadHandler.download_file`
    takes too; a test keeps the lists the same."""

    sha256: str | None
    checksum_url: str | None
    overwrite: bool
    skip_if_same: bool
    expected_size: int | None
    compute_sha256: bool
    progress: ProgressCallback | None
    keep_partial: bool


class DownloadHandler:
    """Downloads files through an :class:`HttpClient` (or a raw aiohttp/httpx client, wrapped
    over the same session by :func:`~pepperpy_core.http.factory.as_http_client`).

    - ``chunk_size``: bytes read and written at a time (default 1 MiB); memory stays constant.
    - ``max_retries``: retries after the first attempt (``3``: at most 4 attempts; ``0``: one),
      each resuming where the last stopped.
    - ``retry_policy``: backoff, Retry-After and deadline between attempts, the same rules as
      the HTTP retry layer (its ``total`` is replaced by ``max_retries``; a ``Retry-After``
      above its ``retry_after_max`` ends the retries); None: 0.5 s doubling up to 30 s, with
      jitter.
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
        check_count("DownloadHandler", "max_retries", max_retries, 0)
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
        self, url: str, local_path: str | os.PathLike[str], **options: Unpack[DownloadOptions]
    ) -> bool:
        """Download ``url`` to ``local_path``; True on success, False on failure (the reason
        is logged and kept in :attr:`last_error`). Options as for :meth:`download`."""
        try:
            await self.download(url, local_path, **options)
        except DownloadError as exc:
            self.last_error = exc
            _log.error("download.failed", url=redact_url(url), reason=redact_text(str(exc)))
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
        keep_partial: bool = True,
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
        - ``keep_partial``: when the call fails or is cancelled, keep a resumable part file
          and its sidecar for the next call to continue (True), or remove them (False).
        """
        started = self._clock()
        job = await self._plan(
            url, Path(local_path), str(local_path).endswith(("/", os.sep)), sha256,
            checksum_url, overwrite, skip_if_same, expected_size, compute_sha256, progress,
        )
        job.keep_partial = keep_partial
        try:
            if not await self._settle_existing(job, None):
                await self._attempts(job)
        except BaseException:
            job.leave()
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
        backoff = self.policy.start_backoff(sleep=self._sleep, clock=self._clock)
        while True:
            job.attempts = backoff.attempts
            try:
                while not await self._guarded(job):
                    pass  # the server's answer showed another file: start again from zero
                self._commit(job)
                if job.progress is not None:
                    await _call(job.progress, job.tracker.snapshot(done=True))
                return
            except (TransportError, DownloadStalledException, _Retryable) as exc:
                asked = getattr(exc, "retry_after", None)
                delay = backoff.next_delay(asked if self.policy.respect_retry_after else None)
                if delay is None:
                    raise _final(job, exc) from exc
                _log.warning(
                    "download.retry", url=redact_url(job.url), attempt=job.attempts,
                    received=job.written, wait_s=round(delay, 3), reason=redact_text(str(exc)),
                )
                await backoff.sleep(delay)
            except DownloadError as exc:
                exc.attempts, exc.url = job.attempts, redact_url(job.url)
                exc.path = exc.path or job.target
                raise

    async def _guarded(self, job: _Job) -> bool:
        """One attempt, abandoned when the stall watchdog fires; False: repeat it at once."""
        job.tracker.restart_window(job.written)
        if self.min_speed is None:
            return await self._attempt(job)
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
        return work.result()

    async def _watch(self, tracker: DownloadProgressTracker) -> None:
        interval = min(1.0, self.stall_window / 4)
        while True:
            await self._sleep(interval)
            tracker.check_stall()

    async def _attempt(self, job: _Job) -> bool:
        """One request; False when it must be repeated at once from byte zero."""
        if not job.checked_disk:
            _find_partial(job)
            job.tracker.restart_window(job.written)  # progress counts the bytes already kept
        offset = job.written if (job.written and job.validator and job.total) else 0
        if offset == 0 and job.written:
            job.restart()  # no strong validator: resuming could splice two versions
        headers = {"Accept-Encoding": "identity"}  # the file on disk is the server's bytes
        if offset:
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = job.validator  # type: ignore[assignment]
        async with self.client.stream("GET", job.url, headers=headers, retries=0) as response:
            start = self._accept(job, response, offset)
            if start is None:
                return True  # 416 for a part that is already complete
            if start < 0:
                return False
            if not job.settled:
                self._name(job, response)
                if not job.checked_disk and job.load_sidecar():
                    return False  # a part of this file from an earlier call: resume it
                job.checked_disk = True
                if await self._settle_existing(job, job.total):
                    return True
            await self._receive(job, response, start)
        return True

    def _accept(self, job: _Job, response: Response, offset: int) -> int | None:
        """Check the status and headers; return the offset the body starts at (-1: the
        answer is for another version of the file, start again from zero)."""
        status = response.status
        if status == 206 and offset:
            return self._accept_partial(job, response, offset)
        if status == 200:
            if offset:
                _log.debug("download.restart", url=redact_url(job.url), reason="no 206")
            job.restart()
            self._learn(job, response)
            return 0
        if status == 416 and offset:
            total = _range_total(response.headers.get("content-range", ""))
            if total == offset == job.total:
                return None
            job.restart()
            return -1
        raise _status_error(job, response)

    def _accept_partial(self, job: _Job, response: Response, offset: int) -> int:
        """A 206 continues the file only when it is the same file: the range starts where
        the part ends, the complete length is the one first announced, the validators (when
        sent again) are unchanged and the body is not re-encoded."""
        headers = response.headers
        found = _CONTENT_RANGE.match(headers.get("content-range", ""))
        total = int(found.group(3)) if found is not None and found.group(3) != "*" else None
        reason = None
        if found is None or int(found.group(1)) != offset:
            reason = "range does not continue the part file"
        elif total != job.total:
            reason = f"complete length {total} differs from the {job.total} first announced"
        elif _encoded(response):
            reason = "partial body is content-encoded"
        elif not _same_validator(job.validator or "", headers):
            reason = "validator changed"
        if reason is not None:
            _log.debug("download.restart", url=redact_url(job.url), reason=reason)
            job.restart()
            return -1
        job.resumed = True
        _log.debug("download.resume", url=redact_url(job.url), offset=offset, total=total)
        return offset

    @staticmethod
    def _learn(job: _Job, response: Response) -> None:
        """What a 200 says about the file: its size and a strong validator, if any."""
        job.encoded = _encoded(response)
        total = None if job.encoded else _content_length(response)
        if job.expected_size is not None and total is not None and total != job.expected_size:
            raise DownloadError(
                f"server announces {total} bytes, expected_size is {job.expected_size}"
            )
        job.total = total if total is not None else job.expected_size
        job.tracker.total = job.total
        job.validator = None if job.encoded else _strong_validator(response.headers)

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
            if job.hasher is not None and job.hashed != start:
                job.hasher = await asyncio.to_thread(_hash_prefix, part, start)
                job.hashed = start
            with open(part, "r+b" if start else "wb") as sink:  # noqa: ASYNC230
                sink.truncate(start)
                sink.seek(start)
                if not start:
                    job.save_sidecar()  # after the truncation: never an old part, new record
                async for chunk in response.iter_bytes(self.chunk_size):
                    sink.write(chunk)
                    if job.hasher is not None:
                        job.hasher.update(chunk)
                        job.hashed += len(chunk)
                    job.written += len(chunk)
                    job.tracker.update(len(chunk))
                    if job.progress is not None:
                        await _call(job.progress, job.tracker.snapshot())
        except TransportError:
            raise
        except OSError as exc:
            raise _disk_error(exc, part, job.url) from exc
        if job.encoded and job.expected_size is not None and job.written != job.expected_size:
            job.restart()
            raise DownloadError(
                f"decoded body is {job.written} bytes, expected_size is {job.expected_size}"
            )
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
                job.restart()
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
        job.discard()  # the sidecar (the part file is the target now)
        _log.info("download.done", url=redact_url(job.url), bytes=job.written)

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

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (a wrapped error's
    message may quote a URL with an ``api_key=`` or a proxy password)."""
    return _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)


def _url_key(url: str) -> str:
    """What a sidecar stores to recognise its URL: a hash, so no secret is kept in clear."""
    return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()


def _find_partial(job: _Job) -> None:
    """Before the first request: adopt a part file an earlier call left for this URL."""
    if job.target is not None:
        job.load_sidecar()
        return
    if job.directory is None:  # pragma: no cover - _place always gives one or the other
        return
    job.target = target_in(job.directory, filename_for(job.url))
    if not job.load_sidecar():
        job.target, job.checked_disk = None, False  # the server may name it otherwise


def _hash_prefix(path: Path, size: int) -> Any:
    """A sha256 fed with the first ``size`` bytes of ``path`` (a part from an earlier call)."""
    hasher = hashlib.sha256()
    with open(path, "rb") as source:
        left = size
        while left:
            block = source.read(min(left, MiB))
            if not block:
                break
            hasher.update(block)
            left -= len(block)
    return hasher


def _encoded(response: Response) -> bool:
    coding = response.headers.get("content-encoding", "").strip().lower()
    return coding not in ("", "identity")


def _strong_validator(headers: Any) -> str | None:
    """A validator If-Range may carry (RFC 9110 sections 13.1.5 and 8.8.2.2): a strong ETag,
    else a Last-Modified at least one second older than the response's own Date."""
    etag = headers.get("etag", "")
    if etag:
        return None if etag.startswith("W/") else etag
    modified, date = headers.get("last-modified"), headers.get("date")
    if not modified or not date:
        return None
    try:
        gap = (parsedate_to_datetime(date) - parsedate_to_datetime(modified)).total_seconds()
    except (TypeError, ValueError):
        return None
    return modified if gap >= 1 else None


def _same_validator(validator: str, headers: Any) -> bool:
    """A 206 that names a validator names ours (an ETag, or the Last-Modified date)."""
    name = "etag" if validator.startswith(('"', "W/")) else "last-modified"
    sent = headers.get(name)
    return sent is None or sent == validator


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
        return _Retryable(text, retry_after=asked, url=redact_url(job.url), response=response)
    return DownloadError(text, url=redact_url(job.url), path=job.target, response=response)


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
    message = redact_text(f"download of {where} failed after {job.attempts} attempt(s): {exc}")
    error: DownloadError
    if isinstance(exc, DownloadStalledException):
        error = DownloadStalledException(message, url=where, path=job.target)
    else:
        error = DownloadError(message, url=where, path=job.target)
    error.attempts = job.attempts
    error.response = getattr(exc, "response", None)
    return error


# download_file takes download's keywords: show them (inspect.signature, help(), IDEs).
DownloadHandler.download_file.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    DownloadHandler.download
).replace(return_annotation="bool")

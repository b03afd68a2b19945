"""``VisionDownloadManager``: Binance Vision files downloaded, verified and parsed.

The I/O layer over the pure Vision code: every file goes through a
:class:`~pepperpy_core.download.DownloadHandler` on an :class:`~pepperpy_core.HttpClient`, so
retries, rate limits, resumption, stall detection and metrics all apply. Each zip is checked
against its published ``.CHECKSUM`` before it is kept; a mismatch is retried once, then raised.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pepperpy_core.download.handler import DownloadHandler
from pepperpy_core.exceptions import (
    ChecksumMismatchError,
    ConfigurationError,
    DownloadError,
    PepperPyError,
    VisionDataNotFoundError,
    VisionError,
)
from pepperpy_core.http.client import HttpClient
from pepperpy_core.http.factory import ClientRef
from pepperpy_core.logging import get_logger
from pepperpy_core.vision.checksum import parse_checksum, sha256_file
from pepperpy_core.vision.columns import schema_for
from pepperpy_core.vision.frame import VisionFrame, concat
from pepperpy_core.vision.listing import (
    DEFAULT_LISTING_URL,
    ListingEntry,
    listing_prefix,
    listing_url,
    parse_listing,
)
from pepperpy_core.vision.parse import Engine, read_archive
from pepperpy_core.vision.paths import DEFAULT_BASE_URL, RangePlan, VisionFile, plan_range

__all__ = ["VisionDownloadManager", "VisionFileResult", "VisionRangeResult"]

_log = get_logger("pepperpy_core.vision")


@dataclass(frozen=True)
class VisionFileResult:
    """One archive file: where its verified zip is, and whether it was fetched or reused."""

    spec: VisionFile
    path: Path
    bytes: int
    from_cache: bool


@dataclass(frozen=True)
class VisionRangeResult:
    """What :meth:`VisionDownloadManager.download_range` produced.

    ``frame`` holds the rows of the range (trimmed to it), ``files`` the verified zips used,
    ``missing_days`` the days the archive has no file for (HTTP 404) and ``not_yet_published``
    requested days from today on. ``bytes_downloaded`` counts only what crossed the network.
    """

    frame: VisionFrame
    files: tuple[VisionFileResult, ...]
    missing_days: tuple[dt.date, ...]
    not_yet_published: tuple[dt.date, ...] = ()
    elapsed: float = 0.0
    bytes_downloaded: int = field(default=0)
    #: Files that failed (bad checksum after a retry, unsafe zip...), with ``strict=False``.
    failed: tuple[tuple[VisionFile, PepperPyError], ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def cached_files(self) -> int:
        return sum(1 for f in self.files if f.from_cache)


class VisionDownloadManager:
    """Downloads Binance Vision data for one symbol and data type.

    - ``client``: an :class:`HttpClient` (preferred), a raw ``aiohttp.ClientSession`` or
      ``httpx.AsyncClient`` (wrapped over the same session), or None to make one.
    - ``symbol``, ``interval`` (kline types only), ``market`` (``spot``, ``futures/um``,
      ``futures/cm``), ``data_type`` (``klines``, ``aggTrades``, ``trades``, mark/index/premium
      index klines).
    - ``base_url``: the archive root (a mirror, or a local server in tests).
    - ``cache_dir``: folder where verified zips are kept in the archive's layout and reused on
      the next call; None: a temporary folder per call, removed afterwards.
    - ``max_concurrent``: files downloaded at once by :meth:`download_range`.
    - ``prefer_monthly``: use one monthly file for every whole, completed month in a range.
    - ``engine``: CSV parser, ``"auto"`` (pyarrow when installed, else numpy), ``"numpy"`` or
      ``"pyarrow"``.
    - ``max_retries``, ``progress``: passed to the download handler.
    - ``today``: a callable giving today's UTC date (injectable for tests).
    """

    def __init__(
        self,
        client: Any = None,
        symbol: str = "BTCUSDT",
        interval: str | None = "1m",
        *,
        market: str = "spot",
        data_type: str = "klines",
        base_url: str = DEFAULT_BASE_URL,
        listing_base_url: str = DEFAULT_LISTING_URL,
        cache_dir: str | os.PathLike[str] | None = None,
        max_concurrent: int = 4,
        prefer_monthly: bool = True,
        engine: Engine = "auto",
        max_retries: int = 3,
        progress: Any = None,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ConfigurationError("VisionDownloadManager: max_concurrent must be >= 1")
        self.symbol = symbol.upper()
        self.market = market
        self.data_type = data_type
        self.interval = interval if data_type.lower().endswith("klines") else None
        # Validate the combination once, the same way every file will be built, then check
        # that we can parse it: both fail early with a message naming the bad value.
        self._template(dt.date(2024, 1, 1))
        schema_for(market, data_type)
        self.base_url = base_url.rstrip("/")
        self.listing_base_url = listing_base_url
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_concurrent = max_concurrent
        self.prefer_monthly = prefer_monthly
        self.engine: Engine = engine
        self._client = ClientRef(client, make=lambda: HttpClient(timeout=300.0))
        self._max_retries = max_retries
        self._progress = progress
        self._today = today or (lambda: dt.datetime.now(dt.timezone.utc).date())

    # ----------------------------------------------------------------- lifecycle

    @property
    def client(self) -> HttpClient:
        """The HttpClient every download goes through (made or wrapped on first use)."""
        return self._client.get()

    async def close(self) -> None:
        """Close the HttpClient this manager made or wrapped (a client you passed stays open)."""
        await self._client.aclose()

    aclose = close

    async def __aenter__(self) -> VisionDownloadManager:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ----------------------------------------------------------------- one day

    async def download_date(
        self, date: dt.date | dt.datetime, *, missing_ok: bool = False
    ) -> VisionFrame:
        """The rows of one UTC day (a date, or a datetime converted to its UTC date).

        A day the archive has no file for raises :class:`VisionDataNotFoundError` (or, with
        ``missing_ok=True``, gives an empty frame)."""
        day = _utc_date(date)
        spec = self._template(day)
        with self._workdir() as folder:
            try:
                found = await self.fetch(spec, folder=folder)
            except VisionDataNotFoundError:
                if missing_ok:
                    return VisionFrame.empty(schema_for(self.market, self.data_type))
                raise
            return await self._parse(found)

    # ----------------------------------------------------------------- a range

    def plan(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> RangePlan:
        """The files :meth:`download_range` will fetch for ``start`` to ``end`` (no I/O)."""
        return plan_range(
            _utc_date(start), _utc_date(end), market=self.market, data_type=self.data_type,
            symbol=self.symbol, interval=self.interval, today=self._today(),
            prefer_monthly=self.prefer_monthly,
        )

    async def download_range(
        self,
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime,
        *,
        strict: bool = True,
        on_file: Callable[[VisionFile, str], Any] | None = None,
    ) -> VisionRangeResult:
        """The rows of the days ``start`` to ``end`` inclusive, downloaded concurrently.

        Whole completed months use one monthly file (falling back to the month's daily files
        when the monthly one is not published yet); verified files in ``cache_dir`` are reused;
        days without a file are listed in ``missing_days`` instead of failing the call. A file
        that fails otherwise (checksum still wrong after a retry, unsafe or broken zip) raises
        once every other file is done; with ``strict=False`` it is listed in ``failed``.
        ``on_file(spec, status)`` is called as each file ends, with status ``"downloaded"``,
        ``"cached"``, ``"missing"``, ``"fallback"`` (a monthly file replaced by daily ones)
        or ``"failed"``."""
        first, last = _utc_date(start), _utc_date(end)
        started = time.monotonic()
        plan = self.plan(first, last)
        report = on_file or (lambda spec, status: None)
        with self._workdir() as folder:
            gate = asyncio.Semaphore(self.max_concurrent)
            outcomes = await asyncio.gather(
                *(self._fetch_or_fall_back(spec, folder, gate, report) for spec in plan.files)
            )
            found = [r for o in outcomes for r in o.found]
            failed = [f for o in outcomes for f in o.failed]
            missing = sorted({d for o in outcomes for d in o.missing if first <= d <= last})
            frames: list[VisionFrame] = []
            for item in found:
                try:
                    frames.append(await self._parse(item))
                except VisionError as exc:
                    failed.append((item.spec, exc))
            if failed and strict:
                raise failed[0][1]
            found = [r for r in found if all(r.spec != spec for spec, _ in failed)]
        schema = schema_for(self.market, self.data_type)
        frame = concat(frames) if frames else VisionFrame.empty(schema)
        frame = frame.between(first, last + dt.timedelta(days=1))
        result = VisionRangeResult(
            frame=frame, files=tuple(found), missing_days=tuple(missing),
            not_yet_published=plan.not_yet_published, elapsed=time.monotonic() - started,
            bytes_downloaded=sum(r.bytes for r in found if not r.from_cache),
            failed=tuple(failed),
        )
        _log.info(
            "vision.range", symbol=self.symbol, data_type=self.data_type, files=len(found),
            rows=result.rows, missing_days=len(missing), cached=result.cached_files,
        )
        return result

    async def _fetch_or_fall_back(
        self,
        spec: VisionFile,
        folder: Path,
        gate: asyncio.Semaphore,
        report: Callable[[VisionFile, str], Any],
    ) -> _Outcome:
        try:
            async with gate:
                found = await self.fetch(spec, folder=folder)
            report(spec, "cached" if found.from_cache else "downloaded")
            return _Outcome(found=[found])
        except VisionDataNotFoundError:
            if spec.frequency != "monthly" or self.interval in ("3d", "1w", "1mo"):
                report(spec, "missing")
                return _Outcome(missing=spec.days())
        except PepperPyError as exc:
            report(spec, "failed")
            return _Outcome(failed=[(spec, exc)])
        _log.info("vision.monthly_missing", file=spec.filename, fallback="daily files")
        report(spec, "fallback")
        parts = await asyncio.gather(
            *(self._fetch_or_fall_back(d, folder, gate, report) for d in spec.daily_files())
        )
        return _Outcome(
            found=[r for p in parts for r in p.found],
            missing=[d for p in parts for d in p.missing],
            failed=[f for p in parts for f in p.failed],
        )

    # ----------------------------------------------------------------- one file

    async def fetch(self, spec: VisionFile, *, folder: Path | None = None) -> VisionFileResult:
        """Make sure the verified zip of ``spec`` is on disk; return where it is.

        Raises :class:`VisionDataNotFoundError` on a 404 and :class:`ChecksumMismatchError`
        when the zip still does not match its checksum after one retry."""
        root = folder or self.cache_dir
        if root is None:
            raise ConfigurationError("fetch() needs folder= when the manager has no cache_dir")
        target = root / spec.path
        sums = target.with_name(spec.checksum_filename)
        cached = _verified_copy(target, sums)
        if cached is not None:
            return VisionFileResult(spec, target, cached, from_cache=True)
        for attempt in (1, 2):
            expected = await self._published_checksum(spec)
            try:
                async with self._handler() as handler:
                    done = await handler.download(spec.url(self.base_url), target, sha256=expected)
            except ChecksumMismatchError as exc:
                if attempt == 2:
                    raise ChecksumMismatchError(
                        f"{spec.filename} does not match its published checksum after a retry "
                        f"(expected {exc.expected}, got {exc.actual}); the file was not kept",
                        expected=exc.expected, actual=exc.actual, url=exc.url, path=target,
                    ) from exc
                _log.warning("vision.checksum_mismatch", file=spec.filename, retry=True)
                continue
            except DownloadError as exc:
                if exc.response is not None and exc.response.status == 404:
                    raise self._not_found(spec) from exc
                raise
            _write_atomic(sums, f"{expected}  {spec.filename}\n".encode())
            return VisionFileResult(spec, target, done.bytes, from_cache=False)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _published_checksum(self, spec: VisionFile) -> str:
        response = await self.client.get(spec.checksum_url(self.base_url))
        if response.status == 404:
            raise self._not_found(spec)
        if response.status != 200:
            raise VisionError(
                f"checksum of {spec.filename}: HTTP {response.status} {response.reason}",
                response=response,
            )
        return parse_checksum(await response.read(), filename=spec.filename)

    def _handler(self) -> DownloadHandler:
        return DownloadHandler(self.client, max_retries=self._max_retries, progress=self._progress)

    def _not_found(self, spec: VisionFile) -> VisionDataNotFoundError:
        when = spec.date.strftime("%Y-%m" if spec.frequency == "monthly" else "%Y-%m-%d")
        return VisionDataNotFoundError(
            f"no {self.symbol} {spec.data_type} data on {self.market} for {when}: the archive "
            f"has no {spec.filename} (HTTP 404); daily files appear the day after, monthly "
            "ones a few days into the next month, and some days are missing",
            url=spec.url(self.base_url), date=spec.date,
        )

    async def _parse(self, found: VisionFileResult) -> VisionFrame:
        # Parsing millions of rows is CPU work: keep the event loop free meanwhile.
        return await asyncio.to_thread(read_archive, found.path, found.spec, engine=self.engine)

    # ----------------------------------------------------------------- listing

    async def list_files(
        self, *, frequency: str = "daily", max_pages: int = 1000
    ) -> list[ListingEntry]:
        """Every file the archive lists for this symbol and data type (the S3 listing, read
        page by page)."""
        prefix = listing_prefix(
            self.market, self.data_type, self.symbol, frequency=frequency, interval=self.interval
        )
        entries: list[ListingEntry] = []
        marker: str | None = None
        for _ in range(max_pages):
            url = listing_url(prefix, base=self.listing_base_url, marker=marker)
            response = (await self.client.get(url)).raise_for_status()
            page = parse_listing(await response.read())
            entries.extend(page.entries)
            marker = page.continue_after
            if marker is None:
                return entries
        raise VisionError(f"listing of {prefix} did not end after {max_pages} pages")

    # ----------------------------------------------------------------- helpers

    def _template(self, day: dt.date) -> VisionFile:
        return VisionFile(
            market=self.market, data_type=self.data_type, symbol=self.symbol, date=day,
            interval=self.interval,
        )

    def _workdir(self) -> Any:
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            return _Fixed(self.cache_dir)
        return _Temporary()


@dataclass
class _Outcome:
    found: list[VisionFileResult] = field(default_factory=list)
    missing: list[dt.date] = field(default_factory=list)
    failed: list[tuple[VisionFile, PepperPyError]] = field(default_factory=list)


class _Fixed:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        return None


class _Temporary:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="pepperpy-vision-")

    def __enter__(self) -> Path:
        return Path(self._dir.name)

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def _utc_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.date()
    return value


def _verified_copy(target: Path, sums: Path) -> int | None:
    """The size of ``target`` when it and its saved checksum agree; None otherwise."""
    if not (target.is_file() and sums.is_file()):
        return None
    try:
        expected = parse_checksum(sums.read_bytes(), filename=target.name)
    except VisionError:
        return None
    if sha256_file(target) != expected:
        _log.warning("vision.cache_corrupt", file=target.name)
        return None
    return target.stat().st_size


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


"""``VisionDownloadManager``: Binance Vision files downloaded, verified and parsed.

The I/O layer over the pure Vision code: every file goes through a
:class:`~pepperpy_core.download.DownloadHandler` on an :class:`~pepperpy_core.HttpClient`, so
retries, rate limits, resumption, stall detection and metrics all apply. Each zip is checked
against its published ``.CHECKSUM`` before it is kept; a mismatch is retried once, then raised.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote

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
from pepperpy_core.vision.archive import DEFAULT_MAX_RATIO, DEFAULT_MAX_SIZE
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
from pepperpy_core.vision.paths import (
    DEFAULT_BASE_URL,
    INTERVALS,
    MONTHLY_ONLY_INTERVALS,
    MONTHLY_ONLY_TYPES,
    RangePlan,
    VisionFile,
    frequencies,
    plan_range,
)
from pepperpy_core.vision.quality import (
    Disagreement,
    FileQuality,
    QualityReport,
    check_file,
    compare_monthly_daily,
    drop_duplicates,
)

__all__ = ["VisionDownloadManager", "VisionFileResult", "VisionRangeResult"]

_log = get_logger("pepperpy_core.vision")


@dataclass(frozen=True)
class VisionFileResult:
    """One archive file: where its verified zip is, and whether it was fetched or reused."""

    spec: VisionFile
    path: Path
    bytes: int
    from_cache: bool
    #: True when a cached copy no longer matched the published checksum (the file was
    #: replaced upstream) and was downloaded again.
    replaced: bool = False


@dataclass(frozen=True)
class VisionRangeResult:
    """What :meth:`VisionDownloadManager.download_range` produced.

    ``frame`` holds the rows of the range (trimmed to it), ``files`` the verified zips used,
    ``missing_days`` the days the archive has no file for (HTTP 404 past the grace window),
    ``not_yet_published`` requested days from today on and days whose file is late but still
    inside the grace window, ``after_series_end`` days after a stopped series' last day,
    ``replaced`` the cached files that changed upstream and were fetched again, ``quality``
    the gaps, duplicates and monthly/daily disagreements found. ``bytes_downloaded`` counts
    only what crossed the network.
    """

    frame: VisionFrame
    files: tuple[VisionFileResult, ...]
    missing_days: tuple[dt.date, ...]
    not_yet_published: tuple[dt.date, ...] = ()
    elapsed: float = 0.0
    bytes_downloaded: int = field(default=0)
    #: Files that failed (bad checksum after a retry, unsafe zip...), with ``strict=False``.
    failed: tuple[tuple[VisionFile, PepperPyError], ...] = ()
    after_series_end: tuple[dt.date, ...] = ()
    replaced: tuple[VisionFile, ...] = ()
    quality: QualityReport = field(default_factory=QualityReport)

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
      ``futures/cm``, ``option``), ``data_type`` (any type the market publishes: ``klines``,
      ``aggTrades``, ``trades``, mark/index/premium index klines, ``bookTicker``,
      ``bookDepth``, ``metrics``, ``liquidationSnapshot``, ``fundingRate``, ``BVOLIndex``,
      ``EOHSummary``; see :data:`~pepperpy_core.vision.paths.DATA_TYPES`).
    - ``base_url``: the archive root (a mirror, or a local server in tests).
    - ``cache_dir``: folder where verified zips are kept in the archive's layout and reused on
      the next call; None: a temporary folder per call, removed afterwards.
    - ``max_concurrent``: files downloaded at once by :meth:`download_range`.
    - ``prefer_monthly``: use one monthly file for every whole, completed month in a range.
    - ``engine``: CSV parser, ``"auto"`` (polars when installed, else pyarrow), ``"polars"``
      or ``"pyarrow"``.
    - ``revalidate``: when a cached zip is checked against the published ``.CHECKSUM`` again
      (a ~100-byte conditional request): ``"never"``, ``"always"``, or a ``timedelta`` since
      the last check (default one day). A file replaced upstream is downloaded again and
      reported (``VisionFileResult.replaced``, ``VisionRangeResult.replaced``).
    - ``grace``: how long after its last day a file may still be unpublished (default two
      days): a 404 inside the window is "not yet published", after it "missing".
    - ``drop_duplicates``: drop duplicate rows (same key, first kept); they are counted in the
      quality report either way.
    - ``cross_check``: also fetch the daily files of each monthly file and report the days on
      which they disagree (done anyway for daily files already in ``cache_dir``).
    - ``max_size``, ``max_ratio``: bounds on a zip's inflated size (bytes) and ratio; a zip
      bomb is refused before it is inflated.
    - ``max_retries``, ``progress``: passed to the download handler.
    - ``today``, ``clock``: today's UTC date and the wall clock in seconds (injectable).
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
        listing_base_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        max_concurrent: int = 4,
        prefer_monthly: bool = True,
        engine: Engine = "auto",
        revalidate: Literal["never", "always"] | dt.timedelta = dt.timedelta(days=1),
        grace: dt.timedelta = dt.timedelta(days=2),
        drop_duplicates: bool = False,
        cross_check: bool = False,
        max_size: int | None = DEFAULT_MAX_SIZE,
        max_ratio: float | None = DEFAULT_MAX_RATIO,
        max_retries: int = 3,
        progress: Any = None,
        today: Callable[[], dt.date] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_concurrent < 1:
            raise ConfigurationError("VisionDownloadManager: max_concurrent must be >= 1")
        if not (revalidate in ("never", "always") or isinstance(revalidate, dt.timedelta)):
            raise ConfigurationError(
                f"revalidate: {revalidate!r} is not valid; expected 'never', 'always' or a "
                "datetime.timedelta"
            )
        if not isinstance(grace, dt.timedelta) or grace < dt.timedelta(0):
            raise ConfigurationError(f"grace: {grace!r} is not valid; expected a timedelta >= 0")
        self.symbol = symbol.upper()
        self.market = market
        self.data_type = data_type
        self.interval = interval if data_type.endswith(("klines", "Klines")) else None
        self.revalidate = revalidate
        self.grace = grace
        self.drop_duplicates = drop_duplicates
        self.cross_check = cross_check
        self.max_size = max_size
        self.max_ratio = max_ratio
        self._clock = clock
        # Validate the combination once, the same way every file will be built, then check
        # that we can parse it: both fail early with a message naming the bad value.
        self._template(dt.date(2024, 1, 1))
        schema_for(market, data_type)
        self.base_url = base_url.rstrip("/")
        if listing_base_url is None:  # the real archive lists through S3; a mirror itself
            custom = self.base_url != DEFAULT_BASE_URL
            listing_base_url = self.base_url + "/" if custom else DEFAULT_LISTING_URL
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
        """The rows of one UTC day (a date, or a datetime converted to its UTC date). For
        monthly-only intervals and types the month's file is fetched and cut to the day.

        A day the archive has no file for raises :class:`VisionDataNotFoundError` (or, with
        ``missing_ok=True``, gives an empty frame)."""
        day = _utc_date(date)
        spec = self._template(day)
        with self._workdir() as folder:
            try:
                stop = spec.series_end
                if stop is not None and day > stop:
                    raise VisionDataNotFoundError(
                        f"{spec.data_type} on {self.market} is not published after {stop} "
                        "(the series stopped)", url=spec.url(self.base_url), date=day,
                    )  # fmt: skip
                found = await self.fetch(spec, folder=folder)
            except VisionDataNotFoundError:
                if missing_ok:
                    return VisionFrame.empty(schema_for(self.market, self.data_type))
                raise
            frame = (await self._parse(found))[0]
        if spec.frequency == "monthly":
            frame = frame.between(day, day + dt.timedelta(days=1))
        return frame

    # ----------------------------------------------------------------- a range

    def plan(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> RangePlan:
        """The files :meth:`download_range` will fetch for ``start`` to ``end`` (no I/O)."""
        return plan_range(
            _utc_date(start),
            _utc_date(end),
            market=self.market,
            data_type=self.data_type,
            symbol=self.symbol,
            interval=self.interval,
            today=self._today(),
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
        when the monthly one is not published yet); verified files in ``cache_dir`` are reused
        (re-checked per ``revalidate``); days without a file are listed in ``missing_days``
        (or ``not_yet_published`` inside the grace window) instead of failing the call. A file
        that fails otherwise (checksum still wrong after a retry, unsafe or broken zip) raises
        once every other file is done; with ``strict=False`` it is listed in ``failed``.
        ``on_file(spec, status)`` is called as each file ends, with status ``"downloaded"``,
        ``"cached"``, ``"replaced"``, ``"missing"``, ``"late"`` (not published yet, inside the
        grace window), ``"fallback"`` (a monthly file replaced by daily ones) or ``"failed"``."""
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
            late = {d for o in outcomes for d in o.late if first <= d <= last}
            frames: list[VisionFrame] = []
            qualities: list[FileQuality] = []
            parsed: dict[VisionFile, VisionFrame] = {}
            for item in found:
                try:
                    frame, quality = await self._parse(item)
                except VisionError as exc:
                    failed.append((item.spec, exc))
                    continue
                frames.append(frame)
                qualities.append(quality)
                parsed[item.spec] = frame
            disagreements = await self._cross_check(parsed, folder, gate)
            if failed and strict:
                raise failed[0][1]
            found = [r for r in found if all(r.spec != spec for spec, _ in failed)]
        schema = schema_for(self.market, self.data_type)
        frame = concat(frames) if frames else VisionFrame.empty(schema)
        frame = frame.between(first, last + dt.timedelta(days=1))
        result = VisionRangeResult(
            frame=frame,
            files=tuple(found),
            missing_days=tuple(missing),
            not_yet_published=tuple(sorted(late | set(plan.not_yet_published))),
            elapsed=time.monotonic() - started,
            bytes_downloaded=sum(r.bytes for r in found if not r.from_cache),
            failed=tuple(failed),
            after_series_end=plan.after_series_end,
            replaced=tuple(r.spec for r in found if r.replaced),
            quality=QualityReport(tuple(qualities), tuple(disagreements)),
        )
        _log.info(
            "vision.range",
            symbol=self.symbol,
            data_type=self.data_type,
            files=len(found),
            rows=result.rows,
            missing_days=len(missing),
            cached=result.cached_files,
            replaced=len(result.replaced),
            duplicates=result.quality.duplicates,
            missing_open_times=result.quality.missing_open_times,
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
            status = "replaced" if found.replaced else "cached" if found.from_cache else None
            report(spec, status or "downloaded")
            return _Outcome(found=[found])
        except VisionDataNotFoundError:
            monthly_only = self.interval in MONTHLY_ONLY_INTERVALS or (
                self.data_type in MONTHLY_ONLY_TYPES
            )
            if spec.frequency != "monthly" or monthly_only:
                if self._today() - spec.last_day <= self.grace:
                    report(spec, "late")
                    return _Outcome(late=spec.days())
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
            late=[d for p in parts for d in p.late],
        )

    async def _cross_check(
        self, parsed: dict[VisionFile, VisionFrame], folder: Path, gate: asyncio.Semaphore
    ) -> list[Disagreement]:
        """Monthly against daily: the daily files of each monthly file in ``parsed`` that are
        on disk already (or, with ``cross_check``, fetched now)."""
        out: list[Disagreement] = []
        for spec, monthly in parsed.items():
            if spec.frequency != "monthly" or "daily" not in _frequencies(spec):
                continue
            if spec.interval in MONTHLY_ONLY_INTERVALS:
                continue
            dailies: dict[VisionFile, VisionFrame] = {}
            for day in spec.daily_files():
                if self.cross_check:
                    try:
                        async with gate:
                            found = await self.fetch(day, folder=folder)
                    except VisionDataNotFoundError:
                        continue
                else:
                    target = folder / day.path
                    size = _verified_copy(target, target.with_name(day.checksum_filename))
                    if size is None:
                        continue
                    found = VisionFileResult(day, target, size, from_cache=True)
                dailies[day] = (await self._parse(found))[0]
            out.extend(compare_monthly_daily(monthly, spec, dailies))
        return out

    # ----------------------------------------------------------------- one file

    async def fetch(self, spec: VisionFile, *, folder: Path | None = None) -> VisionFileResult:
        """Make sure the verified zip of ``spec`` is on disk; return where it is.

        A cached copy is re-checked against the published ``.CHECKSUM`` when ``revalidate``
        says so, and downloaded again when it changed upstream (``replaced=True``). Raises
        :class:`VisionDataNotFoundError` on a 404 and :class:`ChecksumMismatchError` when the
        zip still does not match its checksum after one retry."""
        root = folder or self.cache_dir
        if root is None:
            raise ConfigurationError("fetch() needs folder= when the manager has no cache_dir")
        target = root / spec.path
        sums = target.with_name(spec.checksum_filename)
        cached = _verified_copy(target, sums)
        replaced = False
        published: _Published | None = None
        if cached is not None:
            state = _State.load(target)
            if not self._due(state):
                return VisionFileResult(spec, target, cached, from_cache=True)
            published = await self._published_checksum(spec, state)
            if published.digest is None or published.digest == _saved_digest(sums, target):
                _State(published.etag or state.etag, self._clock()).save(target)
                return VisionFileResult(spec, target, cached, from_cache=True)
            replaced = True
            _log.warning("vision.replaced_upstream", file=spec.filename)
        for attempt in (1, 2):
            if published is None or published.digest is None:
                published = await self._published_checksum(spec, _State())
            expected = published.digest
            assert expected is not None
            try:
                async with self._handler() as handler:
                    done = await handler.download(spec.url(self.base_url), target, sha256=expected)
            except ChecksumMismatchError as exc:
                if attempt == 2:
                    raise ChecksumMismatchError(
                        f"{spec.filename} does not match its published checksum after a retry "
                        f"(expected {exc.expected}, got {exc.actual}); the file was not kept",
                        expected=exc.expected,
                        actual=exc.actual,
                        url=exc.url,
                        path=target,
                    ) from exc
                _log.warning("vision.checksum_mismatch", file=spec.filename, retry=True)
                published = None
                continue
            except DownloadError as exc:
                if exc.response is not None and exc.response.status == 404:
                    raise self._not_found(spec) from exc
                raise
            _write_atomic(sums, f"{expected}  {spec.filename}\n".encode())
            _State(published.etag, self._clock()).save(target)
            return VisionFileResult(spec, target, done.bytes, from_cache=False, replaced=replaced)
        raise AssertionError("unreachable")  # pragma: no cover

    def _due(self, state: _State) -> bool:
        """Whether a cached copy last checked at ``state.checked_at`` is to be re-checked."""
        if self.revalidate == "never":
            return False
        if self.revalidate == "always" or state.checked_at is None:
            return True
        assert isinstance(self.revalidate, dt.timedelta)
        return self._clock() - state.checked_at >= self.revalidate.total_seconds()

    async def _published_checksum(self, spec: VisionFile, state: _State) -> _Published:
        """The published digest; ``digest=None`` when the server says it is unchanged (304)
        since ``state.etag``."""
        headers = {"If-None-Match": state.etag} if state.etag else {}
        response = await self.client.get(spec.checksum_url(self.base_url), headers=headers)
        etag = response.headers.get("ETag")
        if response.status == 304:
            return _Published(None, etag or state.etag)
        if response.status == 404:
            raise self._not_found(spec)
        if response.status != 200:
            raise VisionError(
                f"checksum of {spec.filename}: HTTP {response.status} {response.reason}",
                response=response,
            )
        return _Published(parse_checksum(await response.read(), filename=spec.filename), etag)

    def _handler(self) -> DownloadHandler:
        return DownloadHandler(self.client, max_retries=self._max_retries, progress=self._progress)

    def _not_found(self, spec: VisionFile) -> VisionDataNotFoundError:
        when = spec.date.strftime("%Y-%m" if spec.frequency == "monthly" else "%Y-%m-%d")
        return VisionDataNotFoundError(
            f"no {self.symbol} {spec.data_type} data on {self.market} for {when}: the archive "
            f"has no {spec.filename} (HTTP 404); daily files appear the day after, monthly "
            "ones a few days into the next month, and some days are missing",
            url=spec.url(self.base_url),
            date=spec.date,
        )

    async def _parse(self, found: VisionFileResult) -> tuple[VisionFrame, FileQuality]:
        # Parsing millions of rows is CPU work: keep the event loop free meanwhile.
        return await asyncio.to_thread(self._parse_now, found)

    def _parse_now(self, found: VisionFileResult) -> tuple[VisionFrame, FileQuality]:
        frame = read_archive(
            found.path, found.spec, engine=self.engine, max_size=self.max_size,
            max_ratio=self.max_ratio,
        )  # fmt: skip
        dropped = 0
        if self.drop_duplicates:
            frame, dropped = drop_duplicates(frame)
        return frame, check_file(frame, found.spec, dropped=dropped)

    # ----------------------------------------------------------------- listing

    async def _list(self, prefix: str, max_pages: int) -> tuple[list[ListingEntry], list[str]]:
        """Every entry and sub-folder under ``prefix``, page by page (``marker``)."""
        entries: list[ListingEntry] = []
        folders: list[str] = []
        marker: str | None = None
        for _ in range(max_pages):
            url = listing_url(prefix, base=self.listing_base_url, marker=marker)
            response = (await self.client.get(url)).raise_for_status()
            page = parse_listing(await response.read())
            entries.extend(page.entries)
            folders.extend(page.common_prefixes)
            marker = page.continue_after
            if marker is None:
                return entries, folders
        raise VisionError(f"listing of {prefix} did not end after {max_pages} pages")

    async def list_files(
        self, *, frequency: str = "daily", max_pages: int = 1000
    ) -> list[ListingEntry]:
        """Every file the archive lists for this symbol and data type (the S3 listing, read
        page by page)."""
        prefix = listing_prefix(
            self.market, self.data_type, self.symbol, frequency=frequency, interval=self.interval
        )
        return (await self._list(prefix, max_pages))[0]

    async def list_symbols(
        self, *, frequency: str | None = None, max_pages: int = 1000
    ) -> list[str]:
        """The symbols the archive has for this manager's market and data type (sorted);
        ``frequency`` defaults to daily where the type has daily files."""
        freq = frequency or _frequencies(self._template(dt.date(2024, 1, 1)))[0]
        prefix = listing_prefix(self.market, self.data_type, frequency=freq)
        folders = (await self._list(prefix, max_pages))[1]
        return sorted(unquote(f[len(prefix) :].strip("/")) for f in folders if f.startswith(prefix))

    async def list_intervals(
        self, *, frequency: str | None = None, max_pages: int = 1000
    ) -> list[str]:
        """The kline intervals the archive has for this symbol and data type (its interval
        folders), in the order of :data:`~pepperpy_core.vision.paths.INTERVALS`; empty for a
        symbol it lacks and for types without intervals."""
        if self.interval is None:
            return []
        freq = frequency or _frequencies(self._template(dt.date(2024, 1, 1)))[0]
        prefix = listing_prefix(self.market, self.data_type, self.symbol, frequency=freq)
        folders = (await self._list(prefix, max_pages))[1]
        found = {f[len(prefix) :].strip("/") for f in folders if f.startswith(prefix)}
        return [i for i in INTERVALS if i in found]

    async def list_dates(
        self, *, frequency: str | None = None, max_pages: int = 1000
    ) -> list[dt.date]:
        """The dates (first days, for monthly files) the archive has files for, for this
        symbol, data type and interval, sorted."""
        freq = frequency or _frequencies(self._template(dt.date(2024, 1, 1)))[0]
        dates = set()
        for entry in await self.list_files(frequency=freq, max_pages=max_pages):
            if entry.key.endswith(".zip"):
                dates.add(VisionFile.from_path(entry.key).date)
        return sorted(dates)

    # ----------------------------------------------------------------- helpers

    def _template(self, day: dt.date) -> VisionFile:
        monthly = self.interval in MONTHLY_ONLY_INTERVALS or self.data_type in MONTHLY_ONLY_TYPES
        return VisionFile(
            market=self.market,
            data_type=self.data_type,
            symbol=self.symbol,
            date=day,
            interval=self.interval,
            frequency="monthly" if monthly else "daily",
        )

    def _workdir(self) -> Any:
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            return _Fixed(self.cache_dir)
        return _Temporary()


def _frequencies(spec: VisionFile) -> tuple[str, ...]:
    return frequencies(spec.market, spec.data_type)


@dataclass(frozen=True)
class _Published:
    digest: str | None
    etag: str | None


@dataclass(frozen=True)
class _State:
    """What the last check of a cached zip learnt: the checksum's ETag and when (epoch s).
    Kept in a small JSON file beside the zip (``.<name>.state.json``)."""

    etag: str | None = None
    checked_at: float | None = None

    @staticmethod
    def _path(target: Path) -> Path:
        return target.with_name(f".{target.name}.state.json")

    @classmethod
    def load(cls, target: Path) -> _State:
        try:
            data = json.loads(cls._path(target).read_text())
            return cls(data.get("etag"), float(data["checked_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, target: Path) -> None:
        body = json.dumps({"etag": self.etag, "checked_at": self.checked_at})
        _write_atomic(self._path(target), body.encode())


def _saved_digest(sums: Path, target: Path) -> str | None:
    try:
        return parse_checksum(sums.read_bytes(), filename=target.name)
    except (OSError, VisionError):
        return None


@dataclass
class _Outcome:
    found: list[VisionFileResult] = field(default_factory=list)
    missing: list[dt.date] = field(default_factory=list)
    failed: list[tuple[VisionFile, PepperPyError]] = field(default_factory=list)
    late: list[dt.date] = field(default_factory=list)


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

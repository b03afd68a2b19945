"""Kept current, late files, quality report, discovery and the 1w interval, against the local
archive server (pepperpy_core/testing/vision_server.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pepperpy_core import ConfigurationError, HttpClient, VisionDownloadManager
from pepperpy_core.testing.vision_server import (
    VisionArchiveServer,
    kline_csv,
    sample_csv,
    write_archive_file,
)
from pepperpy_core.vision import VisionFile

UTC = dt.timezone.utc


def kline(day: dt.date, interval: str = "1m", frequency: str = "daily",
          symbol: str = "BTCUSDT") -> VisionFile:  # fmt: skip
    return VisionFile(
        market="spot",
        data_type="klines",
        symbol=symbol,
        interval=interval,
        date=day,
        frequency=frequency,
    )  # type: ignore[arg-type]


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient() as c:
        yield c


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_replaced_upstream_file_is_noticed_and_fetched_again(
    tmp_path: Path, client: HttpClient
) -> None:
    """revalidate='always': an unchanged file costs one conditional .CHECKSUM request (304),
    a replaced one is downloaded again and reported; 'never' keeps the old copy silently."""
    root = tmp_path / "archive"
    spec = kline(dt.date(2024, 1, 1))
    write_archive_file(root, spec, kline_csv(midnight(spec.date), 1440))
    cache = tmp_path / "cache"
    statuses: list[str] = []
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(
            client=client,
            base_url=srv.base_url,
            cache_dir=cache,
            revalidate="always",
            today=lambda: dt.date(2024, 6, 1),
        )
        first = await mgr.download_range(spec.date, spec.date)
        assert first.rows == 1440 and first.replaced == ()
        again = await mgr.download_range(spec.date, spec.date)
        assert again.cached_files == 1 and again.bytes_downloaded == 0
        assert srv.count(spec.path) == 1 and srv.count(spec.path + ".CHECKSUM") == 2
        # Binance regenerates the file: fewer rows, new checksum.
        write_archive_file(root, spec, kline_csv(midnight(spec.date), 1000))
        never = VisionDownloadManager(
            client=client, base_url=srv.base_url, cache_dir=cache, revalidate="never"
        )
        assert len(await never.download_date(spec.date)) == 1440  # the old copy, no request
        assert srv.count(spec.path + ".CHECKSUM") == 2
        result = await mgr.download_range(
            spec.date, spec.date, on_file=lambda s, status: statuses.append(status)
        )
        assert result.replaced == (spec,) and result.rows == 1000
        assert result.files[0].replaced and not result.files[0].from_cache
        assert statuses == ["replaced"] and srv.count(spec.path) == 2


async def test_revalidate_after_an_age(tmp_path: Path, client: HttpClient) -> None:
    """revalidate=timedelta: no request while the last check is younger, one after."""
    root = tmp_path / "archive"
    spec = kline(dt.date(2024, 1, 1))
    write_archive_file(root, spec, kline_csv(midnight(spec.date), 60))
    clock = Clock()
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(
            client=client,
            base_url=srv.base_url,
            cache_dir=tmp_path / "c",
            clock=clock,
            revalidate=dt.timedelta(hours=1),
        )
        await mgr.download_date(spec.date)
        clock.now += 1800
        await mgr.download_date(spec.date)
        assert srv.count(spec.path + ".CHECKSUM") == 1
        clock.now += 3600
        await mgr.download_date(spec.date)
        assert srv.count(spec.path + ".CHECKSUM") == 2 and srv.count(spec.path) == 1


def test_revalidate_and_grace_are_validated() -> None:
    """Bad revalidate / grace values are clear errors naming the argument."""
    with pytest.raises(ConfigurationError, match=r"^revalidate"):
        VisionDownloadManager(revalidate="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^grace"):
        VisionDownloadManager(grace=dt.timedelta(days=-1))


@pytest.mark.parametrize(
    ("grace", "late", "missing"),
    [(dt.timedelta(days=2), 2, 0), (dt.timedelta(days=1), 1, 1), (dt.timedelta(0), 0, 2)],
)
async def test_late_files_inside_the_grace_window(
    tmp_path: Path, client: HttpClient, grace: dt.timedelta, late: int, missing: int
) -> None:
    """Files absent (404) within `grace` of today are 'not yet published', older ones missing."""
    root = tmp_path / "archive"
    day = dt.date(2024, 1, 1)
    write_archive_file(root, kline(day), kline_csv(midnight(day), 10))
    statuses: list[str] = []
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(
            client=client, base_url=srv.base_url, grace=grace, today=lambda: dt.date(2024, 1, 4)
        )
        result = await mgr.download_range(
            day, dt.date(2024, 1, 3), on_file=lambda s, status: statuses.append(status)
        )
    assert result.rows == 10
    assert len(result.missing_days) == missing and len(result.not_yet_published) == late
    assert statuses.count("late") == late


async def test_quality_report_gaps_and_duplicates(tmp_path: Path, client: HttpClient) -> None:
    """A kline file with two minutes missing and one row twice: expected against found rows,
    the missing open times, the duplicate; drop_duplicates removes it."""
    root = tmp_path / "archive"
    day = dt.date(2024, 1, 1)
    lines = kline_csv(midnight(day), 1440).splitlines(keepends=True)
    damaged = lines[:10] + lines[12:100] + [lines[99]] + lines[100:]
    write_archive_file(root, kline(day), b"".join(damaged))
    agg = VisionFile(market="futures/um", data_type="aggTrades", symbol="BTCUSDT", date=day)
    rows = sample_csv("futures/um", "aggTrades", midnight(day), 5, header=True)
    write_archive_file(root, agg, rows + rows.splitlines(keepends=True)[-1])
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(client=client, base_url=srv.base_url)
        result = await mgr.download_range(day, day)
        (quality,) = result.quality.files
        assert (quality.expected_rows, quality.rows) == (1440, 1439)
        assert quality.missing_open_times == (
            midnight(day) + dt.timedelta(minutes=10),
            midnight(day) + dt.timedelta(minutes=11),
        )
        assert quality.duplicates == 1 and not result.quality.ok
        summary = result.quality.summary()
        assert summary["missing_open_times"] == 2 and summary["duplicates"] == 1
        dropped = await VisionDownloadManager(
            client=client, base_url=srv.base_url, drop_duplicates=True
        ).download_range(day, day)
        assert dropped.rows == 1438 and dropped.quality.files[0].duplicates_dropped == 1
        trades = await VisionDownloadManager(
            client=client,
            base_url=srv.base_url,
            market="futures/um",
            data_type="aggTrades",
            drop_duplicates=True,
        ).download_range(day, day)
        assert trades.quality.duplicates == 1 and trades.rows == 5
        assert trades.quality.files[0].expected_rows is None


async def test_monthly_against_daily_disagreement(tmp_path: Path, client: HttpClient) -> None:
    """cross_check: the daily files of a monthly file are fetched and compared day by day."""
    root = tmp_path / "archive"
    month = kline(dt.date(2023, 2, 1), frequency="monthly")
    days = [kline_csv(midnight(spec.date), 1440) for spec in month.daily_files()]
    write_archive_file(root, month, b"".join(days))
    for spec, rows in zip(month.daily_files(), days, strict=True):
        if spec.date.day == 3:
            rows = b"".join(rows.splitlines(keepends=True)[:-5])  # the daily file is short
        write_archive_file(root, spec, rows)
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(
            client=client,
            base_url=srv.base_url,
            cross_check=True,
            cache_dir=tmp_path / "cache",
            max_concurrent=8,
        )
        result = await mgr.download_range(dt.date(2023, 2, 1), dt.date(2023, 2, 28))
        (d,) = result.quality.disagreements
        assert (d.day, d.monthly_rows, d.daily_rows) == (dt.date(2023, 2, 3), 1440, 1435)
        # Without cross_check the daily files already in the cache are compared too.
        mgr2 = VisionDownloadManager(
            client=client, base_url=srv.base_url, cache_dir=tmp_path / "cache"
        )
        again = await mgr2.download_range(dt.date(2023, 2, 1), dt.date(2023, 2, 28))
        assert [x.day for x in again.quality.disagreements] == [dt.date(2023, 2, 3)]


async def test_interval_1w_works(tmp_path: Path, client: HttpClient) -> None:
    """interval='1w' (monthly files only) downloads a range and a day."""
    root = tmp_path / "archive"
    month = kline(dt.date(2024, 1, 1), interval="1w", frequency="monthly")
    rows = kline_csv(dt.datetime(2024, 1, 1, tzinfo=UTC), 5, interval=dt.timedelta(weeks=1))
    write_archive_file(root, month, rows)
    async with VisionArchiveServer(root) as srv:
        mgr = VisionDownloadManager(
            client=client,
            symbol="BTCUSDT",
            interval="1w",
            base_url=srv.base_url,
            today=lambda: dt.date(2024, 3, 1),
        )
        result = await mgr.download_range(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
        assert result.rows == 5 and result.files[0].spec == month
        assert result.quality.files[0].expected_rows is None  # weeks are not a fixed grid
        day = await mgr.download_date(dt.date(2024, 1, 8))
        assert len(day) == 1


async def test_discovery_symbols_and_dates_over_pages(tmp_path: Path, client: HttpClient) -> None:
    """list_symbols / list_dates read every page of the S3 listing (page_size=2 here)."""
    root = tmp_path / "archive"
    for symbol in ("BTCUSDT", "ETHUSDT", "币安人生USDT"):
        for d in (1, 2, 3):
            spec = kline(dt.date(2024, 1, d), symbol=symbol)
            write_archive_file(root, spec, kline_csv(midnight(spec.date), 2))
    async with VisionArchiveServer(root, page_size=2) as srv:
        mgr = VisionDownloadManager(client=client, base_url=srv.base_url, symbol="币安人生USDT")
        assert await mgr.list_symbols() == ["BTCUSDT", "ETHUSDT", "币安人生USDT"]
        assert await mgr.list_dates() == [dt.date(2024, 1, d) for d in (1, 2, 3)]
        frame = await mgr.download_date(dt.date(2024, 1, 2))
        assert len(frame) == 2
        pages = [r for r in srv.requests if r.startswith("?")]
        assert len(pages) >= 3  # several listing pages were read

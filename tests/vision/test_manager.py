"""VisionDownloadManager against a local server holding archives in the real layout."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from pepperpy_core import (
    ChecksumMismatchError,
    HttpClient,
    UnsafeArchiveError,
    VisionDataNotFoundError,
    VisionDownloadManager,
    VisionError,
    create_client,
)
from pepperpy_core.testing.vision_server import (
    SampleArchive,
    VisionArchiveServer,
    build_sample_archive,
)

UTC = dt.timezone.utc
TODAY = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleArchive]:
    root = tmp_path_factory.mktemp("vision-archive")
    return root, build_sample_archive(root, trade_rows=50)


@pytest.fixture
async def srv(archive: tuple[Path, SampleArchive]) -> AsyncIterator[VisionArchiveServer]:
    async with VisionArchiveServer(archive[0], page_size=2) as server:
        yield server


def manager(srv: VisionArchiveServer, client: HttpClient, **kw: object) -> VisionDownloadManager:
    kw.setdefault("today", lambda: TODAY)
    return VisionDownloadManager(client=client, base_url=srv.base_url, **kw)  # type: ignore[arg-type]


async def test_spec_example_with_httpx_client(srv: VisionArchiveServer) -> None:
    """The documented example: an httpx client from create_client, one UTC day of klines."""
    client = create_client(client_type="httpx")
    mgr = VisionDownloadManager(
        client=client, symbol="BTCUSDT", interval="1m", base_url=srv.base_url
    )
    date = dt.datetime(2023, 1, 1, tzinfo=UTC)
    data = await mgr.download_date(date)
    await mgr.close()
    await client.aclose()
    assert len(data) == 1440
    first = data.datetimes("open_time")[0]
    assert first == np.datetime64("2023-01-01T00:00:00", "us")
    assert data["close"].dtype == np.float64 and data["number_of_trades"].dtype == np.int64


async def test_microsecond_days_normalised(srv: VisionArchiveServer) -> None:
    """2025 spot files in µs come out in the same unit as 2023 files in ms."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        old = await mgr.download_date(dt.date(2023, 1, 2))
        new = await mgr.download_date(dt.date(2025, 1, 2))
    assert new.source_time_unit == "us" and old.source_time_unit == "ms"
    assert new.datetimes("open_time")[0] == np.datetime64("2025-01-02T00:00:00", "us")
    assert old.datetimes("open_time")[0] == np.datetime64("2023-01-02T00:00:00", "us")


async def test_futures_header_row(srv: VisionArchiveServer) -> None:
    """A USD-M file with a header row parses to the same columns, header skipped."""
    async with HttpClient() as client:
        mgr = manager(srv, client, market="futures/um")
        frame = await mgr.download_date(dt.date(2024, 1, 1))
    assert len(frame) == 1440
    assert frame.datetimes("open_time")[0] == np.datetime64("2024-01-01T00:00:00", "us")


async def test_trades_both_boolean_spellings(srv: VisionArchiveServer) -> None:
    """Spot trades (True/False) and USD-M trades (true/false) both give boolean columns."""
    async with HttpClient() as client:
        spot = await manager(srv, client, data_type="trades").download_date(dt.date(2024, 1, 1))
        um = await manager(srv, client, market="futures/um", data_type="trades").download_date(
            dt.date(2024, 1, 1)
        )
    assert spot["is_buyer_maker"].dtype == np.bool_ and len(spot) == 50
    assert um["is_buyer_maker"].dtype == np.bool_ and "is_best_match" not in um.columns


async def test_missing_day_is_reported_clearly(srv: VisionArchiveServer) -> None:
    """A 404 raises VisionDataNotFoundError naming the day, or gives an empty frame."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        with pytest.raises(VisionDataNotFoundError, match=r"2023-01-03.*HTTP 404"):
            await mgr.download_date(dt.date(2023, 1, 3))
        empty = await mgr.download_date(dt.date(2023, 1, 3), missing_ok=True)
    assert len(empty) == 0


async def test_wrong_checksum_retried_once_then_error(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """A zip that never matches its checksum is fetched twice, then a clear error; the bad
    file is not kept under its name."""
    async with HttpClient() as client:
        mgr = manager(srv, client, cache_dir=tmp_path)
        with pytest.raises(ChecksumMismatchError, match="after a retry"):
            await mgr.download_date(dt.date(2023, 1, 4))
    spec = manager(srv, client)._template(dt.date(2023, 1, 4))
    assert srv.count(spec.path) == 2
    assert not (tmp_path / spec.path).exists()


async def test_checksum_mismatch_once_then_success(srv: VisionArchiveServer) -> None:
    """A corrupt transfer followed by a good one succeeds on the retry."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        spec = mgr._template(dt.date(2023, 1, 1))
        srv.override(spec.path, body=b"PK garbage", times=1)
        frame = await mgr.download_date(dt.date(2023, 1, 1))
    assert len(frame) == 1440 and srv.count(spec.path) == 2


async def test_traversal_and_truncated_zips_rejected(srv: VisionArchiveServer) -> None:
    """A zip with a ../ member raises UnsafeArchiveError; a truncated zip is caught by its
    checksum (or, if it matched, by the zip reader) and never parsed."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        with pytest.raises(UnsafeArchiveError):
            await mgr.download_date(dt.date(2023, 1, 5))
        with pytest.raises((VisionError, ChecksumMismatchError)):
            await mgr.download_date(dt.date(2023, 1, 6))


async def test_range_reports_missing_and_uses_cache(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """A range downloads each day once, lists the missing day, and a second call reuses
    the verified files without downloading them again."""
    async with HttpClient() as client:
        mgr = manager(srv, client, cache_dir=tmp_path, max_concurrent=2)
        result = await mgr.download_range(dt.date(2023, 1, 1), dt.date(2023, 1, 3))
        assert result.rows == 2 * 1440
        assert result.missing_days == (dt.date(2023, 1, 3),)
        assert result.bytes_downloaded > 0 and result.cached_files == 0
        again = await mgr.download_range(dt.date(2023, 1, 1), dt.date(2023, 1, 3))
    day1 = mgr._template(dt.date(2023, 1, 1)).path
    assert srv.count(day1) == 1
    assert again.cached_files == 2 and again.bytes_downloaded == 0 and again.rows == 2 * 1440


async def test_range_prefers_monthly_file(srv: VisionArchiveServer) -> None:
    """A whole completed month is fetched as one monthly file, no daily files."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        result = await mgr.download_range(dt.date(2023, 2, 1), dt.date(2023, 2, 28))
    assert result.rows == 28 * 1440
    assert [f.spec.frequency for f in result.files] == ["monthly"]
    assert not any("/daily/" in path for path in srv.requests)


async def test_monthly_missing_falls_back_to_daily(srv: VisionArchiveServer) -> None:
    """A month whose monthly file is not published is fetched day by day; absent days are
    reported, not fatal."""
    async with HttpClient() as client:
        mgr = manager(srv, client, max_concurrent=8)
        result = await mgr.download_range(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert result.rows == 2 * 1440
    assert len(result.missing_days) == 29


async def test_range_with_a_bad_file(srv: VisionArchiveServer) -> None:
    """A range holding a corrupt day raises by default; strict=False lists it in failed."""
    async with HttpClient() as client:
        mgr = manager(srv, client)
        with pytest.raises(ChecksumMismatchError):
            await mgr.download_range(dt.date(2023, 1, 1), dt.date(2023, 1, 4))
        result = await mgr.download_range(dt.date(2023, 1, 1), dt.date(2023, 1, 4), strict=False)
    assert result.rows == 2 * 1440
    assert [spec.date for spec, _ in result.failed] == [dt.date(2023, 1, 4)]


async def test_list_files_follows_pagination(srv: VisionArchiveServer) -> None:
    """The S3 listing is read across pages (2 keys a page here)."""
    async with HttpClient() as client:
        mgr = VisionDownloadManager(
            client=client, base_url=srv.base_url, listing_base_url=srv.listing_url
        )
        entries = await mgr.list_files()
    names = [e.name for e in entries]
    assert "BTCUSDT-1m-2023-01-01.zip" in names and "BTCUSDT-1m-2025-01-02.zip" in names
    assert len(names) > 4


def test_bad_arguments_name_the_problem() -> None:
    """An unknown market or an interval the market lacks is a clear ConfigurationError."""
    with pytest.raises(ValueError, match="market"):
        VisionDownloadManager(market="moon")
    with pytest.raises(ValueError, match="1s"):
        VisionDownloadManager(market="futures/um", interval="1s")

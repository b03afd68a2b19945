"""Every market x data type x frequency the archive publishes, end to end against the local
archive server: listed, downloaded with its checksum, parsed into the schema's Arrow types,
trimmed to the range and checked for gaps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pepperpy_core import VisionDownloadManager
from pepperpy_core.testing.vision_server import (
    VisionArchiveServer,
    sample_symbol,
    write_sample_file,
)
from pepperpy_core.vision import DATA_TYPES, KLINE_DATA_TYPES, SCHEMAS, VisionFile, frequencies
from pepperpy_core.vision.frame import arrow_schema

UTC = dt.timezone.utc
DAY = dt.date(2024, 1, 15)  # before the USD-M bookTicker / liquidationSnapshot series ended
MONTH = dt.date(2024, 2, 1)
TODAY = dt.date(2026, 1, 1)
GRID = sorted(
    (market, data_type, frequency)
    for market, types in DATA_TYPES.items()
    for data_type in types
    for frequency in frequencies(market, data_type)
)


def spec_for(market: str, data_type: str, frequency: str) -> VisionFile:
    return VisionFile(
        market=market,
        data_type=data_type,
        symbol=sample_symbol(market, data_type),
        interval="1h" if data_type in KLINE_DATA_TYPES else None,
        date=DAY if frequency == "daily" else MONTH,
        frequency=frequency,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def grid_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[VisionFile, int]]:
    """One file per grid cell, hourly rows over the file's days (rows written, per file)."""
    root = tmp_path_factory.mktemp("vision-grid")
    written = {}
    for cell in GRID:
        spec = spec_for(*cell)
        written[spec] = write_sample_file(root, spec)[1]
    return root, written


def test_grid_covers_the_whole_archive() -> None:
    """44 cells: spot 3 types x 2, each futures market 7 types x 2 + 4 single-frequency
    types, options 2 daily types."""
    assert len(GRID) == 44
    assert {(m, t) for m, t, _ in GRID} == set(SCHEMAS)


@pytest.mark.parametrize(("market", "data_type", "frequency"), GRID)
async def test_every_cell_downloads_and_parses(
    grid_archive: tuple[Path, dict[VisionFile, int]], market: str, data_type: str, frequency: str
) -> None:
    root, written = grid_archive
    spec = spec_for(market, data_type, frequency)
    async with (
        VisionArchiveServer(root) as server,
        VisionDownloadManager(
            symbol=spec.symbol,
            interval=spec.interval,
            market=market,
            data_type=data_type,
            base_url=server.base_url,
            prefer_monthly=frequency == "monthly",
            today=lambda: TODAY,
        ) as mgr,
    ):
        listed = await mgr.list_dates(frequency=frequency)
        symbols = await mgr.list_symbols(frequency=frequency)
        intervals = await mgr.list_intervals(frequency=frequency)
        result = await mgr.download_range(spec.first_day, spec.last_day)
    assert listed == [spec.date] and symbols == [spec.symbol]
    assert intervals == (["1h"] if spec.interval else [])
    assert [f.spec for f in result.files] == [spec]
    assert server.count(spec.path) == 1 and server.count(spec.path + ".CHECKSUM") == 1
    assert not result.missing_days and not result.failed and not result.not_yet_published
    schema = SCHEMAS[(market, data_type)]
    assert result.frame.table.schema == arrow_schema(schema)
    assert result.rows == written[spec] == len(spec.days()) * 24
    times = result.frame.table.column(schema.time_columns[0]).to_pylist()
    first = dt.datetime.combine(spec.first_day, dt.time(), UTC)
    assert times[0] == first
    if schema.time_columns[0] != "date":  # EOHSummary's date column is a day, not an hour
        assert times[-1] == first + dt.timedelta(hours=written[spec] - 1)
    (quality,) = result.quality.files
    assert quality.ok and quality.rows == written[spec]
    assert quality.expected_rows == (written[spec] if data_type in KLINE_DATA_TYPES else None)

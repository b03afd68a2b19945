"""``pepperpy-core vision`` against a local archive server, in-process."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pepperpy_core.cli import build_parser
from pepperpy_core.testing.vision_server import VisionArchiveServer, build_sample_archive


@pytest.fixture
async def srv(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VisionArchiveServer]:
    root = tmp_path_factory.mktemp("archive")
    build_sample_archive(root, trade_rows=20)
    async with VisionArchiveServer(root, page_size=3) as server:
        yield server


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


async def test_vision_download_writes_csv_and_summary(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """vision download fetches the range, writes one CSV of every row and reports the
    missing day; a second run serves every file from the cache."""
    args = parse(
        "vision", "download", "BTCUSDT", "--start", "2023-01-01", "--end", "2023-01-03",
        "--out", str(tmp_path), "--base-url", srv.base_url, "--json",
    )
    out = io.StringIO()
    assert await args.handler(args, out=out) == 0
    summary = json.loads(out.getvalue())
    assert summary["rows"] == 2880 and summary["missing_days"] == ["2023-01-03"]
    with open(summary["output"], newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "open_time" and len(rows) == 2881
    out = io.StringIO()
    assert await args.handler(args, out=out) == 0
    assert json.loads(out.getvalue())["cached_files"] == 2


async def test_vision_download_reports_failed_file(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """A day whose zip never matches its checksum is listed as FAILED and the exit code is 1."""
    args = parse(
        "vision", "download", "BTCUSDT", "--start", "2023-01-04", "--end", "2023-01-04",
        "--out", str(tmp_path), "--base-url", srv.base_url,
    )
    out = io.StringIO()
    assert await args.handler(args, out=out) == 1
    assert "FAILED BTCUSDT-1m-2023-01-04.zip" in out.getvalue()


async def test_vision_list(srv: VisionArchiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    """vision list prints every file of the listing across its pages."""
    args = parse(
        "vision", "list", "BTCUSDT", "--interval", "1m", "--listing-url", srv.listing_url,
    )
    out = io.StringIO()
    assert await args.handler(args, out=out) == 0
    keys = out.getvalue().split()
    assert "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2023-01-01.zip" in keys


async def test_vision_list_json(srv: VisionArchiveServer) -> None:
    """vision list --json gives key, size and last_modified for every file."""
    args = parse(
        "vision", "list", "BTCUSDT", "--interval", "1m", "--listing-url", srv.listing_url,
        "--json",
    )
    out = io.StringIO()
    assert await args.handler(args, out=out) == 0
    rows = json.loads(out.getvalue())
    assert all(row["size"] > 0 for row in rows) and len(rows) > 4

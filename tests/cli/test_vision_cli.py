"""``pepperpy-core vision`` against a local archive server: in-process, and through the
installed entry point on pipes and on a terminal."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cli_runner import cli, cli_on_terminal, plain

from pepperpy_core.cli import build_parser
from pepperpy_core.testing.vision_server import (
    VisionArchiveServer,
    build_sample_archive,
    write_sample_file,
)
from pepperpy_core.vision import VisionFile


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


# -- through the installed entry point ------------------------------------------------------


async def test_list_honours_base_url(srv: VisionArchiveServer) -> None:
    """`vision list --base-url MIRROR` lists the mirror (its S3-style listing at its root),
    with no other flag: every page of it, one key per line."""
    code, out, err = await cli("vision", "list", "BTCUSDT", "--base-url", srv.base_url)
    assert code == 0, err
    assert "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-02.zip" in out.split()
    assert sum(1 for r in srv.requests if r.startswith("?")) >= 4  # listing pages of 3 keys
    assert "7 files (and their .CHECKSUM)" in err


async def test_unknown_symbol_says_so_and_the_suggestion_works(srv: VisionArchiveServer) -> None:
    """A symbol with no files says so (exit 1) and suggests `vision symbols` against the same
    mirror; the suggested command runs and lists the symbols there."""
    code, out, err = await cli("vision", "list", "NOPEUSDT", "--base-url", srv.base_url)
    assert code == 1 and out == ""
    assert "no daily 1m klines files for NOPEUSDT on spot: the archive has no such symbol" in err
    suggestion = err.split("see the symbols it has: ", 1)[1].strip()
    assert suggestion.endswith(f"--base-url {srv.base_url}")
    argv = suggestion.split()[1:]  # drop "pepperpy-core"
    code, out, _ = await cli(*argv)
    assert code == 0 and out.split() == ["BTCUSDT"]


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["--interval", "5m"], "it has these daily intervals: 1m (choose one with --interval)"),
        (["--type", "trades", "--frequency", "monthly"], "daily files exist: add --frequency"),
    ],
)
async def test_known_symbol_without_those_files_gets_a_hint(
    srv: VisionArchiveServer, argv: list[str], hint: str
) -> None:
    """A symbol the archive has, asked for an interval or frequency it lacks, is told what
    it does have."""
    code, _, err = await cli("vision", "list", "BTCUSDT", *argv, "--base-url", srv.base_url)
    assert code == 1 and hint in err


async def test_list_refuses_a_frequency_the_type_lacks(srv: VisionArchiveServer) -> None:
    """fundingRate is monthly only: asking for daily is a usage error naming the flag."""
    code, _, err = await cli(
        "vision", "list", "BTCUSDT", "--market", "futures/um", "--type", "fundingRate",
        "--frequency", "daily", "--base-url", srv.base_url,
    )  # fmt: skip
    assert code == 2 and "--frequency: fundingRate on futures/um is published monthly only" in err


async def test_download_on_a_pipe_has_one_line_per_notable_file(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """Without a terminal: no bar, one stderr line per missing or failed file, the summary
    on stdout."""
    code, out, err = await cli(
        "vision", "download", "BTCUSDT", "--start", "2023-01-02", "--end", "2023-01-04",
        "--out", str(tmp_path), "--base-url", srv.base_url,
    )  # fmt: skip
    assert code == 1
    assert err.splitlines() == [
        "BTCUSDT-1m-2023-01-03.zip: not in the archive (HTTP 404); listed as a missing day",
        "BTCUSDT-1m-2023-01-04.zip: failed (the reason is in the summary)",
    ]
    assert "FAILED BTCUSDT-1m-2023-01-04.zip" in out and "━" not in out + err


async def test_warnings_go_above_the_bar_and_json_stays_clean(
    srv: VisionArchiveServer, tmp_path: Path
) -> None:
    """With stderr on a terminal the bar is drawn there, never on stdout (so `--json | jq`
    works); file events and log warnings (here with --debug: the checksum retry) are printed
    above it as whole lines, never torn by a redraw."""
    code, screen, out = await cli_on_terminal(
        "--debug", "vision", "download", "BTCUSDT", "--start", "2023-01-02", "--end",
        "2023-01-04", "--out", str(tmp_path), "--base-url", srv.base_url, "--json",
        stderr_on_terminal=True, stdout_on_terminal=False,
    )  # fmt: skip
    assert code == 1
    assert json.loads(out)["missing_days"] == ["2023-01-03"]
    assert "━" in screen  # the bar was drawn, on stderr
    segments = [s.strip() for s in re.split(r"[\r\n]+", plain(screen))]
    for event in (
        "BTCUSDT-1m-2023-01-03.zip: not in the archive (HTTP 404); listed as a missing day",
        "BTCUSDT-1m-2023-01-04.zip: failed (the reason is in the summary)",
    ):
        assert event in segments
    warned = [s for s in segments if "vision.checksum_mismatch" in s]
    assert warned and all("━" not in s and "[warning" in s[:40] for s in warned)


async def test_download_a_monthly_only_interval(tmp_path: Path) -> None:
    """`--interval 1w` (published as monthly files only) downloads the month's file and keeps
    the weeks that open inside the range."""
    root = tmp_path / "archive"
    month = VisionFile(market="spot", data_type="klines", symbol="BTCUSDT", interval="1w",
                       date=dt.date(2024, 1, 1), frequency="monthly")  # fmt: skip
    write_sample_file(root, month)  # weeks opening 2024-01-01, 08, 15, 22
    async with VisionArchiveServer(root) as server:
        code, out, err = await cli(
            "vision", "download", "BTCUSDT", "--interval", "1w", "--start", "2024-01-01",
            "--end", "2024-01-20", "--out", str(tmp_path / "out"), "--base-url",
            server.base_url, "--json",
        )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["files"] == 1 and summary["rows"] == 3 and summary["missing_days"] == []
    with open(summary["output"], newline="") as fh:
        assert len(list(csv.reader(fh))) == 4  # header and three weeks


def test_default_archive_is_the_vision_package_default() -> None:
    """The command line spells the archive's URL out (to keep --help light): the same one."""
    from pepperpy_core.cli import vision as cli_vision
    from pepperpy_core.vision import DEFAULT_BASE_URL

    assert cli_vision.DEFAULT_BASE_URL == DEFAULT_BASE_URL

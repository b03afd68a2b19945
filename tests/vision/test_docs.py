"""docs/vision.md: its examples run as written against a local archive, print what their
comments say, and its columns table is the parser's schemas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core.testing.vision_server import (
    VisionArchiveServer,
    build_sample_archive,
    write_sample_file,
)
from pepperpy_core.vision import SCHEMAS, Column, VisionFile

PAGE = ROOT / "docs" / "vision.md"
_MARK = {"time": " *time*", "text_time": " *time*", "int": " *int*", "bool": " *bool*",
         "str": " *text*", "float": ""}  # fmt: skip


def columns_table() -> str:
    """The page's columns table, built from SCHEMAS: one row per distinct column list, in
    the table's order (spot, USD-M, COIN-M, options)."""
    groups: dict[tuple[Column, ...], dict[str, list[str]]] = {}
    for (market, data_type), schema in SCHEMAS.items():
        groups.setdefault(schema.columns, {}).setdefault(market, []).append(data_type)
    rows = []
    for columns, kinds in groups.items():
        files = "; ".join(f"{m}: {', '.join(sorted(types))}" for m, types in kinds.items())
        cells = ", ".join(
            f"`{c.name}`{_MARK[c.kind]}{'?' if c.nullable else ''}" for c in columns
        )
        rows.append(f"| {files} | {cells} |")
    return "\n".join(["| files | columns, in file order |", "|---|---|", *rows])


def test_columns_table_matches_the_schemas() -> None:
    """Every data type's columns, kinds and may-be-empty marks are as the parser has them."""
    assert columns_table() in PAGE.read_text(encoding="utf-8")


async def test_vision_page_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every python block of docs/vision.md runs, in order; ARCHIVE is served locally, with
    the sample archive plus a day of USD-M metrics and a month of funding rates."""
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "archive"
    build_sample_archive(root, trade_rows=10)
    um = {"market": "futures/um", "symbol": "BTCUSDT", "date": dt.date(2024, 1, 1)}
    write_sample_file(
        root, VisionFile(data_type="metrics", **um), step=dt.timedelta(minutes=5)  # type: ignore[arg-type]
    )
    write_sample_file(
        root,
        VisionFile(data_type="fundingRate", frequency="monthly", **um),  # type: ignore[arg-type]
        step=dt.timedelta(hours=8),
    )
    async with VisionArchiveServer(root) as srv:
        await run_page(
            PAGE,
            {'ARCHIVE = "https://data.binance.vision"': f'ARCHIVE = "{srv.base_url}"'},
            tmp_path,
        )
    out = capsys.readouterr().out
    for line in [
        "1440 ('open_time', 'open', 'high')",
        "2880 (datetime.date(2023, 1, 3),)",
        "['BTCUSDT-1m-2023-01-01.zip', 'BTCUSDT-1m-2023-01-02.zip']",
        "288 ('create_time', 'symbol', 'sum_open_interest')",
        "6 ['BTCUSDT-fundingRate-2024-01.zip']",
        "timestamp[us, tz=UTC]",
        "(2880, 12)",
        "2023-01-01 00:00:00+00:00",
        "2 0 ()",
        "() (datetime.date(2023, 1, 3),)",
        "True 0",
        "1440 4 1",
        "2023-01-01 00:02:00+00:00",
        "['BTCUSDT']",
        "['1m']",
        "2023-01-01",
        "BTCUSD_PERP-trades-2024-02.zip",
        "24 text",
    ]:
        assert line in out.splitlines(), line

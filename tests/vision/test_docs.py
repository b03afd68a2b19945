"""The examples in docs/vision.md run as written, the manager's against a local archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core.testing.vision_server import VisionArchiveServer, build_sample_archive


async def test_vision_page_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every python block of docs/vision.md runs, in order; ARCHIVE is served locally."""
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    build_sample_archive(tmp_path / "archive", trade_rows=10)
    async with VisionArchiveServer(tmp_path / "archive") as srv:
        await run_page(
            ROOT / "docs" / "vision.md",
            {'ARCHIVE = "https://data.binance.vision"': f'ARCHIVE = "{srv.base_url}"'},
            tmp_path,
        )
    out = capsys.readouterr().out
    assert "1440 ('open_time', 'open', 'high')" in out
    assert "2880 (datetime.date(2023, 1, 3),)" in out
    assert "2 0" in out and "2023-01-01 00:00:00+00:00" in out

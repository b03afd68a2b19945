"""The examples of docs/scaling.md run against a local server and the shared Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core.testing import LocalServer


async def test_scaling_page_runs(server: LocalServer, prefix: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    await run_page(ROOT / "docs" / "scaling.md",
                   {"https://api.example.com": server.base_url, '"myapp:"': repr(prefix)},
                   tmp_path)
    assert capsys.readouterr().out.split() == ["200", "hit", "200"]

"""The examples of docs/http.md run as written against a local server."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core.testing import LocalServer


async def test_http_page_examples(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every python block of docs/http.md runs, in order, with api.example.com served locally."""
    monkeypatch.chdir(tmp_path)
    namespace = await run_page(
        ROOT / "docs" / "http.md", {"https://api.example.com": server.base_url}, tmp_path
    )
    assert namespace["total"] == 5_000_000
    assert namespace["users"]["page"] == 1


"""Every documentation page with Python examples has a test that runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_runner import ROOT, python_blocks, run_page

from pepperpy_core.testing import LocalServer


async def test_index_quickstart_runs(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The quickstart on docs/index.md runs against a local server."""
    await run_page(ROOT / "docs" / "index.md", {"https://api.example.com": server.base_url},
                   tmp_path)
    assert "['alice', 'bob']" in capsys.readouterr().out


def test_every_page_with_examples_is_run_by_a_test() -> None:
    """A docs page with python blocks is named by some test module (so its examples run)."""
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    named = set(re.findall(r"([a-z_]+)\.md", tests_text))
    pages = [p for p in (ROOT / "docs").glob("*.md") if python_blocks(p)]
    assert pages, "no documentation pages found"
    assert sorted(p.stem for p in pages if p.stem not in named) == []

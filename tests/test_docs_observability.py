"""The examples of docs/observability.md run as written, against local servers only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core.testing import LocalServer


async def test_observability_page_examples(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every block of the page runs: logging set-ups, the Prometheus endpoint, OpenTelemetry."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        await run_page(ROOT / "docs" / "observability.md",
                       {"https://api.example.com": server.base_url}, tmp_path)
    finally:  # basicConfig() in the page adds a handler to the root logger
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)

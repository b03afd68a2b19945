"""make_api_request: parsed JSON, transient errors retried through the retry layer, and
RateLimitException when 429s persist."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from pepperpy_core import ConfigurationError, HttpClient, HTTPStatusError, RateLimitException
from pepperpy_core.http.api import make_api_request
from pepperpy_core.testing import LocalServer


@pytest.fixture
async def api() -> AsyncIterator[tuple[LocalServer, Counter[str]]]:
    seen: Counter[str] = Counter()

    async def data(request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        seen[key] += 1
        if seen[key] <= int(request.query.get("fail", 0)):
            status = int(request.query.get("status", 503))
            return web.Response(status=status, headers={"Retry-After": "0.01"})
        if request.query.get("empty"):
            return web.Response(status=204)
        return web.json_response({"limit": request.query.get("limit"),
                                  "auth": request.headers.get("X-Key")})

    app = web.Application()
    app.router.add_get("/data", data)
    async with LocalServer(app) as server:
        yield server, seen


async def test_returns_parsed_json(api: tuple[LocalServer, Counter[str]]) -> None:
    """The documents' call: params and headers go out, parsed JSON comes back."""
    server, _ = api
    async with HttpClient() as client:
        data = await make_api_request(client=client, url=server.url("/data"),
                                      params={"limit": 100}, headers={"X-Key": "k"},
                                      max_retries=3)
    assert data == {"limit": "100", "auth": "k"}


async def test_transient_errors_are_retried(api: tuple[LocalServer, Counter[str]]) -> None:
    """Two 503s then 200: three requests reach the server, the data comes back."""
    server, seen = api
    async with HttpClient(retries=0) as client:  # no retry layer of its own: still retried
        data = await make_api_request(client, server.url("/data"),
                                      params={"fail": 2, "key": "t"}, retry_delay=0.001)
    assert data["limit"] is None and seen["t"] == 3


async def test_persistent_429_raises_rate_limit_exception(
    api: tuple[LocalServer, Counter[str]],
) -> None:
    """429s past max_retries raise RateLimitException with retry_after and attempts."""
    server, seen = api
    async with HttpClient() as client:
        with pytest.raises(RateLimitException) as info:
            await make_api_request(client, server.url("/data"),
                                   params={"fail": 99, "status": 429, "key": "r"},
                                   max_retries=2, retry_delay=0.001)
    assert info.value.retry_after == pytest.approx(0.01) and info.value.attempts == 3
    assert seen["r"] == 3


async def test_other_errors(api: tuple[LocalServer, Counter[str]]) -> None:
    """A 404 raises HTTPStatusError at once; an empty body gives None."""
    server, seen = api
    async with HttpClient() as client:
        with pytest.raises(HTTPStatusError):
            await make_api_request(client, server.url("/data"),
                                   params={"fail": 9, "status": 404, "key": "n"})
        assert await make_api_request(client, server.url("/data"), params={"empty": 1}) is None
    assert seen["n"] == 1


async def test_client_resolution(server: Any) -> None:
    """make_api_request takes raw factory clients too, and names a wrong client type."""
    from pepperpy_core import create_client

    for kind in ("aiohttp", "httpx"):
        raw = create_client(client_type=kind)
        data = await make_api_request(client=raw, url=server.url("/data"), max_retries=0)
        assert data is not None
        await raw.aclose()
    with pytest.raises(ConfigurationError, match="dict"):
        await make_api_request({}, "http://127.0.0.1:9/")

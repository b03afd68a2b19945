"""What is specific to the httpx backend (the shared behaviours run on both backends in
test_client.py): error translation, HTTP/2 option, proxy, TLS, streamed total deadline."""

from __future__ import annotations

import asyncio
import builtins
import time

import httpx
import pytest
from aiohttp import web

from pepperpy_core import HttpClient, Request, Timeout
from pepperpy_core.exceptions import ConnectionError, InvalidURLError, TimeoutError
from pepperpy_core.http._httpx import HttpxTransport, translate_error
from pepperpy_core.testing import LocalServer


def _request() -> Request:
    return Request("GET", "http://127.0.0.1:9/x?api_key=s3cret")


@pytest.mark.parametrize(
    ("raised", "expected", "sent"),
    [
        (httpx.ConnectError("refused"), ConnectionError, False),
        (httpx.ConnectTimeout("slow"), TimeoutError, False),
        (httpx.PoolTimeout("full"), TimeoutError, False),
        (httpx.ReadTimeout("slow"), TimeoutError, True),
        (asyncio.TimeoutError(), TimeoutError, True),
        (httpx.RemoteProtocolError("bad"), ConnectionError, True),
        (httpx.ReadError("reset"), ConnectionError, True),
        (OSError("boom"), ConnectionError, True),
    ],
)
def test_error_translation(raised: Exception, expected: type, sent: bool) -> None:
    """httpx failures map onto our tree with request_sent telling whether a retry is safe;
    URLs in messages are redacted."""
    error = translate_error(raised, _request())
    assert type(error) is expected and error.request_sent is sent  # type: ignore[union-attr]
    assert isinstance(error, builtins.OSError) and "s3cret" not in str(error)


def test_invalid_url_and_unknown_errors() -> None:
    """Unsupported schemes are InvalidURLError; errors that are not network ones propagate."""
    assert isinstance(translate_error(httpx.UnsupportedProtocol("x"), _request()), InvalidURLError)
    with pytest.raises(KeyError):
        translate_error(KeyError("bug"), _request())


async def test_http2_option_and_external_client(server: LocalServer) -> None:
    """http2=True builds an h2-capable pool (HTTP/1.1 to a plain server); a caller's
    httpx client is used and left open."""
    async with HttpClient(backend="httpx", http2=True) as c:
        assert (await c.get(server.url("/data"))).status == 200
    async with httpx.AsyncClient() as raw:
        c = HttpClient(session=raw)
        assert (await c.get(server.url("/data"))).status == 200
        await c.close()
        assert not raw.is_closed


async def test_streamed_body_respects_total_deadline() -> None:
    """With an explicit total timeout, a streamed body that trickles stops with TimeoutError."""

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"x" * 100)
            await asyncio.sleep(0.05)
        return response

    app = web.Application()
    app.router.add_get("/", trickle)
    async with LocalServer(app) as srv, HttpClient(backend="httpx", retries=0) as c:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with c.stream("GET", srv.url("/"), timeout=Timeout(0.3, 1, 1)) as response:
                async for _ in response.iter_bytes(100):
                    pass
        assert time.monotonic() - started < 2.0


async def test_proxy_is_used() -> None:
    """proxy= sends plain-HTTP requests to the proxy in absolute form."""

    async def proxy(request: web.Request) -> web.Response:
        return web.Response(text=f"via proxy: {request.url}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    async with LocalServer(app) as srv, HttpClient(backend="httpx", proxy=srv.base_url) as c:
        text = await (await c.get("http://example.invalid/x")).text()
    assert text == "via proxy: http://example.invalid/x"



def test_transport_constructs_without_a_loop() -> None:
    """The transport makes its httpx client lazily (nothing to close if never used)."""
    transport = HttpxTransport(max_connections=3)
    assert transport.cookies == {}

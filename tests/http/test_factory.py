"""create_client and friends, and as_http_client bridging raw clients into HttpClient."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest

from pepperpy_core import HttpClient
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.factory import (
    AiohttpSession,
    as_http_client,
    create_aiohttp_client,
    create_client,
    create_httpx_client,
)
from pepperpy_core.testing import LocalServer


async def test_default_is_aiohttp_with_aclose(server: LocalServer) -> None:
    """create_client() gives an aiohttp client used like a ClientSession, closed by aclose()."""
    client = create_client()
    assert isinstance(client, AiohttpSession)
    async with client.get(server.url("/data")) as response:
        assert response.status == 200 and (await response.json())["items"] == [1, 2, 3]
    assert isinstance(client.session, aiohttp.ClientSession)
    await client.aclose()
    await client.aclose()
    assert client.closed and client.session.closed


async def test_aiohttp_settings_applied(server: LocalServer) -> None:
    """timeout, max_connections and headers reach the session; the UA defaults to ours."""
    client = create_aiohttp_client(timeout=12, max_connections=7, headers={"X-App": "a"})
    async with client:
        session = client.session
        assert session.timeout.total == 12 and session.timeout.connect == 10
        assert session.connector is not None and session.connector.limit == 7
        async with client.get(server.url("/echo")) as response:
            echo = await response.json()
    assert echo["headers"]["X-App"] == "a"
    assert echo["headers"]["User-Agent"].startswith("pepperpy-core/")


async def test_created_outside_a_loop(server: LocalServer) -> None:
    """create_client() needs no running loop: the session starts at first use."""
    client = await asyncio.to_thread(create_client)
    async with client, client.get(server.url("/data")) as response:
        assert response.status == 200


async def test_httpx_client(server: LocalServer) -> None:
    """client_type='httpx' gives a configured httpx.AsyncClient (the spec's example)."""
    httpx_client = create_client(
        client_type="httpx", timeout=30, headers={"X-Custom-Header": "Value"}
    )
    assert isinstance(httpx_client, httpx.AsyncClient)
    assert httpx_client.timeout.read == 30 and httpx_client.timeout.connect == 10
    response = await httpx_client.get(server.url("/echo"))
    assert response.json()["headers"]["X-Custom-Header"] == "Value"
    await httpx_client.aclose()
    http2 = create_httpx_client(http2=True)
    await http2.aclose()


def test_bad_arguments() -> None:
    """Unknown client types and bad limits raise ConfigurationError naming the argument."""
    with pytest.raises(ConfigurationError, match="client_type"):
        create_client(client_type="requests")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="timeout"):
        create_aiohttp_client(timeout=0)
    with pytest.raises(ConfigurationError, match="max_connections"):
        create_httpx_client(max_connections=0)
    with pytest.raises(ConfigurationError, match="CA bundle"):
        create_aiohttp_client(verify="/no/such/ca.pem")


async def test_as_http_client_keeps_an_http_client() -> None:
    """An HttpClient comes back as is and is not owned."""
    async with HttpClient() as c:
        assert as_http_client(c) == (c, False)


@pytest.mark.parametrize("kind", ["aiohttp", "session", "httpx"])
async def test_as_http_client_wraps_raw_clients(server: LocalServer, kind: str) -> None:
    """Raw clients are wrapped over the same session: their headers and UA travel, closing
    the wrapper leaves them open."""
    headers = {"X-From": kind, "User-Agent": "mine/1"}
    raw: object
    if kind == "session":
        raw = aiohttp.ClientSession(headers=headers)
    else:
        raw = create_client(client_type=kind, headers=headers)  # type: ignore[call-overload]
    try:
        http, owned = as_http_client(raw)
        assert owned and isinstance(http, HttpClient)
        echo = await (await http.get(server.url("/echo"))).json()
        assert echo["headers"]["X-From"] == kind and echo["headers"]["User-Agent"] == "mine/1"
        await http.aclose()
        assert not getattr(raw, "closed", False) and not getattr(raw, "is_closed", False)
    finally:
        await (raw.close() if kind == "session" else raw.aclose())  # type: ignore[attr-defined]


async def test_as_http_client_rejects_others() -> None:
    """Anything else, or a closed session, is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="expected an HttpClient"):
        as_http_client(object())
    session = aiohttp.ClientSession()
    await session.close()
    with pytest.raises(ConfigurationError, match="closed"):
        as_http_client(session)

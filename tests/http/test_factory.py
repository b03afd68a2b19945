"""create_client and friends, and as_http_client bridging raw clients into HttpClient."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

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


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        # an unknown keyword: named, with what was meant
        (lambda: create_client(tiemout=3), TypeError,
         "create_client() got an unexpected keyword argument 'tiemout'; did you mean timeout=?"),
        (lambda: create_aiohttp_client(limit_per_host=2), TypeError,
         "'limit_per_host'; did you mean max_connections_per_host=?"),
        (lambda: create_httpx_client(raise_for_status=True), TypeError,
         "own options go in session_options={...}"),
        # a wrong type: TypeError in the caller's words
        (lambda: create_client(timeout="30"), TypeError,
         "create_client(timeout=...) must be a number of seconds or None, got str"),
        (lambda: create_client(client_type=1), TypeError, "create_client(client_type=...)"),
        (lambda: create_httpx_client(headers=[("a", "b")]), TypeError,
         "create_httpx_client(headers=...) must be a mapping"),
        (lambda: create_aiohttp_client(verify=1), TypeError, "create_aiohttp_client(verify=...)"),
        (lambda: create_client(trust_env="no"), TypeError, "create_client(trust_env=...)"),
        (lambda: create_httpx_client(http2=1), TypeError, "create_httpx_client(http2=...)"),
        (lambda: create_client(session_options=[("a", 1)]), TypeError,
         "create_client(session_options=...) must be a mapping"),
        # a bad value: ConfigurationError in the caller's words
        (lambda: create_client(timeout=0), ConfigurationError,
         "create_client(timeout=...) must be > 0 seconds, got 0"),
        (lambda: create_client(max_connections=0), ConfigurationError,
         "create_client(max_connections=...) must be >= 1, got 0"),
        (lambda: create_aiohttp_client(max_connections_per_host=-1), ConfigurationError,
         "create_aiohttp_client(max_connections_per_host=...) must be >= 0, got -1"),
        (lambda: create_client(headers={"X-A": "1\r\nX-B: 2"}), ConfigurationError,
         "create_client(headers=...)"),
        (lambda: create_client(http2=True), ConfigurationError,
         "create_client(http2=True): HTTP/2 needs the httpx client"),
        (lambda: create_client("httpx", max_connections_per_host=2), ConfigurationError,
         "httpx has no per-host cap"),
        # session_options: checked against the library's own constructor
        (lambda: create_aiohttp_client(session_options={"raise_for_statu": True}), TypeError,
         "aiohttp.ClientSession() got an unexpected keyword argument 'raise_for_statu'; "
         "did you mean raise_for_status=?"),
        (lambda: create_httpx_client(session_options={"follow_redirect": True}), TypeError,
         "did you mean follow_redirects=?"),
        (lambda: create_client(session_options={"timeout": 3}), ConfigurationError,
         "'timeout' is set by create_client itself; pass timeout= to create_client"),
        (lambda: create_httpx_client(session_options={"limits": None}), ConfigurationError,
         "'limits' is set by create_httpx_client itself"),
    ],
)
def test_mistakes_are_named_in_the_callers_words(
    call: Any, error: type[Exception], words: str
) -> None:
    """Each mistake is refused at once, with the factory's name and the argument as written."""
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)


def test_every_option_is_in_the_signature() -> None:
    """The factories name every option (no ``**kwargs``); create_client has both libraries'."""
    for factory in (create_client, create_aiohttp_client, create_httpx_client):
        params = inspect.signature(factory).parameters
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
        assert list(params)[-1] == "session_options"
        assert all(p.annotation != "Any" for p in params.values())
    assert list(inspect.signature(create_client).parameters)[:4] == [
        "client_type", "timeout", "max_connections", "headers"]
    aiohttp_only = set(inspect.signature(create_aiohttp_client).parameters)
    httpx_only = set(inspect.signature(create_httpx_client).parameters)
    assert set(inspect.signature(create_client).parameters) == aiohttp_only | httpx_only | {
        "client_type"}


async def test_session_options_reach_the_library(server: LocalServer) -> None:
    """``session_options`` are given to ClientSession / AsyncClient as they are, next to the
    factory's own options (cookies, trust_env) against a real server."""
    strict = create_aiohttp_client(session_options={"raise_for_status": True},
                                   cookies={"id": "c1"})
    async with strict:
        assert not strict.session.trust_env
        async with strict.get(server.url("/echo")) as response:
            assert "id=c1" in (await response.json())["headers"]["Cookie"]
        with pytest.raises(aiohttp.ClientResponseError):
            async with strict.get(server.url("/status/404")):
                pass
    follows = create_client("httpx", session_options={"follow_redirects": True},
                            cookies={"id": "c2"})
    async with follows:
        response = await follows.get(server.url("/redirect"), params={"to": "/echo"})
        assert response.status_code == 200
        assert "id=c2" in response.json()["headers"]["Cookie"]
        assert not follows._trust_env


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


async def test_factories_against_httpbin_and_a_stalled_server(httpbin: Any) -> None:
    """The factories' own options on the wire of a server nobody here wrote (httpbin): the
    cookies, the headers and our User-Agent arrive, for both libraries; and ``timeout=`` bounds
    a request that a stalled server (our fault proxy in front of httpbin) never answers."""
    from peers.faultproxy import FaultProxy

    for kind in ("aiohttp", "httpx"):
        client = create_client(kind, cookies={"sid": "s1"}, headers={"X-App": kind})
        async with client:
            if isinstance(client, AiohttpSession):
                async with client.get(httpbin.url("/headers")) as response:
                    seen = (await response.json())["headers"]
            else:
                seen = (await client.get(httpbin.url("/headers"))).json()["headers"]
        assert seen["Cookie"] == "sid=s1" and seen["X-App"] == kind
        assert seen["User-Agent"].startswith("pepperpy-core/")
    async with FaultProxy(httpbin.port) as proxy:
        proxy.fault = "stall"
        loop = asyncio.get_running_loop()
        aio = create_aiohttp_client(timeout=0.5)
        async with aio:
            started = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                async with aio.get(proxy.url("/get")):
                    pass
            assert loop.time() - started < 3.0
        hx = create_httpx_client(timeout=0.5)
        async with hx:
            started = loop.time()
            with pytest.raises(httpx.TimeoutException):
                await hx.get(proxy.url("/get"))
            assert loop.time() - started < 3.0

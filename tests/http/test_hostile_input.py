"""Secrets never leak, and input that would change the request on the wire is refused before
anything is sent: against httpbin, nginx and our fault proxy, on both backends."""

from __future__ import annotations

import logging
import socket

import pytest
from peers.faultproxy import FaultProxy
from peers.httpbin import HttpBin
from peers.nginx import Nginx

from pepperpy_core import (
    ArgumentTypeError,
    ConfigurationError,
    ConnectionError,
    HttpClient,
    InvalidURLError,
    PepperPyError,
)
from pepperpy_core.testing import capture_events

SECRETS = ("pw-secret", "key-secret", "tok-secret", "proxy-secret", "cookie-secret")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _texts(error: BaseException) -> list[str]:
    """Everything a user or a log handler may print about ``error`` and what it carries."""
    texts = [str(error), repr(error)]
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    for attr in ("request", "response"):
        value = getattr(error, attr, None)
        if value is not None:
            texts.append(repr(value))
    return texts


def _assert_clean(texts: list[str]) -> None:
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined


async def test_transport_errors_carry_no_secrets(backend: str) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/x?api_key=key-secret&page=2"
    async with HttpClient(backend=backend, retries=0) as c:
        with pytest.raises(ConnectionError) as info:
            await c.get(url.replace("http://", "http://user:pw-secret@"))
        _assert_clean(_texts(info.value))
    async with HttpClient(
        backend=backend, retries=0, headers={"Authorization": "Bearer tok-secret"},
        cookies={"sid": "cookie-secret"},
    ) as c:
        with pytest.raises(ConnectionError) as info:
            await c.get(url, headers={"Cookie": "sid=cookie-secret"})
        _assert_clean(_texts(info.value))
        assert "page=2" in str(info.value)
    async with HttpClient(
        backend=backend, retries=0, proxy=f"http://puser:proxy-secret@127.0.0.1:{port}"
    ) as c:
        with pytest.raises(ConnectionError) as info:
            await c.get(f"http://127.0.0.1:{port}/?token=tok-secret")
        _assert_clean(_texts(info.value))


async def test_cut_connection_error_and_reprs_carry_no_secrets(
    nginx: Nginx, backend: str
) -> None:
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=f"http://user:pw-secret@127.0.0.1:{proxy.port}", backend=backend, retries=0,
        headers={"X-Api-Key": "tok-secret"},
    ) as c:
        _assert_clean([repr(c)])
        ok = await c.get("/small.json?signature=key-secret")
        _assert_clean([repr(ok), repr(ok.request)])
    proxy_fault = FaultProxy(nginx.port)
    proxy_fault.fault = ("cut", 100)
    async with proxy_fault as proxy, HttpClient(
        base_url=f"http://127.0.0.1:{proxy.port}", backend=backend, retries=0,
        headers={"Authorization": "Bearer tok-secret"},
    ) as c:
        with pytest.raises(PepperPyError) as info:
            await c.get("/data.txt?api_key=key-secret")
        _assert_clean(_texts(info.value))


async def test_library_logs_carry_no_secrets(
    httpbin: HttpBin, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG (ours and httpx/httpcore/aiohttp, all through stdlib
    logging), a request with secrets in the URL and headers logs none of them."""
    caplog.set_level(logging.DEBUG)
    with capture_events() as events:
        async with HttpClient(
            base_url=httpbin.base.replace("http://", "http://user:pw-secret@"), backend=backend,
            headers={"X-Api-Key": "tok-secret"}, cookies={"sid": "cookie-secret"},
        ) as c:
            response = await c.get("/redirect-to?url=/get%3Fapi_key%3Dkey-secret",
                                   params={"token": "tok-secret"})
            assert response.status == 200
    assert events, "the client logged its attempts"
    _assert_clean([caplog.text, repr(events)])
    if backend == "httpx":
        assert "HTTP Request" in caplog.text  # httpx did log, redacted


@pytest.mark.parametrize(
    ("path", "what"),
    [("/a\nb", "\\n"), ("/a\rb", "\\r"), ("/a\x00b", "\\x00"), ("/a\tb", "\\t"),
     ("/a\x7fb", "\\x7f"), ("/a\x1bb", "\\x1b")],
)
async def test_control_characters_in_url_are_refused_before_sending(
    nginx: Nginx, backend: str, path: str, what: str
) -> None:
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend
    ) as c:
        with pytest.raises(InvalidURLError, match=r"url: URL contains control character"):
            await c.get(path)
        with pytest.raises(InvalidURLError, match="url:"):
            await c.get(proxy.url(path))
        assert proxy.connections == 0


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[zz::1]/", "http://::1]/",
                                 "http://[::1]x/", "http://[]/"])
async def test_malformed_ipv6_literal_in_url_is_refused(backend: str, url: str) -> None:
    async with HttpClient(backend=backend) as c:
        with pytest.raises(InvalidURLError, match="url: malformed IPv6"):
            await c.get(url)


async def test_valid_ipv6_literal_is_accepted(backend: str) -> None:
    async with HttpClient(backend=backend, retries=0, timeout=2) as c:
        request = c.build_request("GET", "http://[::1]:1/x")
        assert request.url == "http://[::1]:1/x"


async def test_control_characters_in_headers_and_user_agent_are_refused(
    nginx: Nginx, backend: str
) -> None:
    async with FaultProxy(nginx.port) as proxy:
        async with HttpClient(base_url=proxy.base, backend=backend) as c:
            for headers in ({"X-A": "v\r\nInjected: 1"}, {"X-A": "v\x01"}, {"X-A": "v\x00"},
                            {"X A": "v"}, {"X:A": "v"}, {"": "v"}, {"X-\x7f": "v"}):
                with pytest.raises(ConfigurationError, match="headers:"):
                    await c.get("/small.json", headers=headers)
            ok = await c.get("/small.json", headers={"X-Tab": "a\tb"})
            assert ok.status == 200
        for bad in ({"user_agent": "ua\r\nX: 1"}, {"user_agent": "ua\x00"}):
            with pytest.raises(ConfigurationError, match="user_agent:"):
                HttpClient(base_url=proxy.base, backend=backend, **bad)
        with pytest.raises(ConfigurationError, match="headers:"):
            HttpClient(base_url=proxy.base, backend=backend, headers={"X": "a\x0bb"})
        with pytest.raises(InvalidURLError, match="base_url:"):
            HttpClient(base_url=proxy.base + "/a\nb", backend=backend)
        assert proxy.connections == 1


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.get("/x", headers=[("a", "b")]), "headers"),
        (lambda c: c.get("/x", headers={"a": 1}), "headers"),
        (lambda c: c.get("/x", params=5), "params"),
        (lambda c: c.post("/x", files=[("f", b"x")]), "files"),
        (lambda c: c.post("/x", data=5), "data"),
        (lambda c: c.get(None), "url"),
        (lambda c: c.get(b"/x"), "url"),
    ],
)
async def test_wrong_types_get_a_type_error_naming_the_argument(
    nginx: Nginx, backend: str, call: object, argument: str
) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        with pytest.raises(TypeError, match=f"^{argument}:") as info:
            await call(c)  # type: ignore[operator]
        assert isinstance(info.value, ArgumentTypeError)


def test_wrong_client_argument_types(backend: str) -> None:
    with pytest.raises(ArgumentTypeError, match=r"^headers:"):
        HttpClient(backend=backend, headers=[("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match=r"^cookies:"):
        HttpClient(backend=backend, cookies=[("a", "b")])  # type: ignore[arg-type]

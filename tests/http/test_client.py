"""HttpClient against a real local server, on both backends."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import io
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from http_app import hits

import pepperpy_core
from pepperpy_core import (
    ClientClosedError,
    ConfigurationError,
    ConnectionError,
    DecodingError,
    HttpClient,
    HTTPStatusError,
    InvalidURLError,
    Request,
    Response,
    ResponseTooLargeError,
    RetryMiddleware,
    RetryPolicy,
    Timeout,
    TimeoutError,
    TooManyRedirectsError,
)
from pepperpy_core.http.chain import CallNext
from pepperpy_core.testing import FakeClock, LocalServer, capture_events

# --------------------------------------------------------------------------- the spec examples


async def test_spec_get_and_post(server: LocalServer, backend: str) -> None:
    """The first example of the spec: GET then json(), POST with json=."""
    client = HttpClient(backend=backend)
    response = await client.get(server.url("/data"))
    data = await response.json()
    assert data == {"items": [1, 2, 3]}
    response = await client.post(server.url("/users"), json={"name": "John"})
    assert response.status == 201
    assert (await response.json())["name"] == "John"
    await client.close()


async def test_spec_exemplo_http(server: LocalServer, backend: str, tmp_path: Path) -> None:
    """The "Cliente HTTP" example: base_url, params, json POST and a file upload."""
    (tmp_path / "data.txt").write_bytes(b"conteudo de teste\n" * 100)
    client = HttpClient(base_url=server.base_url, timeout=30.0, retries=3, backend=backend)
    try:
        response = await client.get("/users", params={"page": 1, "limit": 10})
        users = await response.json()
        assert users["page"] == 1 and users["limit"] == 10
        response = await client.post(
            "/users", json={"name": "John", "email": "john@example.com"}
        )
        assert (await response.json())["email"] == "john@example.com"
        with open(tmp_path / "data.txt", "rb") as handle:
            files = {"file": handle}
            response = await client.post("/upload", files=files)
        uploaded = await response.json()
        assert uploaded["file"]["filename"] == "data.txt"
        assert uploaded["file"]["size"] == 1800
    finally:
        await client.close()


# --------------------------------------------------------------------------- Response


async def test_response_fields(client: HttpClient, server: LocalServer) -> None:
    """Response exposes status, case-insensitive headers, url, reason, elapsed and request."""
    response = await client.get("/data")
    assert response.status == 200 and response.ok and response.reason == "OK"
    assert response.headers["CONTENT-TYPE"].startswith("application/json")
    assert response.url == server.url("/data")
    assert response.elapsed.total_seconds() > 0
    assert response.request is not None and response.request.method == "GET"
    assert await response.read() == await response.read()
    assert "items" in await response.text()


async def test_raise_for_status(client: HttpClient) -> None:
    """raise_for_status() raises HTTPStatusError carrying the response; 2xx returns self."""
    ok = await client.get("/data")
    assert ok.raise_for_status() is ok
    response = await client.get("/status/404")
    with pytest.raises(HTTPStatusError) as info:
        response.raise_for_status()
    assert info.value.status == 404 and info.value.response is response
    assert "404" in str(info.value)


async def test_json_on_html_is_decoding_error(client: HttpClient) -> None:
    """.json() on a non-JSON body names the URL and content type."""
    response = await client.get("/html")
    with pytest.raises(DecodingError, match="text/html"):
        await response.json()


async def test_body_size_cap(server: LocalServer, backend: str) -> None:
    """A buffered body larger than max_body_size raises ResponseTooLargeError, with or
    without Content-Length."""
    async with HttpClient(base_url=server.base_url, max_body_size=1000, backend=backend) as c:
        with pytest.raises(ResponseTooLargeError, match="max_body_size=1000"):
            await c.get("/big", params={"size": 5000})
        with pytest.raises(ResponseTooLargeError):
            await c.get("/big", params={"size": 5000, "chunked": 1})
        small = await c.get("/big", params={"size": 999})
        assert len(await small.read()) == 999


async def test_stream_in_chunks(client: HttpClient) -> None:
    """stream() yields the body in bounded chunks without buffering it."""
    size = 3 * 1024 * 1024 + 7
    seen, largest = 0, 0
    async with client.stream("GET", "/big", params={"size": size}) as response:
        assert response.is_streaming
        async for chunk in response.iter_bytes(256 * 1024):
            seen += len(chunk)
            largest = max(largest, len(chunk))
    assert seen == size
    assert largest <= 256 * 1024


async def test_stream_bypasses_body_cap(server: LocalServer, backend: str) -> None:
    """The body cap applies to buffering, not to streaming."""
    async with (
        HttpClient(base_url=server.base_url, max_body_size=1000, backend=backend) as c,
        c.stream("GET", "/big", params={"size": 50_000}) as response,
    ):
        total = sum([len(chunk) async for chunk in response.iter_bytes(4096)])
    assert total == 50_000


# --------------------------------------------------------------------------- request building


async def test_params_headers_and_data(client: HttpClient) -> None:
    """params are encoded (lists repeat, booleans lower-case), headers merge, data is sent."""
    response = await client.post(
        "/echo",
        params={"a": [1, 2], "flag": True, "skip": None},
        headers={"X-Trace": "t1"},
        data={"field": "value"},
    )
    echo = await response.json()
    assert echo["query"] == {"a": "2", "flag": "true"} or echo["query"]["flag"] == "true"
    assert "a=1&a=2" in response.url
    assert echo["headers"]["X-Trace"] == "t1"
    assert echo["body"] == "field=value"
    assert echo["headers"]["User-Agent"].startswith("pepperpy-core/")


async def test_client_headers_sent_and_overridable(server: LocalServer, backend: str) -> None:
    """Client-level headers go with every request; per-request headers override them."""
    async with HttpClient(headers={"X-App": "one"}, backend=backend) as c:
        first = await (await c.get(server.url("/echo"))).json()
        second = await (await c.get(server.url("/echo"), headers={"x-app": "two"})).json()
    assert first["headers"]["X-App"] == "one"
    assert {k.lower(): v for k, v in second["headers"].items()}["x-app"] == "two"


async def test_user_agent_sent_once_and_overridable(server: LocalServer, backend: str) -> None:
    """Exactly one User-Agent goes out: ours by default, the client's user_agent= or
    headers=, or a per-request one, which wins over all of them."""
    async def agents(client: HttpClient, **kwargs: Any) -> list[str]:
        echo = await (await client.get(server.url("/echo"), **kwargs)).json()
        return [v for k, v in echo["header_list"] if k.lower() == "user-agent"]

    async with HttpClient(backend=backend) as c:
        assert [a.split("/")[0] for a in await agents(c)] == ["pepperpy-core"]
        assert await agents(c, headers={"user-agent": "mine/2"}) == ["mine/2"]
        assert [a.split("/")[0] for a in await agents(c)] == ["pepperpy-core"]
    async with HttpClient(user_agent="app/1", backend=backend) as c:
        assert await agents(c) == ["app/1"]
    async with HttpClient(headers={"User-Agent": "hdr/3", "X-A": "a"}, backend=backend) as c:
        assert await agents(c) == ["hdr/3"]
        assert await agents(c, headers={"User-Agent": "req/4"}) == ["req/4"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_other_verbs(client: HttpClient, method: str) -> None:
    """put/patch/delete/options send the right method."""
    call = getattr(client, method.lower())
    response = await call("/echo")
    assert (await response.json())["method"] == method


async def test_head_has_no_body(client: HttpClient) -> None:
    """head() returns headers and an empty body."""
    response = await client.head("/data")
    assert response.status == 200 and await response.read() == b""


async def test_multipart_upload_intact(client: HttpClient, tmp_path: Path) -> None:
    """Files given as a path, bytes and a file object arrive with their names, sizes and
    sha256; form fields travel with them."""
    big = tmp_path / "big.bin"
    payload = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB
    big.write_bytes(payload)
    response = await client.post(
        "/upload",
        data={"note": "hello"},
        files={
            "by_path": big,
            "by_bytes": ("small.txt", b"abc", "text/plain"),
            "by_handle": io.BytesIO(b"from memory"),
        },
    )
    parts = await response.json()
    assert parts["by_path"] == {
        "filename": "big.bin", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()
    }
    assert parts["by_bytes"]["filename"] == "small.txt" and parts["by_bytes"]["size"] == 3
    assert parts["by_handle"]["size"] == len(b"from memory")
    assert parts["note"]["size"] == 5


async def test_cookies_kept(client: HttpClient) -> None:
    """A cookie set by the server is sent back on the next request."""
    await client.get("/setcookie")
    echo = await (await client.get("/echo")).json()
    assert "session=abc123" in echo["headers"].get("Cookie", "")
    assert client.cookies.get("session") == "abc123"


# --------------------------------------------------------------------------- retries


async def test_retry_two_failures_then_success(server: LocalServer, backend: str) -> None:
    """retries=3: two 503s then 200; the server sees exactly 3 requests."""
    async with HttpClient(
        base_url=server.base_url, retries=RetryPolicy(total=3, backoff_base=0.001), backend=backend
    ) as c:
        response = await c.get("/flaky/a", params={"fail": 2})
    assert response.status == 200
    assert hits(server, "a") == 3
    assert response.metadata["attempts"] == 3


async def test_post_not_retried_on_500(client: HttpClient, server: LocalServer) -> None:
    """A POST that gets a 500 (or a 503) is returned, not retried."""
    response = await client.post("/flaky/p", params={"fail": 5, "status": 500})
    assert response.status == 500 and hits(server, "p") == 1
    response = await client.post("/flaky/q", params={"fail": 5, "status": 503})
    assert response.status == 503 and hits(server, "q") == 1


async def test_post_retried_when_opted_in(server: LocalServer) -> None:
    """retry_non_idempotent=True retries a POST on 503."""
    policy = RetryPolicy(total=2, backoff_base=0.001, retry_non_idempotent=True)
    async with HttpClient(base_url=server.base_url, retries=policy) as c:
        response = await c.post("/flaky/r", params={"fail": 1})
    assert response.status == 200 and hits(server, "r") == 2


async def test_retries_zero_disables(server: LocalServer, backend: str) -> None:
    """retries=0 on the client, or per request, sends exactly once."""
    async with HttpClient(base_url=server.base_url, retries=0, backend=backend) as c:
        response = await c.get("/flaky/z", params={"fail": 1})
    assert response.status == 503 and hits(server, "z") == 1
    async with HttpClient(base_url=server.base_url, backend=backend) as c:
        response = await c.get("/flaky/y", params={"fail": 1}, retries=0)
    assert response.status == 503 and hits(server, "y") == 1


async def test_per_request_retries_on_a_client_without_retries(server: LocalServer) -> None:
    """retries=3 on one call works even when the client was built with retries=0."""
    async with HttpClient(base_url=server.base_url, retries=0) as c:
        response = await c.get(
            "/flaky/pr", params={"fail": 1}, retries=RetryPolicy(total=3, backoff_base=0.001)
        )
    assert response.status == 200 and response.metadata["attempts"] == 2


def test_a_given_retry_layer_replaces_the_default() -> None:
    """Passing a RetryMiddleware leaves exactly one retry layer in the chain."""
    c = HttpClient(middlewares=[RetryMiddleware(RetryPolicy(total=1))])
    assert sum(isinstance(layer, RetryMiddleware) for layer in c.middlewares) == 1


async def test_retry_after_honoured_on_fake_clock(server: LocalServer) -> None:
    """A 429 with Retry-After: 7 makes the retry layer wait 7 s (virtual), then succeed."""
    clock = FakeClock()
    layer = RetryMiddleware(RetryPolicy(total=3), sleep=clock.sleep, clock=clock.time)
    async with HttpClient(base_url=server.base_url, retries=0, middlewares=[layer]) as c:
        response = await c.get("/flaky/ra", params={"fail": 1, "status": 429, "retry_after": 7})
    assert response.status == 200
    assert clock.sleeps == [7.0]
    assert response.metadata["retry_wait_s"] == 7.0


async def test_retry_after_http_date_and_cap(server: LocalServer) -> None:
    """An HTTP-date Retry-After is honoured; one beyond retry_after_max returns the 429."""
    clock = FakeClock()
    layer = RetryMiddleware(
        RetryPolicy(total=3, retry_after_max=60), sleep=clock.sleep, clock=clock.time
    )
    async with HttpClient(base_url=server.base_url, retries=0, middlewares=[layer]) as c:
        response = await c.get("/flaky/cap", params={"fail": 1, "status": 429, "retry_after": 3600})
    assert response.status == 429 and clock.sleeps == []
    assert hits(server, "cap") == 1


async def test_connect_failure_retried_even_for_post() -> None:
    """A POST whose connection was refused (the request never left) is retried, then raises
    our ConnectionError, which is also the built-in one."""
    clock = FakeClock()
    layer = RetryMiddleware(RetryPolicy(total=2), sleep=clock.sleep, clock=clock.time)
    async with HttpClient(retries=0, middlewares=[layer]) as c:
        with pytest.raises(builtins.ConnectionError) as info:
            await c.post("http://127.0.0.1:9/never", json={})
    assert isinstance(info.value, ConnectionError)
    assert info.value.attempts == 3 and len(clock.sleeps) == 2


async def test_deadline_stops_retrying(server: LocalServer) -> None:
    """A total deadline stops the retries before a wait that would overrun it."""
    clock = FakeClock()
    policy = RetryPolicy(total=10, backoff_base=4, jitter=False, deadline=10)
    layer = RetryMiddleware(policy, sleep=clock.sleep, clock=clock.time)
    async with HttpClient(base_url=server.base_url, retries=0, middlewares=[layer]) as c:
        response = await c.get("/flaky/dl", params={"fail": 100})
    assert response.status == 503
    assert clock.sleeps == [4.0]  # the next wait (8 s) would end past 10 s
    assert hits(server, "dl") == 2


# --------------------------------------------------------------------------- timeouts, errors


async def test_timeout_enforced(server: LocalServer, backend: str) -> None:
    """A slow answer past the timeout raises our TimeoutError (also the built-in) promptly."""
    async with HttpClient(base_url=server.base_url, timeout=0.2, retries=0, backend=backend) as c:
        started = time.monotonic()
        with pytest.raises(builtins.TimeoutError) as info:
            await c.get("/slow", params={"delay": 2})
        assert time.monotonic() - started < 1.5
        assert isinstance(info.value, TimeoutError)
        fast = await c.get("/slow", params={"delay": 0.3}, timeout=1.0)
        assert await fast.text() == "late"


async def test_connection_refused(backend: str) -> None:
    """Nothing listening: ConnectionError naming the URL."""
    async with HttpClient(retries=0, backend=backend) as c:
        with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9"):
            await c.get("http://127.0.0.1:9/")


# --------------------------------------------------------------------------- redirects


async def test_redirect_followed_same_origin_keeps_auth(
    client: HttpClient, server: LocalServer
) -> None:
    """A same-origin redirect is followed and keeps Authorization."""
    response = await client.get(
        "/redirect", params={"to": "/echo"}, headers={"Authorization": "Bearer s3cret"}
    )
    echo = await response.json()
    assert echo["headers"]["Authorization"] == "Bearer s3cret"
    assert response.metadata["redirects"] == [server.url("/redirect") + "?to=%2Fecho"]


async def test_redirect_cross_origin_strips_credentials(
    client: HttpClient, other_server: LocalServer
) -> None:
    """Authorization and Cookie are not forwarded to another origin."""
    response = await client.get(
        "/redirect",
        params={"to": other_server.url("/echo")},
        headers={"Authorization": "Bearer s3cret", "Cookie": "sid=1", "X-Other": "kept"},
    )
    echo = await response.json()
    assert "Authorization" not in echo["headers"]
    assert "Cookie" not in echo["headers"]
    assert echo["headers"]["X-Other"] == "kept"


async def test_303_turns_post_into_get(client: HttpClient) -> None:
    """A 303 after a POST is followed with a GET and no body."""
    response = await client.post("/redirect", params={"to": "/echo", "code": 303}, json={"a": 1})
    echo = await response.json()
    assert echo["method"] == "GET" and echo["body"] == ""


async def test_too_many_redirects(server: LocalServer, backend: str) -> None:
    """A redirect loop stops at max_redirects with TooManyRedirectsError."""
    async with HttpClient(base_url=server.base_url, max_redirects=3, backend=backend) as c:
        with pytest.raises(TooManyRedirectsError, match="more than 3"):
            await c.get("/loop")


async def test_redirects_can_be_disabled(server: LocalServer) -> None:
    """follow_redirects=False returns the 3xx itself."""
    async with HttpClient(base_url=server.base_url, follow_redirects=False) as c:
        response = await c.get("/redirect", params={"to": "/echo"})
    assert response.status == 302 and response.headers["Location"] == "/echo"


class _PlainTransport:
    """A custom transport (no ``redirect_handler``): one exchange through a built-in one that
    is told not to follow redirects, so the client's own wrapper must follow them."""

    def __init__(self) -> None:
        from pepperpy_core.http._aiohttp import AiohttpTransport

        self.inner = AiohttpTransport()
        self.sent: list[str] = []

    async def send(self, request: Request) -> Response:
        self.sent.append(request.url)
        return await self.inner.send(request, follow=False)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_custom_transport_redirects_followed_by_the_client(
    server: LocalServer, other_server: LocalServer
) -> None:
    """With a custom transport the client still follows redirects, one exchange per hop, and
    strips credentials across origins."""
    transport = _PlainTransport()
    async with HttpClient(base_url=server.base_url, transport=transport) as c:
        response = await c.get(
            "/redirect", params={"to": other_server.url("/echo")},
            headers={"Authorization": "Bearer s3cret"},
        )
        echo = await response.json()
    assert response.status == 200 and "Authorization" not in echo["headers"]
    assert transport.sent == [response.metadata["redirects"][0], other_server.url("/echo")]


async def test_send_request_result_is_a_task_ready_coroutine(server: LocalServer) -> None:
    """The base _send_request hands back the chain's coroutine: it can be awaited, gathered or
    made a task, as a coroutine function's result could."""
    async with HttpClient(base_url=server.base_url) as c:
        pending = c._send_request(c.build_request("GET", "/data"))
        assert asyncio.iscoroutine(pending)
        task = asyncio.create_task(pending)  # type: ignore[arg-type]
        first, second = await asyncio.gather(task, c._send_request(c.build_request("GET", "/data")))
    assert first.status == second.status == 200


async def test_a_transport_passed_in_is_not_rewired(server: LocalServer) -> None:
    """Two clients sharing one AiohttpTransport each follow their own redirects with their own
    limits; the transport is left as it was given."""
    from pepperpy_core.http._aiohttp import AiohttpTransport

    shared = AiohttpTransport()
    one = HttpClient(base_url=server.base_url, transport=shared)
    two = HttpClient(base_url=server.base_url, transport=shared, follow_redirects=False)
    first = await one.get("/redirect", params={"to": "/data"})
    second = await two.get("/redirect", params={"to": "/data"})
    assert first.status == 200 and len(first.metadata["redirects"]) == 1
    assert second.status == 302 and shared.redirect_handler is None
    await one.close()
    await two.close()


async def test_a_layer_changing_headers_changes_only_its_request(
    server: LocalServer, backend: str
) -> None:
    """Requests start from the client's headers; a layer that changes or removes them for one
    request leaves the client's defaults and every other request as they were."""

    class OneOff:
        async def __call__(self, request: Request, call_next: CallNext) -> Response:
            if request.extensions.get("tag"):
                request.headers["X-App"] = "changed"
                request.headers["X-Tag"] = "yes"
            return await call_next(request)

    async with HttpClient(base_url=server.base_url, headers={"X-App": "one"},
                          middlewares=[OneOff()], backend=backend) as c:
        tagged = await (await c.get("/echo", extensions={"tag": True})).json()
        plain = await (await c.get("/echo")).json()
        again = await (await c.get("/echo", headers={"X-Extra": "1"})).json()
    assert tagged["headers"]["X-App"] == "changed" and tagged["headers"]["X-Tag"] == "yes"
    assert plain["headers"]["X-App"] == "one" and "X-Tag" not in plain["headers"]
    assert again["headers"]["X-App"] == "one" and again["headers"]["X-Extra"] == "1"
    assert "X-Tag" not in again["headers"]


async def test_relative_urls_resolved_every_time(server: LocalServer) -> None:
    """Repeated and many distinct URLs resolve correctly against base_url (checked URLs are
    remembered, in bounded memory), and a bad URL is refused however many good ones came
    before it."""
    async with HttpClient(base_url=server.base_url + "/", retries=0) as c:
        for _ in range(3):
            assert (await c.get("/data")).url == server.url("/data")
            assert (await c.get("data")).url == server.url("/data")
        for n in range(1500):
            c._absolute(f"/items/{n}")
        assert len(c._urls) <= 1024
        assert c._absolute("/items/7") == server.url("/items/7")
    async with HttpClient() as bare:
        for _ in range(2):
            with pytest.raises(InvalidURLError, match="needs base_url"):
                await bare.get("/data")
            with pytest.raises(TypeError, match="url: expected a str, got bytes"):
                await bare.get(b"http://127.0.0.1/")  # type: ignore[arg-type]
            with pytest.raises(InvalidURLError, match="non-empty string"):
                await bare.get("")


# --------------------------------------------------------------------------- lifecycle


async def test_close_releases_and_forbids_use(server: LocalServer, backend: str) -> None:
    """After close() the pool is closed, a request raises ClientClosedError; close twice is ok."""
    c = HttpClient(base_url=server.base_url, backend=backend)
    await c.get("/data")
    await c.close()
    await c.aclose()
    assert c.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await c.get("/data")


async def test_client_created_outside_loop_works(server: LocalServer) -> None:
    """Constructing needs no running loop: the session is created at first use, inside it."""
    c = await asyncio.to_thread(HttpClient, base_url=server.base_url)
    async with c:
        assert (await c.get("/data")).status == 200


async def test_external_aiohttp_session_not_closed(server: LocalServer) -> None:
    """A session passed in stays the caller's: close() leaves it open."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        c = HttpClient(base_url=server.base_url, session=session)
        assert (await c.get("/data")).status == 200
        await c.close()
        assert not session.closed


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": -1}, r"HttpClient\(timeout=\.\.\.\) must be > 0 seconds, got -1"),
        ({"timeout": 0}, r"HttpClient\(timeout=\.\.\.\) must be > 0 seconds, got 0"),
        ({"max_connections": 0}, "max_connections"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"retries": -1}, "retries"),
        ({"headers": {"X-Bad": "a\r\nInjected: 1"}}, "line break"),
    ],
)
def test_bad_configuration_names_the_field(kwargs: dict[str, object], message: str) -> None:
    """A bad constructor argument raises ConfigurationError (a ValueError) naming it."""
    with pytest.raises(ConfigurationError, match=message) as info:
        HttpClient(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_unknown_or_mistyped_options_are_type_errors_naming_them() -> None:
    """An unknown keyword or a value of the wrong type is a TypeError naming the argument;
    the ready-made classes say what their positional argument is and that base_url is a
    keyword."""
    from pepperpy_core import CachedClient, RateLimitedClient

    with pytest.raises(TypeError, match="no_such_option"):
        HttpClient(no_such_option=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"HttpClient\(timeout=\.\.\.\)"):
        HttpClient(timeout="5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"cache_ttl=\.\.\.\) must be a number.*base_url="):
        CachedClient("https://api.example.com")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_requests"):
        RateLimitedClient("10")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"http2.*httpx"):
        HttpClient(http2=True)


def test_unknown_constructor_keywords_name_the_class_and_what_was_meant() -> None:
    """A misspelt option is a TypeError naming the class being built and the close match,
    whether it reaches HttpClient directly or through a ready-made class."""
    with pytest.raises(TypeError, match=r"^HttpClient\(\) .*'tiemout'; did you mean timeout=\?"):
        HttpClient(tiemout=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^CachedClient\(\) .*'verfy'; did you mean verify=\?"):
        pepperpy_core.CachedClient(60, verfy=False)  # type: ignore[call-arg]


async def test_unknown_request_keywords_are_type_errors(server: Any) -> None:
    """A misspelt verb keyword is a TypeError naming it, with what was meant; nothing is
    sent silently without it."""
    async with HttpClient(server.base_url) as client:
        with pytest.raises(TypeError, match="'parms'; did you mean params="):
            await client.get("/echo", parms={"a": 1})  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="'allow_redirects'; did you mean follow_redirects="):
            await client.get("/echo", allow_redirects=False)  # type: ignore[call-arg]


async def test_bad_requests_have_clear_errors(tmp_path: Path) -> None:
    """Relative URL without base_url, bad scheme, unknown method, bad header, json+data,
    missing file and a bad per-request timeout each raise a clear error before any I/O."""
    async with HttpClient() as c:
        with pytest.raises(InvalidURLError, match="needs base_url"):
            await c.get("/users")
        with pytest.raises(InvalidURLError, match="unsupported URL scheme 'ftp'"):
            await c.get("ftp://example.com/x")
        with pytest.raises(InvalidURLError, match="no host"):
            await c.get("http:///path")
        with pytest.raises(ConfigurationError, match="invalid HTTP method 'GET /'"):
            await c.request("GET /", "http://127.0.0.1:9/")
        with pytest.raises(ConfigurationError, match="header 'X-A'"):
            await c.get("http://127.0.0.1:9/", headers={"X-A": "1\n2"})
        with pytest.raises(ConfigurationError, match="either json= or data="):
            await c.post("http://127.0.0.1:9/", json={}, data={"a": 1})
        with pytest.raises(ConfigurationError, match="no such file"):
            await c.post("http://127.0.0.1:9/", files={"f": tmp_path / "missing.txt"})
        with pytest.raises(ConfigurationError, match="timeout"):
            await c.get("http://127.0.0.1:9/", timeout=-5)


# --------------------------------------------------------------------------- logging


async def test_one_log_event_per_attempt_without_secrets(server: LocalServer) -> None:
    """Each attempt logs method, redacted URL, status, elapsed and attempt; secrets never
    appear in the events."""
    policy = RetryPolicy(total=2, backoff_base=0.001)
    async with HttpClient(base_url=server.base_url, retries=policy) as c:
        with capture_events() as events:
            await c.get(
                "/flaky/log", params={"fail": 1, "api_key": "k-123", "signature": "sig"},
                headers={"Authorization": "Bearer tok-456", "X-MBX-APIKEY": "k-789"},
            )
    attempts = [e for e in events if e["event"] == "http.attempt"]
    assert [e["attempt"] for e in attempts] == [1, 2]
    assert [e["status"] for e in attempts] == [503, 200]
    assert all("elapsed_ms" in e and e["method"] == "GET" for e in attempts)
    text = repr(events)
    for secret in ("k-123", "sig&", "tok-456", "k-789"):
        assert secret not in text
    assert "api_key=%5BREDACTED%5D" in attempts[0]["url"] or "[REDACTED]" in attempts[0]["url"]


def test_library_does_not_configure_logging(tmp_path: Path) -> None:
    """Using the client leaves structlog unconfigured and prints no debug line by default."""
    import subprocess
    import sys

    script = (
        "import asyncio, structlog, pepperpy_core\n"
        "async def main():\n"
        "    async with pepperpy_core.HttpClient(retries=0) as c:\n"
        "        try:\n"
        "            await c.get('http://127.0.0.1:9/')\n"
        "        except pepperpy_core.ConnectionError:\n"
        "            pass\n"
        "asyncio.run(main())\n"
        "print('configured' if structlog.is_configured() else 'untouched')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "untouched"
    assert "http.attempt" not in out.stdout + out.stderr


# --------------------------------------------------------------------------- TLS


async def test_tls_verification_on_by_default(tmp_path: Path, backend: str) -> None:
    """A self-signed server is refused by default and accepted with its CA bundle."""
    trustme = pytest.importorskip("trustme")
    import ssl

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="secure")

    app.router.add_get("/", hello)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with LocalServer(app, ssl_context=server_ctx) as srv:
        async with HttpClient(retries=0, backend=backend) as c:
            with pytest.raises(ConnectionError, match=r"certificate|SSL|ssl") as info:
                await c.get(srv.url("/"))
            assert info.value.request_sent is False  # so even a POST may be retried
        async with HttpClient(verify=str(bundle), backend=backend) as c:
            assert await (await c.get(srv.url("/"))).text() == "secure"


def test_timeout_object_split() -> None:
    """A number becomes a Timeout whose connect/read parts never exceed the total."""
    c = HttpClient(timeout=5.0)
    request = c.build_request("GET", "http://127.0.0.1:9/")
    assert request.timeout == Timeout(total=5.0, connect=5.0, read=5.0)
    c2 = HttpClient(timeout=Timeout(total=60, connect=3, read=10))
    assert c2.build_request("GET", "http://127.0.0.1:9/").timeout.connect == 3

"""The HTTP client against servers nobody here wrote (httpbin under gunicorn, nginx), and
against our fault proxy in front of them. Every test runs on both backends."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import brotli
import pytest
from aiohttp import web
from peers.faultproxy import FaultProxy
from peers.http_site import DATA
from peers.httpbin import HttpBin
from peers.nginx import Nginx

from pepperpy_core import (
    BodyNotReplayableError,
    ConfigurationError,
    ConnectionError,
    DecodingError,
    HttpClient,
    InvalidURLError,
    ResponseTooLargeError,
    RetryPolicy,
    TooManyRedirectsError,
)
from pepperpy_core.testing import LocalServer

FAST = RetryPolicy(total=2, backoff_base=0.001, backoff_max=0.002)


# --------------------------------------------------------------------------- httpbin


@pytest.mark.parametrize("verb", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_httpbin_every_verb_round_trips(httpbin: HttpBin, backend: str, verb: str) -> None:
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        body = None if verb == "GET" else {"n": 1}
        kwargs = {} if body is None else {"json": body}
        response = await c.request(verb, "/anything?q=1", **kwargs)
        echoed = await response.json()
        assert response.status == 200
        assert echoed["method"] == verb and echoed["args"] == {"q": "1"}
        if body is not None:
            assert echoed["json"] == body
        head = await c.head("/get")
        assert head.status == 200 and head.content == b""
        options = await c.options("/get")
        assert "GET" in options.headers.get("allow", "")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_httpbin_each_redirect_status(httpbin: HttpBin, backend: str, status: int) -> None:
    """301/302 turn a POST into GET, 303 always; 307/308 resend method and body exactly."""
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        response = await c.post(
            f"/redirect-to?url=/anything&status_code={status}", data=b"payload-bytes"
        )
        echoed = await response.json()
        assert response.metadata["redirects"]
        if status in (307, 308):
            assert echoed["method"] == "POST" and echoed["data"] == "payload-bytes"
        else:
            assert echoed["method"] == "GET" and echoed["data"] == ""


@pytest.mark.parametrize("status", [307, 308])
async def test_httpbin_redirect_resends_a_seekable_file_from_where_it_started(
    httpbin: HttpBin, backend: str, status: int
) -> None:
    handle = io.BytesIO(b"skip:the-real-body")
    handle.seek(5)
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        response = await c.put(f"/redirect-to?url=/anything&status_code={status}", data=handle)
        assert (await response.json())["data"] == "the-real-body"


async def test_httpbin_redirect_with_a_one_shot_body_is_a_clear_error(
    httpbin: HttpBin, backend: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"only-once"

    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        with pytest.raises(BodyNotReplayableError, match="one-shot"):
            await c.post("/redirect-to?url=/anything&status_code=307", data=chunks())


@pytest.mark.parametrize("status", [307, 308])
async def test_httpbin_redirect_resends_a_seekable_upload_from_where_it_started(
    httpbin: HttpBin, backend: str, status: int
) -> None:
    """files= follows data='s rules: a seekable file is sent again from its offset."""
    handle = io.BytesIO(b"skip:the-real-file")
    handle.seek(5)
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        response = await c.post(
            f"/redirect-to?url=/anything&status_code={status}",
            files={"doc": ("doc.txt", handle, "text/plain")}, data={"field": "v"},
        )
        echoed = await response.json()
    assert response.metadata["redirects"]
    assert echoed["files"] == {"doc": "the-real-file"} and echoed["form"] == {"field": "v"}


async def test_httpbin_one_shot_upload_is_sent_once_and_never_empty(
    httpbin: HttpBin, backend: str, tmp_path: Path
) -> None:
    """A non-seekable file (a pipe) in files= is streamed whole; a 307 that would need it again
    is a BodyNotReplayableError, not an upload with an empty or partial file."""

    def pipe_with(data: bytes) -> Any:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, data)
        os.close(write_fd)
        return os.fdopen(read_fd, "rb")

    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        with pipe_with(b"piped-bytes") as source:
            response = await c.post("/anything", files={"doc": ("doc.bin", source)})
            assert (await response.json())["files"] == {"doc": "piped-bytes"}
        with pipe_with(b"piped-bytes") as source, pytest.raises(
            BodyNotReplayableError, match="one-shot"
        ):
            await c.post(
                "/redirect-to?url=/anything&status_code=307", files={"doc": ("d", source)}
            )


async def test_retry_of_a_one_shot_upload_stops_instead_of_sending_it_empty(
    httpbin: HttpBin, backend: str
) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"once")
    os.close(write_fd)
    async with FaultProxy(httpbin.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=FAST
    ) as c:
        with os.fdopen(read_fd, "rb") as source:
            response = await c.put("/status/503", files={"doc": ("d", source)})
        assert response.status == 503 and proxy.requests == 1
        with io.BytesIO(b"again") as seekable:
            response = await c.put("/status/503", files={"doc": ("d", seekable)})
        assert response.status == 503 and proxy.requests == 4


async def test_httpbin_redirect_loop_is_final(httpbin: HttpBin, backend: str) -> None:
    """max_redirects=3 on a long chain: one TooManyRedirectsError after 4 requests, whatever
    retries says."""
    async with FaultProxy(httpbin.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, max_redirects=3, retries=FAST
    ) as c:
        with pytest.raises(TooManyRedirectsError):
            await c.get("/redirect/20")
        assert proxy.requests == 4


async def test_httpbin_cookies_and_basic_auth(httpbin: HttpBin, backend: str) -> None:
    async with HttpClient(base_url=httpbin.base, backend=backend, cookies={"given": "g"}) as c:
        await c.get("/cookies/set?from_server=s")
        assert (await (await c.get("/cookies")).json())["cookies"] == {
            "given": "g", "from_server": "s"
        }
        denied = await c.get("/basic-auth/user/pw")
        assert denied.status == 401
        ok = await c.get("/basic-auth/user/pw", headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert (await ok.json()) == {"authenticated": True, "user": "user"}


async def test_credentials_and_cookies_never_cross_origins(
    httpbin: HttpBin, backend: str
) -> None:
    """Client-level Authorization, a per-request Proxy-Authorization and the client's cookies
    stay with base_url's origin: a redirect to another host (127.0.0.2, still loopback) gets
    none of them."""
    async with FaultProxy(httpbin.port, host="127.0.0.2") as other, HttpClient(
        base_url=httpbin.base, backend=backend,
        headers={"Authorization": "Bearer client-secret", "X-Keep": "kept"},
        cookies={"sid": "cookie-secret"},
    ) as c:
        same = await (await c.get("/headers")).json()
        assert same["headers"]["Authorization"] == "Bearer client-secret"
        assert "sid=cookie-secret" in same["headers"]["Cookie"]
        hop = await c.get(
            f"/redirect-to?url={other.url('/headers')}",
            headers={"Proxy-Authorization": "Basic cHJveHk6c2VjcmV0"},
        )
        seen = (await hop.json())["headers"]
        assert hop.metadata["redirects"]
        assert "Authorization" not in seen and "Proxy-Authorization" not in seen
        assert "Cookie" not in seen
        assert seen["X-Keep"] == "kept"
        direct = await (await c.get(other.url("/cookies"))).json()
        assert direct["cookies"] == {}


async def test_port_only_redirect_drops_credentials(httpbin: HttpBin, backend: str) -> None:
    """httpbin redirects to the same host on another port (our proxy on 127.0.0.1 in front of
    httpbin): another origin (RFC 6454), so Authorization, Proxy-Authorization and a Cookie
    header stay behind; other headers follow."""
    async with FaultProxy(httpbin.port) as other, HttpClient(
        base_url=httpbin.base, backend=backend,
        headers={"Authorization": "Bearer port-secret", "X-Keep": "kept"},
    ) as c:
        assert other.port != httpbin.port
        hop = await c.get(
            f"/redirect-to?url={other.url('/headers')}",
            headers={"Proxy-Authorization": "Basic cG9ydDpzZWNyZXQ=", "Cookie": "c=secret"},
        )
        seen = (await hop.json())["headers"]
    assert hop.metadata["redirects"] and other.requests == 1
    assert not {"Authorization", "Proxy-Authorization", "Cookie"} & set(seen)
    assert seen["X-Keep"] == "kept"


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/brotli"])
async def test_httpbin_compressed_bodies_decode(httpbin: HttpBin, backend: str, path: str) -> None:
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        response = await c.get(path)
        body = await response.json()
        assert body.get("gzipped") or body.get("deflated") or body.get("brotli")
        async with c.stream("GET", path) as streamed:
            assert json.loads(await streamed.read()) == body


async def test_httpbin_drip_and_stream(httpbin: HttpBin, backend: str) -> None:
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        async with c.stream("GET", "/drip?numbytes=50&duration=0.3&delay=0") as response:
            got = b"".join([chunk async for chunk in response.iter_bytes(8)])
        assert got == b"*" * 50
        async with c.stream("GET", "/stream/5") as response:
            lines = (await response.read()).splitlines()
        assert [json.loads(line)["id"] for line in lines] == [0, 1, 2, 3, 4]


async def test_httpbin_cache_and_etag(httpbin: HttpBin, backend: str) -> None:
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        assert (await c.get("/cache")).status == 200
        assert (await c.get("/cache", headers={"If-Modified-Since": "x"})).status == 304
        assert (await c.get("/etag/v1", headers={"If-None-Match": '"v1"'})).status == 304
        fresh = await c.get("/etag/v1", headers={"If-None-Match": '"v0"'})
        assert fresh.status == 200 and fresh.headers["etag"].strip('"') == "v1"


async def test_httpbin_retries_idempotent_500_but_not_post(httpbin: HttpBin, backend: str) -> None:
    async with FaultProxy(httpbin.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=FAST
    ) as c:
        assert (await c.get("/status/500")).status == 500
        assert proxy.requests == 3
        assert (await c.post("/status/500")).status == 500
        assert proxy.requests == 4


async def test_retry_with_a_one_shot_body_stops_instead_of_sending_it_empty(
    httpbin: HttpBin, backend: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"once"

    async with FaultProxy(httpbin.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=FAST
    ) as c:
        response = await c.put("/status/503", data=chunks())
        assert response.status == 503 and proxy.requests == 1


@pytest.mark.parametrize("path", ["/bad-ipv6", "/bad-ipv6-literal"])
async def test_malformed_ipv6_in_location_is_refused(
    nginx: Nginx, backend: str, path: str
) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        with pytest.raises(InvalidURLError, match="Location: malformed"):
            await c.get(path)


# --------------------------------------------------------------------------- nginx


async def test_nginx_static_validators_and_etag_off(nginx: Nginx, backend: str) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        response = await c.get("/data.txt")
        assert response.content == DATA
        assert response.headers["etag"].startswith('"')
        assert response.headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
        again = await c.get("/data.txt", headers={"If-None-Match": response.headers["etag"]})
        assert again.status == 304
        plain = await c.get("/noetag/data.txt")
        assert plain.content == DATA and "etag" not in plain.headers


async def test_nginx_gzip_static_and_on_the_fly_gzip(nginx: Nginx, backend: str) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        static = await c.get("/static/data.txt")
        assert static.headers["content-encoding"] == "gzip" and static.content == DATA
        fly = await c.get("/gz/data.txt")
        assert fly.headers["content-encoding"] == "gzip" and fly.content == DATA
        async with c.stream("GET", "/gz/data.txt") as streamed:
            assert await streamed.read() == DATA


async def test_nginx_range_and_max_ranges_0(nginx: Nginx, backend: str) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        part = await c.get("/data.txt", headers={"Range": "bytes=10-19"})
        assert part.status == 206 and part.content == DATA[10:20]
        whole = await c.get("/noranges/data.txt", headers={"Range": "bytes=10-19"})
        assert whole.status == 200 and whole.content == DATA


async def test_truncated_gzip_body_is_an_error(nginx: Nginx, backend: str) -> None:
    """nginx serves a .gz cut in half with a correct Content-Length: never a 200 with half."""
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        with pytest.raises(DecodingError, match="ended early"):
            await c.get("/static/cut.txt")
        async with c.stream("GET", "/static/cut.txt") as response:
            with pytest.raises(DecodingError, match="ended early"):
                await response.read()


async def test_gzip_bomb_is_not_inflated_into_memory(nginx: Nginx, backend: str) -> None:
    """20 KiB of gzip that inflates to 20 MiB: refused at max_body_size, buffered and
    streamed, with memory far below the inflated size."""
    async with HttpClient(base_url=nginx.base, backend=backend, max_body_size=1 << 20) as c:
        tracing_already = tracemalloc.is_tracing()  # e.g. PYTHONTRACEMALLOC=N
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            with pytest.raises(ResponseTooLargeError):
                await c.get("/static/bomb.txt")
            async with c.stream("GET", "/static/bomb.txt") as response:
                with pytest.raises(ResponseTooLargeError):
                    async for _ in response.iter_bytes(64 * 1024):
                        pass
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            if not tracing_already:
                tracemalloc.stop()
        assert peak < 8 * 1024 * 1024


async def test_deep_json_is_a_decoding_error(nginx: Nginx, backend: str) -> None:
    async with HttpClient(base_url=nginx.base, backend=backend) as c:
        with pytest.raises(DecodingError, match="nested too deeply"):
            await (await c.get("/deep.json")).json()
        deep: list[object] = []
        for _ in range(100_000):
            deep = [deep]
        with pytest.raises(ConfigurationError, match="json="):
            await c.post("/small.json", json=deep)


# --------------------------------------------------------------------------- fault proxy


async def test_retries_n_means_at_most_n_plus_1_sends(nginx: Nginx, backend: str) -> None:
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=FAST
    ) as c:
        proxy.fault = ("cut", 0)
        with pytest.raises(ConnectionError):
            await c.get("/data.txt")
        assert proxy.requests == 3


async def test_no_hidden_retry_on_a_dropped_keepalive_connection(
    nginx: Nginx, backend: str
) -> None:
    """The server drops a pooled connection: with retries=0 that is one send and an error,
    never a second send made by the library underneath."""
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=0
    ) as c:
        proxy.fault = "once"
        assert (await c.get("/small.json")).status == 200
        with pytest.raises(ConnectionError):
            await c.get("/small.json")
        assert proxy.connections == 1 and proxy.requests == 2


async def test_cut_body_is_an_error_and_trickle_completes(nginx: Nginx, backend: str) -> None:
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=0
    ) as c:
        proxy.fault = ("cut", 4000)
        with pytest.raises(ConnectionError):
            await c.get("/data.txt")
        proxy.fault = ("reset", 4000)
        with pytest.raises(ConnectionError):
            await c.get("/gz/data.txt")
        proxy.fault = ("trickle", 0.0005)
        assert (await c.get("/small.json")).content == b'{"ok": true}'


async def test_stalled_server_times_out(nginx: Nginx, backend: str) -> None:
    from pepperpy_core import TimeoutError

    async with FaultProxy(nginx.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend, retries=0, timeout=0.3
    ) as c:
        proxy.fault = "stall"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(c.get("/data.txt"), 5)


async def test_full_stack_counts_exactly_against_httpbin_and_a_cut(
    httpbin: HttpBin, backend: str
) -> None:
    """The full stack (metrics, cache, retry, rate limit) in front of httpbin, through our
    fault proxy: more concurrent requests than one metrics batch, a retried 500, a cache hit
    and a connection cut before any answer. Every figure counts exactly what went out."""
    from pepperpy_core import CachedClient, MetricsClient, RateLimit, RateLimitedClient

    class Stack(MetricsClient, CachedClient, RateLimitedClient):
        rate_limit = RateLimit.of((10_000, 1.0))

    async with FaultProxy(httpbin.port) as proxy, Stack(
        cache_ttl=None, base_url=proxy.base, backend=backend, retries=FAST
    ) as c:
        proxy.fault = ("cut", 0)  # the proxy's faults apply to new connections: first, then
        with pytest.raises(ConnectionError):
            await c.get("/get?cut=1")  # three attempts, then the error
        proxy.fault = None
        answers = await asyncio.gather(*(c.get(f"/get?n={i}") for i in range(100)))
        assert [(await a.json())["args"]["n"] for a in answers] == [str(i) for i in range(100)]
        assert (await c.get("/status/500")).status == 500  # three attempts
        assert (await c.get("/cache/60")).metadata["cache"] == "miss"
        assert (await c.get("/cache/60")).metadata["cache"] == "hit"  # nothing sent
        figures = c.get_metrics()
    assert proxy.requests == 100 + 3 + 1 + 3
    assert figures["total_requests"] == 104 and figures["total_errors"] == 1
    assert figures["errors_by_type"] == {"ConnectionError": 1}
    assert figures["status_classes"] == {"2xx": 102, "5xx": 1}
    assert figures["total_attempts"] == proxy.requests and figures["total_retries"] == 4
    assert figures["cache_hits"] == 1 and figures["cache_misses"] == 102


# --------------------------------------------------------------------------- our exact server


def _coded_app() -> web.Application:
    """Bodies compressed whole, or cut short with a Content-Length that matches the cut."""
    data = DATA[:20000]
    coders = {
        "deflate": zlib.compress,
        "gzip": gzip.compress,
        "br": brotli.compress,
    }

    async def serve(request: web.Request) -> web.Response:
        coding = request.match_info["coding"]
        body = coders[coding](data)
        if request.match_info["how"] == "cut":
            body = body[: len(body) // 2]
        return web.Response(body=body, headers={"Content-Encoding": coding})

    app = web.Application()
    app.router.add_get("/{how}/{coding}", serve)
    return app


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
async def test_every_truncated_coding_is_an_error(backend: str, coding: str) -> None:
    async with LocalServer(_coded_app()) as server, HttpClient(
        base_url=server.base_url, backend=backend
    ) as c:
        assert (await c.get(f"/whole/{coding}")).content == DATA[:20000]
        with pytest.raises(DecodingError, match="ended early"):
            await c.get(f"/cut/{coding}")
        async with c.stream("GET", f"/cut/{coding}") as response:
            with pytest.raises(DecodingError, match="ended early"):
                async for _ in response.iter_bytes(1024):
                    pass


def _held_back_app(release: asyncio.Event) -> web.Application:
    """Sends the first 1,000 bytes of the body (identity, or gzip flushed so that they can be
    decoded), then waits for ``release`` before the rest: a client that sits on pieces until
    it has ``chunk_size`` bytes never sees the first ones."""
    first, rest = DATA[:1000], DATA[1000:]

    async def serve(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        coder = None
        if request.match_info["coding"] == "gzip":
            coder = zlib.compressobj(wbits=31)
            response.headers["Content-Encoding"] = "gzip"
        await response.prepare(request)
        if coder is None:
            await response.write(first)
            await release.wait()
            await response.write(rest)
        else:
            await response.write(coder.compress(first) + coder.flush(zlib.Z_SYNC_FLUSH))
            await release.wait()
            await response.write(coder.compress(rest) + coder.flush())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/held/{coding}", serve)
    return app


@pytest.mark.parametrize("coding", ["identity", "gzip"])
async def test_stream_hands_pieces_over_as_they_arrive(backend: str, coding: str) -> None:
    """iter_bytes(1 MiB) yields the first 1,000 bytes while the server still holds the rest
    (the server only sends the rest once the client has them): pieces are handed over as they
    arrive, never held back until a whole chunk is filled."""
    release = asyncio.Event()
    async with LocalServer(_held_back_app(release)) as server, HttpClient(
        base_url=server.base_url, backend=backend, retries=0, timeout=5
    ) as c:
        received = b""
        async with c.stream("GET", f"/held/{coding}") as response:
            pieces = response.iter_bytes(1024 * 1024)
            while len(received) < 1000:
                received += await asyncio.wait_for(pieces.__anext__(), 2)
            assert received == DATA[:1000]
            release.set()
            async for piece in pieces:
                received += piece
    assert received == DATA


# --------------------------------------------------------------------------- files= replay


class _Pipe:
    """A binary stream that cannot seek (as a pipe or a socket file is)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.name = "piped.bin"

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("status", [307, 308])
async def test_httpbin_redirect_resends_a_multipart_file_from_where_it_started(
    httpbin: HttpBin, backend: str, status: int
) -> None:
    """files= with a seekable file at offset 5, redirected by httpbin with 307/308: the part
    holds the file from offset 5 on, exactly, on the second hop."""
    handle = io.BytesIO(b"skip:the-real-file")
    handle.seek(5)
    async with HttpClient(base_url=httpbin.base, backend=backend) as c:
        response = await c.post(
            f"/redirect-to?url=/anything&status_code={status}",
            files={"f": ("f.bin", handle)}, data={"k": "v"},
        )
        echoed = await response.json()
    assert response.metadata["redirects"]
    assert echoed["files"] == {"f": "the-real-file"} and echoed["form"] == {"k": "v"}


async def test_a_file_like_object_without_io_base_is_streamed_once(
    httpbin: HttpBin, backend: str
) -> None:
    """files= with an object that only has read() and seekable() (not an io.IOBase, which
    aiohttp alone could not serialise) is streamed; a 307 that needs it again is
    BodyNotReplayableError."""
    async with FaultProxy(httpbin.port) as proxy, HttpClient(
        base_url=proxy.base, backend=backend
    ) as c:
        echoed = await (await c.post("/anything", files={"f": _Pipe(b"streamed")})).json()
        assert echoed["files"] == {"f": "streamed"}
        with pytest.raises(BodyNotReplayableError, match="one-shot"):
            await c.post("/redirect-to?url=/anything&status_code=307", files={"f": _Pipe(b"x")})
        assert proxy.requests == 2


def _flaky_upload_app(seen: list[bytes]) -> web.Application:
    """Answers 503 to the first upload and echoes the file part of every later one."""

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        part = form["f"]
        assert isinstance(part, web.FileField)
        seen.append(part.file.read())
        if len(seen) == 1:
            return web.Response(status=503)
        return web.Response(body=seen[-1])

    app = web.Application()
    app.router.add_put("/upload", upload)
    return app


async def test_retried_multipart_upload_resends_the_file_exactly(backend: str) -> None:
    """Our server answers 503 once: the retried PUT sends the seekable file again from its
    original offset; a non-seekable one is sent once and the 503 stands."""
    seen: list[bytes] = []
    async with LocalServer(_flaky_upload_app(seen)) as server, HttpClient(
        base_url=server.base_url, backend=backend, retries=FAST
    ) as c:
        handle = io.BytesIO(b"HEADER" + DATA[:70_000])
        handle.seek(6)
        response = await c.put("/upload", files={"f": ("d.txt", handle)})
        assert response.status == 200 and response.content == DATA[:70_000]
        assert seen == [DATA[:70_000]] * 2
        seen.clear()
        response = await c.put("/upload", files={"f": _Pipe(b"one-shot")})
        assert response.status == 503 and seen == [b"one-shot"]

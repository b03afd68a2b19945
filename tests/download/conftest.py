"""A real file server on 127.0.0.1 with faults on demand, for the download tests.

``GET /files/{name}?size=N`` serves deterministic random bytes with ETag, Last-Modified and
Range support. Query switches add faults:

- ``drop=N``: the first ``drops`` (default 1) requests send N bytes, then cut the connection.
- ``stall_after=N``: the first ``stalls`` (default: all) requests send N bytes, then hang.
- ``norange=1``: Range is ignored (always 200 with the whole body).
- ``fail=N``: the first N requests get 503 (``retry_after=S`` adds a Retry-After header).
- ``delay=S``: wait S seconds before answering (to observe concurrency).
- ``cd=VALUE``: send ``Content-Disposition: VALUE``.

``GET /{name}`` serves the same as ``/files/{name}``, for the documentation's examples.
``GET /sums/{name}.sha256?size=N`` is a sha256sum line for that body (``wrong=1``: a wrong one).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache

import pytest
from aiohttp import web

from pepperpy_core import HttpClient
from pepperpy_core.testing import LocalServer

MiB = 1024 * 1024
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@lru_cache(maxsize=16)
def body_of(name: str, size: int) -> bytes:
    """The bytes served for ``name`` (random, so a misplaced range cannot go unnoticed)."""
    return random.Random(name).randbytes(size)


def sha_of(name: str, size: int) -> str:
    return hashlib.sha256(body_of(name, size)).hexdigest()


@dataclass
class Faults:
    """What the server saw: hits per name, Range headers, and peak concurrency."""

    hits: Counter[str] = field(default_factory=Counter)
    ranges: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0


FAULTS = web.AppKey("faults", Faults)


def make_file_app() -> web.Application:
    app = web.Application()
    app[FAULTS] = Faults()
    app.router.add_get("/files/{name}", _serve_file)
    app.router.add_get("/sums/{name}.sha256", _serve_sum)
    app.router.add_get("/{name}", _serve_file)  # short URLs for the documentation examples
    return app


async def _serve_file(request: web.Request) -> web.StreamResponse:
    faults = request.app[FAULTS]
    faults.in_flight += 1
    faults.peak = max(faults.peak, faults.in_flight)
    try:
        return await _answer(request, faults)
    finally:
        faults.in_flight -= 1


async def _answer(request: web.Request, faults: Faults) -> web.StreamResponse:
    name, query = request.match_info["name"], request.query
    faults.hits[name] += 1
    hit = faults.hits[name]
    faults.ranges.append((name, request.headers.get("Range"), request.headers.get("If-Range")))
    if "delay" in query:
        await asyncio.sleep(float(query["delay"]))
    if hit <= int(query.get("fail", "0")):
        headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
        return web.Response(status=503, text="busy", headers=headers)
    body = body_of(name, int(query.get("size", str(3 * MiB))))
    etag = f'"{name}-v1"'
    start = _range_start(request, etag) if query.get("norange") != "1" else 0
    response = web.StreamResponse(status=206 if start else 200)
    response.content_length = len(body) - start
    response.headers.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
    if query.get("norange") != "1":
        response.headers["Accept-Ranges"] = "bytes"
    if start:
        response.headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
    if "cd" in query:
        response.headers["Content-Disposition"] = query["cd"]
    await response.prepare(request)
    await _send(request, response, body[start:], hit)
    return response


def _range_start(request: web.Request, etag: str) -> int:
    wanted = request.headers.get("Range", "")
    if not wanted.startswith("bytes=") or not wanted.endswith("-"):
        return 0
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range not in (etag, LAST_MODIFIED):
        return 0
    return int(wanted[len("bytes=") : -1])


async def _send(request: web.Request, response: web.StreamResponse, data: bytes, hit: int) -> None:
    query = request.query
    if "drop" in query and hit <= int(query.get("drops", "1")):
        await response.write(data[: int(query["drop"])])
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()
        return
    if "stall_after" in query and hit <= int(query.get("stalls", "1000")):
        await response.write(data[: int(query["stall_after"])])
        await asyncio.sleep(3600)
    for offset in range(0, len(data), 256 * 1024):
        await response.write(data[offset : offset + 256 * 1024])
    await response.write_eof()


async def _serve_sum(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    digest = sha_of(name, int(request.query.get("size", str(3 * MiB))))
    if request.query.get("wrong") == "1":
        digest = "0" * 64
    return web.Response(text=f"{digest}  {name}\n")


class FileServer:
    """The running server plus helpers: URLs with fault switches, the bodies it serves."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server

    @property
    def faults(self) -> Faults:
        return self.server.app[FAULTS]

    def url(self, name: str, **query: object) -> str:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        return self.server.url(f"/files/{name}") + (f"?{text}" if text else "")

    def sum_url(self, name: str, **query: object) -> str:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        return self.server.url(f"/sums/{name}.sha256") + (f"?{text}" if text else "")

    @staticmethod
    def body(name: str, size: int = 3 * MiB) -> bytes:
        return body_of(name, size)

    @staticmethod
    def sha(name: str, size: int = 3 * MiB) -> str:
        return sha_of(name, size)


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    """The faulty file server."""
    async with LocalServer(make_file_app()) as srv:
        yield FileServer(srv)


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    """An HttpClient with short timeouts for the download tests."""
    async with HttpClient(timeout=10.0, retries=0) as client:
        yield client


from download.nginx_peer import Nginx, nginx  # noqa: E402,F401  (the nginx peer fixture)

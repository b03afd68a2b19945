"""A real aiohttp server on 127.0.0.1 for the behaviour tests, counting what reaches it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate

import pytest
from aiohttp import web

from pepperpy_core.testing import FakeClock, LocalServer

HITS = web.AppKey("hits", Counter[str])
STATE = web.AppKey("state", dict[str, float])


def _count(request: web.Request, name: str) -> int:
    request.app[HITS][name] += 1
    return request.app[HITS][name]


def _json(data: object, **headers: str) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), content_type="application/json",
                        headers=headers)


async def fresh(request: web.Request) -> web.Response:
    """Fresh for max_age seconds (default 60); ``slow`` delays the answer."""
    n = _count(request, "fresh")
    await asyncio.sleep(float(request.query.get("slow", 0)))
    return _json({"n": n}, **{"Cache-Control": f"max-age={request.query.get('max_age', 60)}"})


async def plain(request: web.Request) -> web.Response:
    """No cache headers at all (what cache_ttl is for); ``slow`` delays the answer."""
    n = _count(request, "plain")
    await asyncio.sleep(float(request.query.get("slow", 0)))
    return _json({"n": n})


async def expires(request: web.Request) -> web.Response:
    now = time.time()
    return _json({"n": _count(request, "expires")},
                 Date=formatdate(now, usegmt=True), Expires=formatdate(now + 60, usegmt=True))


async def no_store(request: web.Request) -> web.Response:
    return _json({"n": _count(request, "no-store")}, **{"Cache-Control": "no-store"})


async def etag(request: web.Request) -> web.Response:
    """Always revalidated (no-cache); answers 304 to a matching If-None-Match."""
    _count(request, "etag")
    if request.headers.get("If-None-Match") == '"v1"':
        _count(request, "etag-304")
        return web.Response(status=304, headers={"ETag": '"v1"', "Cache-Control": "max-age=30"})
    return _json({"version": 1}, ETag='"v1"', **{"Cache-Control": "no-cache"})


async def last_modified(request: web.Request) -> web.Response:
    _count(request, "lastmod")
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    if request.headers.get("If-Modified-Since") == stamp:
        _count(request, "lastmod-304")
        return web.Response(status=304)
    return _json({"lm": True}, **{"Last-Modified": stamp, "Cache-Control": "max-age=0"})


async def vary(request: web.Request) -> web.Response:
    _count(request, "vary")
    lang = request.headers.get("Accept-Language", "none")
    return _json({"lang": lang}, Vary="Accept-Language", **{"Cache-Control": "max-age=60"})


async def stale(request: web.Request) -> web.Response:
    """Fresh 10 s, usable 60 s more on error; fails with 503 once state['broken'] is set."""
    _count(request, "stale")
    if request.app[STATE].get("broken"):
        return web.Response(status=503)
    return _json({"ok": True}, **{"Cache-Control": "max-age=10, stale-if-error=60"})


async def flaky(request: web.Request) -> web.Response:
    """Fails ``fail`` times per ``key`` with ``status`` (and Retry-After), then 200."""
    key = "flaky:" + request.query.get("key", "")
    n = _count(request, key)
    if n <= int(request.query.get("fail", 1)):
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        return web.Response(status=int(request.query.get("status", 503)), headers=headers)
    return _json({"n": n, "ok": True}, **{"Cache-Control": request.query.get("cc", "no-store")})


async def echo(request: web.Request) -> web.Response:
    _count(request, "echo")
    body = await request.read()
    return _json({"method": request.method, "headers": dict(request.headers),
                  "body": body.decode()})


async def throttle(request: web.Request) -> web.Response:
    """A server rate limit: it serves ``allow`` requests, then answers 429 with Retry-After for
    ``penalty`` seconds to everything that arrives meanwhile (counted as ``throttle-429``)."""
    state = request.app[STATE]
    _count(request, "throttle")
    now = time.monotonic()
    if now < state.get("penalty_until", 0):
        _count(request, "throttle-429")
        return web.Response(status=429, headers={"Retry-After": request.query["penalty"]})
    served = state["served"] = state.get("served", 0) + 1
    if served == int(request.query["allow"]) + 1:
        state["penalty_until"] = now + float(request.query["penalty"])
        _count(request, "throttle-429")
        return web.Response(status=429, headers={"Retry-After": request.query["penalty"]})
    return _json({"ok": True})


def make_app() -> web.Application:
    app = web.Application()
    app[HITS] = Counter()
    app[STATE] = {}
    app.router.add_get("/fresh", fresh)
    app.router.add_get("/plain", plain)
    app.router.add_get("/expires", expires)
    app.router.add_get("/no-store", no_store)
    app.router.add_get("/etag", etag)
    app.router.add_get("/lastmod", last_modified)
    app.router.add_get("/vary", vary)
    app.router.add_get("/stale", stale)
    app.router.add_route("*", "/flaky", flaky)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/throttle", throttle)
    return app


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer(make_app()) as srv:
        yield srv


@pytest.fixture
def hits(server: LocalServer) -> Counter[str]:
    """How many requests each endpoint received."""
    return server.app[HITS]


@pytest.fixture
def state(server: LocalServer) -> dict[str, float]:
    return server.app[STATE]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_factory() -> Callable[[], web.Application]:
    """Builds a fresh test app (for a server the test starts and stops itself)."""
    return make_app

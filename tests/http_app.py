"""The aiohttp application the core HTTP tests talk to (importable: tests/ is on sys.path)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter

from aiohttp import web

from pepperpy_core.testing import LocalServer

HITS = web.AppKey("hits", Counter)


def make_app() -> web.Application:
    """The application the core HTTP tests talk to."""
    app = web.Application()
    app[HITS] = Counter()
    routes = web.RouteTableDef()

    @routes.get("/data")
    async def data(request: web.Request) -> web.Response:
        return web.json_response({"items": [1, 2, 3]})

    @routes.get("/users")
    async def list_users(request: web.Request) -> web.Response:
        page, limit = int(request.query["page"]), int(request.query["limit"])
        return web.json_response({"page": page, "limit": limit, "users": ["alice", "bob"]})

    @routes.post("/users")
    async def create_user(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"id": 1, **body}, status=201)

    @routes.route("*", "/echo")
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "header_list": list(request.headers.items()),
                "body": body.decode("utf-8", "replace"),
                "content_type": request.content_type,
            }
        )

    @routes.post("/upload")
    async def upload(request: web.Request) -> web.Response:
        reader = await request.multipart()
        parts = {}
        async for part in reader:
            digest, size = hashlib.sha256(), 0
            while chunk := await part.read_chunk(65536):  # type: ignore[union-attr]
                digest.update(chunk)
                size += len(chunk)
            parts[part.name] = {
                "filename": part.filename,  # type: ignore[union-attr]
                "size": size,
                "sha256": digest.hexdigest(),
            }
        return web.json_response(parts)

    @routes.route("*", "/flaky/{key}")
    async def flaky(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        app[HITS][key] += 1
        failures = int(request.query.get("fail", "2"))
        status = int(request.query.get("status", "503"))
        if app[HITS][key] <= failures:
            headers = {}
            if "retry_after" in request.query:
                headers["Retry-After"] = request.query["retry_after"]
            return web.Response(status=status, text="try again", headers=headers)
        return web.json_response({"hits": app[HITS][key]})

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "1")))
        return web.Response(text="late")

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    @routes.route("*", "/redirect")
    async def redirect(request: web.Request) -> web.Response:
        code = int(request.query.get("code", "302"))
        return web.Response(status=code, headers={"Location": request.query["to"]})

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    @routes.get("/setcookie")
    async def setcookie(request: web.Request) -> web.Response:
        response = web.Response(text="set")
        response.set_cookie("session", "abc123")
        return response

    @routes.get("/big")
    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query["size"])
        chunked = request.query.get("chunked") == "1"
        response = web.StreamResponse()
        if not chunked:
            response.content_length = size
        await response.prepare(request)
        block = b"x" * 65536
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            await response.write(piece)
            sent += len(piece)
        await response.write_eof()
        return response

    @routes.get("/html")
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>not json</html>", content_type="text/html")

    app.add_routes(routes)
    return app


def hits(server: LocalServer, key: str) -> int:
    """How many requests the test server saw for a /flaky key."""
    return server.app[HITS][key]

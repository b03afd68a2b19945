"""A small aiohttp site for the observability tests: one failure to retry, a file to download
and two WebSocket feeds, one of which drops its first connection (the client reconnects)."""

from __future__ import annotations

from aiohttp import WSMsgType, web


def make_site() -> web.Application:
    counts = {"flaky": 0, "drop-once": 0}

    async def flaky(request: web.Request) -> web.Response:
        counts["flaky"] += 1
        return web.Response(status=503 if counts["flaky"] == 1 else 200, text="ok")

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1000)

    async def feed(request: web.Request) -> web.WebSocketResponse:
        name = request.match_info["name"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if name == "drop-once":
            counts[name] += 1
            if counts[name] == 1:
                await ws.close(code=1011)
                return ws
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/file.bin", file)
    app.router.add_get("/ws/{name}", feed)
    return app

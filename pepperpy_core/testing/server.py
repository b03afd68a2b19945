"""A real aiohttp server on 127.0.0.1 with an ephemeral port, for tests (ours and yours).

    async with LocalServer(app) as server:
        response = await client.get(server.url("/path"))
"""

from __future__ import annotations

import ssl
from types import TracebackType

from aiohttp import web

__all__ = ["LocalServer"]


class LocalServer:
    """Runs an ``aiohttp.web.Application`` on 127.0.0.1 (port 0 picks a free port)."""

    def __init__(
        self, app: web.Application, *, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app = app
        self._port = port
        self._ssl = ssl_context
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    async def start(self) -> LocalServer:
        runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port, ssl_context=self._ssl)
        await site.start()
        self._runner = runner
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the site did not bind a socket"
        self.port = int(sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        """Stop serving and close open connections (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> LocalServer:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

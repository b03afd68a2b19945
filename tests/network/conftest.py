"""Local targets for the network tests, and a guard that fails any test reaching past loopback."""

from __future__ import annotations

import asyncio
from asyncio.base_events import BaseEventLoop
from asyncio.selector_events import BaseSelectorEventLoop
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from waiting import wait_until

from pepperpy_core.network import ProbeContext
from pepperpy_core.testing import LocalServer

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class NetworkCalls:
    """Every connect and resolve a test made; ``outside`` lists those past loopback."""

    hosts: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def saw(self, host: Any) -> None:
        text = str(host)
        self.hosts.append(text)
        if text not in _LOOPBACK:
            self.outside.append(text)


@pytest.fixture(autouse=True)
def network_calls(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Record every connection and DNS lookup; refuse and fail on any non-loopback one.

    Probes swallow errors (a failure means "offline"), so the refusal alone would go
    unnoticed: the teardown assertion is what fails the test.
    """
    calls = NetworkCalls()
    real_connect = BaseEventLoop.create_connection
    real_resolve = BaseEventLoop.getaddrinfo
    real_sock_connect = BaseSelectorEventLoop.sock_connect

    async def connect(self: BaseEventLoop, factory: Any, *args: Any, **kwargs: Any) -> Any:
        host = kwargs.get("host", args[0] if args else None)
        if host is not None:
            calls.saw(host)
            if str(host) not in _LOOPBACK:
                raise OSError(f"test guard: refusing to connect to {host}")
        return await real_connect(self, factory, *args, **kwargs)

    async def resolve(self: BaseEventLoop, host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.saw(host)
        if str(host) not in _LOOPBACK:
            raise OSError(f"test guard: refusing to resolve {host}")
        return await real_resolve(self, host, *args, **kwargs)

    async def sock_connect(self: BaseSelectorEventLoop, sock: Any, address: Any) -> Any:
        # aiohttp connects through a socket it made itself (happy eyeballs), not a host name.
        calls.saw(address[0])
        if str(address[0]) not in _LOOPBACK:
            raise OSError(f"test guard: refusing to connect to {address[0]}")
        return await real_sock_connect(self, sock, address)

    monkeypatch.setattr(BaseEventLoop, "create_connection", connect)
    monkeypatch.setattr(BaseSelectorEventLoop, "sock_connect", sock_connect)
    monkeypatch.setattr(BaseEventLoop, "getaddrinfo", resolve)
    yield calls
    assert calls.outside == [], f"a test reached past loopback: {calls.outside}"


class TcpTarget:
    """An asyncio TCP server on 127.0.0.1 that can stop and restart on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None

    @property
    def target(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> TcpTarget:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()


@pytest.fixture
async def tcp_target() -> AsyncIterator[TcpTarget]:
    target = await TcpTarget().start()
    yield target
    await target.stop()


def make_probe_app() -> web.Application:
    """Endpoints shaped like the real connectivity checks, plus a captive portal and a slow one."""
    routes = web.RouteTableDef()

    @routes.get("/generate_204")
    async def no_content(request: web.Request) -> web.Response:
        return web.Response(status=204)

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        return web.Response(text="success")

    @routes.get("/status")
    async def status(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    @routes.get("/portal")
    async def portal(request: web.Request) -> web.Response:
        raise web.HTTPFound("/login")

    @routes.get("/login")
    async def login(request: web.Request) -> web.Response:
        return web.Response(text="<html>Please sign in to the hotel Wi-Fi</html>",
                            content_type="text/html")

    @routes.get("/down")
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503)

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(status=204)

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def http_target() -> AsyncIterator[LocalServer]:
    async with LocalServer(make_probe_app()) as server:
        yield server


@dataclass
class ScriptedProbe:
    """A probe that succeeds or fails as scripted; the last outcome repeats."""

    outcomes: list[bool]
    delay: float = 0.0
    calls: int = 0

    async def check(self, context: ProbeContext) -> None:
        ok = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if not ok:
            raise ConnectionRefusedError("scripted failure")

    def __str__(self) -> str:
        return "scripted"


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (real time) until ``predicate()`` is true; fail the test after ``timeout`` s."""
    await wait_until(predicate, timeout, every=0.005)


@pytest.fixture
def wait_for() -> Callable[[Callable[[], bool], float], Awaitable[None]]:
    return eventually


@pytest.fixture
def scripted() -> type[ScriptedProbe]:
    return ScriptedProbe

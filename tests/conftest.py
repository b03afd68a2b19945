"""Shared fixtures: a real aiohttp test server on 127.0.0.1 and clients on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from http_app import make_app
from observed_site import make_site

import pepperpy_core._observe as _observe
from pepperpy_core import HttpClient
from pepperpy_core.logging import reset_logging
from pepperpy_core.testing import LocalServer


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """A test that configures logging or structlog (as the docs show) must not leak it into
    others, nor leave telemetry observers or a span hook installed."""
    yield
    reset_logging()
    leaked = (_observe.observers, _observe.span_factory())
    _observe.observers = ()
    _observe.set_span_factory(None)
    assert leaked == ((), None), f"telemetry left installed: {leaked}"


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer(make_app()) as srv:
        yield srv


@pytest.fixture
async def observed() -> AsyncIterator[LocalServer]:
    """The observability tests' site (``observed_site.py``): a flaky route, a file, WebSocket
    feeds."""
    async with LocalServer(make_site()) as srv:
        yield srv


@pytest.fixture
async def other_server() -> AsyncIterator[LocalServer]:
    """A second origin (another port), for cross-origin redirect tests."""
    async with LocalServer(make_app()) as srv:
        yield srv


@pytest.fixture(params=["aiohttp", "httpx"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each core HTTP test runs on both transports."""
    if request.param == "httpx":
        pytest.importorskip("pepperpy_core.http._httpx")
    return str(request.param)


@pytest.fixture
async def client(server: LocalServer, backend: str) -> AsyncIterator[HttpClient]:
    async with HttpClient(base_url=server.base_url, backend=backend) as c:
        yield c


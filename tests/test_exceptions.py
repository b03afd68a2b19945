"""The exception tree: the drawing in ``exceptions.py`` is the code's hierarchy, every public
error pickles and prints its message, context keywords are explicit, and public calls against
real local servers raise nothing but the documented errors."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import inspect
import pickle
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

import pepperpy_core
from pepperpy_core import exceptions as errors
from pepperpy_core.testing import LocalServer

#: Every exception class the module offers by name (its ``__all__`` and the two names that
#: shadow built-ins and stay out of it).
PUBLIC = {
    name: getattr(errors, name)
    for name in (*errors.__all__, "ConnectionError", "TimeoutError")
}
DOCUMENTED = set(PUBLIC.values())

_LINE = re.compile(
    r"^(?P<indent>(?:[| ]   )*)\+-- (?P<name>\w+)(?: = (?P<alias>\w+))?"
    r"(?:\s+\(also (?P<also>[\w.]+)(?: above)?\))?"
)


def _drawing() -> dict[str, tuple[str | None, set[str], str | None]]:
    """name -> (drawn parent, names drawn as "also", alias) from the module docstring."""
    doc = errors.__doc__ or ""
    lines = doc.split("::", 1)[1].splitlines()
    drawn: dict[str, tuple[str | None, set[str], str | None]] = {}
    stack: list[str] = []
    for raw in lines:
        line = raw[4:] if raw.startswith("    ") else raw
        if line.strip() == "PepperPyError":
            stack = ["PepperPyError"]
            drawn["PepperPyError"] = (None, set(), None)
            continue
        match = _LINE.match(line)
        if match is None:
            if drawn and line.strip() and not line.startswith(("|", " ", "+")):
                break  # the prose after the drawing
            continue
        depth = len(match["indent"]) // 4 + 1
        del stack[depth:]
        also = {match["also"]} if match["also"] else set()
        drawn[match["name"]] = (stack[depth - 1], also, match["alias"])
        stack.append(match["name"])
    return drawn


def _resolve(name: str) -> type:
    if name.startswith("builtins."):
        return getattr(builtins, name.removeprefix("builtins."))  # type: ignore[no-any-return]
    found = getattr(errors, name, None) or getattr(builtins, name)
    assert isinstance(found, type)
    return found


def test_the_drawing_is_the_hierarchy() -> None:
    """Every public error is drawn once, under its first base, with its other bases as "also",
    and every drawn alias is the same class."""
    drawn = _drawing()
    assert set(drawn) | {a for _, _, a in drawn.values() if a} == set(PUBLIC)
    for name, (parent, also, alias) in drawn.items():
        cls = PUBLIC[name]
        if alias:
            assert PUBLIC[alias] is cls
        if parent is None:
            assert cls.__bases__ == (Exception,)
            continue
        assert cls.__bases__[0] is PUBLIC[parent], name
        assert set(cls.__bases__[1:]) == {_resolve(n) for n in also}, name


def test_the_tree_as_the_issue_asks() -> None:
    """A redirect loop is a request error, not a transport error (so never retried); WebSocket
    errors are not HTTP errors; built-in bases are there to catch."""
    assert issubclass(errors.TooManyRedirectsError, errors.HTTPError)
    assert not issubclass(errors.TooManyRedirectsError, errors.TransportError)
    for cls in DOCUMENTED:
        if issubclass(cls, errors.WebSocketError):
            assert not issubclass(cls, errors.HTTPError), cls
    assert issubclass(errors.WebSocketConnectionError, builtins.ConnectionError)
    assert issubclass(errors.ConnectionError, builtins.ConnectionError)
    assert issubclass(errors.TimeoutError, builtins.TimeoutError)
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.ClientClosedError, RuntimeError)
    assert issubclass(errors.ResponseNotReadError, RuntimeError)
    assert all(issubclass(cls, errors.PepperPyError) for cls in DOCUMENTED)


def test_builtin_shadowing_names_stay_out_of_star_imports() -> None:
    """``from pepperpy_core.exceptions import *`` (like the package's) leaves the built-in
    ``ConnectionError`` and ``TimeoutError`` alone."""
    for module in ("pepperpy_core", "pepperpy_core.exceptions"):
        scope: dict[str, Any] = {}
        exec(f"from {module} import *", scope)
        assert "ConnectionError" not in scope and "TimeoutError" not in scope
        assert "PepperPyError" in scope
    assert "ConnectionError" not in pepperpy_core.__all__


def _sample(param: inspect.Parameter) -> Any:
    """A value of the keyword's documented type, for the round trip."""
    samples: dict[str, Any] = {
        "retry_after": 2.5, "status": 403, "code": 4001, "reason": "bye", "data": "{bad",
        "url": "https://example.test/f.zip", "path": "out/f.zip", "expected": "aa",
        "actual": "bb", "target": "dns", "date": dt.date(2024, 1, 2), "attempts": 3,
    }
    return samples.get(param.name)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_error_pickles_and_prints_its_message(name: str) -> None:
    """Each public error survives pickling (multiprocessing, concurrent.futures) with its
    type, message and plain attributes; ``str`` is the message."""
    cls = PUBLIC[name]
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.kind is p.KEYWORD_ONLY and p.name not in ("request", "response")]
    kwargs = {p.name: _sample(p) for p in params}
    assert None not in kwargs.values(), f"no sample for a keyword of {name}: {kwargs}"
    kwargs["attempts"] = 3
    error = cls("something failed", **kwargs)
    assert str(error) == "something failed"
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert str(back) == "something failed"
    for key, value in kwargs.items():
        assert getattr(back, key) == value, key


def test_request_and_response_stay_behind_when_pickled() -> None:
    """An error carrying a live request pickles without it (and without failing)."""
    client = pepperpy_core.HttpClient("http://127.0.0.1:9")
    request = client.build_request("GET", "/x")
    error = errors.TimeoutError("late", request=request, attempts=2)
    back = pickle.loads(pickle.dumps(error))
    assert (back.request, back.attempts, str(back)) == (None, 2, "late")
    assert error.request is request


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_context_keywords_are_explicit(name: str) -> None:
    """No error takes loose ``**kwargs``: the context is ``**context: Unpack[ErrorContext]``
    (``request``, ``response``, ``attempts``, checked by type checkers), and a misspelled
    keyword is a ``TypeError`` at run time."""
    cls = PUBLIC[name]
    for parameter in inspect.signature(cls).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            assert parameter.annotation == "Unpack[ErrorContext]", (name, parameter)
    assert set(errors.ErrorContext.__annotations__) == {"request", "response", "attempts"}
    assert not set(inspect.signature(errors.PepperPyError).parameters) - {
        "message", *errors.ErrorContext.__annotations__}
    with pytest.raises(TypeError, match="retry_afterr"):
        cls("x", retry_afterr=1)


# ------------------------------------------------------- public calls raise only our errors


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _app(stop: asyncio.Event) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/html")
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>not json</html>", content_type="text/html")

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await stop.wait()
        return web.Response(text="late")

    @routes.get("/file")
    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 4096)

    @routes.get("/refuse")
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no sockets here")

    @routes.get("/ws")
    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        async for message in sock:
            if message.type is WSMsgType.TEXT and message.data == "bye please":
                await sock.close(code=4000, message=b"done")
        return sock

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    stop = asyncio.Event()
    async with LocalServer(_app(stop)) as server:
        yield server
        stop.set()


Case = Callable[[LocalServer, str, Path], Awaitable[Any]]


async def _refused(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(backend=backend, retries=0) as c:
        return await c.get(f"http://127.0.0.1:{_closed_port()}/")


async def _timeout(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend, retries=0) as c:
        return await c.get("/slow", timeout=0.05)


async def _loop(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend, max_redirects=2) as c:
        return await c.get("/loop")


async def _not_json(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend) as c:
        return await (await c.get("/html")).json()


async def _status(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend) as c:
        return (await c.get("/status/404")).raise_for_status()


async def _too_large(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend, max_body_size=100) as c:
        return await c.get("/file")


async def _not_read(srv: LocalServer, backend: str, tmp: Path) -> Any:
    client = pepperpy_core.HttpClient(srv.base_url, backend=backend)
    async with client, client.stream("GET", "/file") as response:
        return response.content


async def _relative(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(backend=backend) as c:
        return await c.get("/no-base-url")


async def _bad_value(srv: LocalServer, backend: str, tmp: Path) -> Any:
    return pepperpy_core.HttpClient(timeout=0, backend=backend)


async def _bad_type(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend) as c:
        return await c.get("/file", headers=[("a", "b")])  # type: ignore[arg-type]


async def _closed(srv: LocalServer, backend: str, tmp: Path) -> Any:
    c = pepperpy_core.HttpClient(srv.base_url, backend=backend)
    await c.close()
    return await c.get("/file")


async def _rate_limited(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.RateLimitedClient(
        1, 60, raise_on_limit=True, base_url=srv.base_url, backend=backend
    ) as c:
        await c.get("/file")
        return await c.get("/file")


async def _download_404(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend) as c:
        return await pepperpy_core.DownloadHandler(c, max_retries=0).download(
            "/status/404", tmp / "f.bin"
        )


async def _checksum(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.HttpClient(srv.base_url, backend=backend) as c:
        return await pepperpy_core.DownloadHandler(c, max_retries=0).download(
            "/file", tmp / "f.bin", sha256="0" * 64
        )


async def _ws_refused(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.WebSocket(f"ws://127.0.0.1:{_closed_port()}/") as ws:
        return ws


async def _ws_handshake(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.WebSocket(srv.url("/refuse").replace("http", "ws")) as ws:
        return ws


async def _ws_lost(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.WebSocket(srv.url("/ws").replace("http", "ws")) as ws:
        await ws.send("bye please")
        return await ws.receive()


async def _ws_closed(srv: LocalServer, backend: str, tmp: Path) -> Any:
    ws = pepperpy_core.WebSocket(srv.url("/ws").replace("http", "ws"))
    await ws.connect()
    await ws.close()
    return await ws.send({"a": 1})


async def _ws_batch_binary(srv: LocalServer, backend: str, tmp: Path) -> Any:
    async with pepperpy_core.BatchWebSocket(srv.url("/ws").replace("http", "ws")) as ws:
        return await ws.send(b"raw")


#: Each public call, and the documented error it must raise.
CASES: dict[str, tuple[Case, type[errors.PepperPyError]]] = {
    "connection refused": (_refused, errors.ConnectionError),
    "timeout": (_timeout, errors.TimeoutError),
    "redirect loop": (_loop, errors.TooManyRedirectsError),
    "json() on HTML": (_not_json, errors.DecodingError),
    "raise_for_status": (_status, errors.HTTPStatusError),
    "body over max_body_size": (_too_large, errors.ResponseTooLargeError),
    "content before read()": (_not_read, errors.ResponseNotReadError),
    "relative URL, no base_url": (_relative, errors.InvalidURLError),
    "timeout=0": (_bad_value, errors.ConfigurationError),
    "headers as pairs": (_bad_type, errors.ArgumentTypeError),
    "use after close": (_closed, errors.ClientClosedError),
    "client-side rate limit": (_rate_limited, errors.RateLimitError),
    "download 404": (_download_404, errors.DownloadError),
    "download checksum": (_checksum, errors.ChecksumMismatchError),
    "websocket refused": (_ws_refused, errors.WebSocketConnectionError),
    "websocket handshake 403": (_ws_handshake, errors.WebSocketHandshakeError),
    "websocket closed by server": (_ws_lost, errors.WebSocketDisconnectedError),
    "websocket after close": (_ws_closed, errors.WebSocketClosedError),
    "batch of bytes": (_ws_batch_binary, errors.ArgumentTypeError),
}


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
async def test_public_calls_raise_only_documented_errors(
    case: str, site: LocalServer, backend: str, tmp_path: Path
) -> None:
    """Against a real local server, each failure is exactly the documented class of our tree,
    and nothing from aiohttp, httpx or websockets shows in what it carries."""
    call, expected = CASES[case]
    with pytest.raises(errors.PepperPyError) as info:
        await call(site, backend, tmp_path)
    error = info.value
    assert type(error) in DOCUMENTED, f"{case}: {type(error)} is not a public error"
    assert isinstance(error, expected), f"{case}: {type(error).__name__}"
    for link in _chain(error):
        module = type(link).__module__.split(".")[0]
        assert module not in ("aiohttp", "httpx", "httpcore", "websockets"), (case, link)

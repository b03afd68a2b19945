"""The cache against RFC 9111, rule by rule: each rule as a pure function, then through a real
aiohttp origin whose answer each test scripts (repeated header lines included), on a fake
wall clock."""

from __future__ import annotations

import asyncio
import calendar
import inspect
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from pepperpy_core import HttpClient
from pepperpy_core.behaviours.cache import (
    CachedClient,
    CacheMiddleware,
    CachePolicy,
    SQLiteCacheStorage,
)
from pepperpy_core.behaviours.cache.rules import (
    _lifetime,
    _stored_headers,
    byte_range,
    delta_seconds,
    first_member,
    parse_cache_control,
    parse_http_date,
    request_directives,
    response_directives,
    vary_value,
)
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.chain import CallNext
from pepperpy_core.http.models import Request, Response
from pepperpy_core.testing import FakeClock, LocalServer

Script = Callable[[web.Request, int], "web.StreamResponse | Awaitable[web.StreamResponse]"]


@dataclass
class Origin:
    """A real server; ``script(name, fn)`` sets what ``/name`` answers (``fn(request, n)``,
    n counting from 1); ``hits[name]`` and ``seen[name]`` (request headers) record traffic."""

    server: LocalServer
    scripts: dict[str, Script] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    seen: dict[str, list[CIMultiDictProxy[str]]] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)

    def script(self, name: str, fn: Script) -> None:
        self.scripts[name] = fn


ORIGIN = web.AppKey("origin", Origin)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    origin = request.app[ORIGIN]
    name = request.match_info["name"]
    origin.hits[name] += 1
    origin.seen.setdefault(name, []).append(request.headers)
    origin.methods.append(request.method)
    await request.read()
    answered = origin.scripts[name](request, origin.hits[name])
    return await answered if inspect.isawaitable(answered) else answered


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    app = web.Application()
    app.router.add_route("*", "/{name}", _dispatch)
    server = LocalServer(app)
    scripted = app[ORIGIN] = Origin(server)
    async with server:
        yield scripted


def answer(*lines: tuple[str, str], status: int = 200, body: bytes = b"ok") -> Script:
    """A script answering ``status`` with these header lines (repeats kept) every time."""
    def fn(request: web.Request, n: int) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in lines:
            headers.add(name, value)
        return web.Response(status=status, headers=headers,
                            body=None if status in (204, 304) else body + str(n).encode())
    return fn


def client_for(origin: Origin, clock: FakeClock, **policy: object) -> HttpClient:
    layer = CacheMiddleware(CachePolicy(**policy), clock=clock.time)  # type: ignore[arg-type]
    return HttpClient(base_url=origin.server.base_url, middlewares=[layer], retries=0)


def lines(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ============================================================== 1. parsing: lists, dates, Age


def test_repeated_lines_are_one_list() -> None:
    """Every Cache-Control line counts: a second ``no-store`` line is not ignored (responses
    and requests alike); commas inside quotes do not split; the first of a repeated directive
    wins."""
    assert "no-store" in response_directives(
        lines(("Cache-Control", "max-age=60"), ("Cache-Control", "no-store")))
    assert "no-cache" in request_directives(
        lines(("Cache-Control", "x-foo"), ("Cache-Control", "no-cache")))
    assert parse_cache_control('private="a, b", max-age=5, max-age=9') == {
        "private": "a, b", "max-age": "5"}
    assert parse_cache_control('"max-age=60", max-age=0') == {"max-age": "0"}
    assert request_directives(lines(("Pragma", "no-cache"))) == {"no-cache": None}


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994", "sun, 06 nov 1994 08:49:37 gmt",
])
def test_http_date_forms(value: str) -> None:
    """IMF-fixdate, the obsolete RFC 850 and asctime forms, names in any case."""
    assert parse_http_date(value) == calendar.timegm((1994, 11, 6, 8, 49, 37, 0, 0, 0))


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +1000",
    "Sun, 06 Nov 94 08:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT",
    "Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08.49.37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", "0", "",
])
def test_invalid_http_dates(value: str) -> None:
    """Another zone, a two-digit year in IMF-fixdate, wrong separators or spacing, a 1-digit
    hour or two lines joined: not an HTTP-date."""
    assert parse_http_date(value) is None


def test_delta_seconds_and_age() -> None:
    """delta-seconds are digits only, capped at 2^31; Age takes the first member."""
    assert delta_seconds("003600") == 3600 and delta_seconds("99999999999") == 2**31
    assert [delta_seconds(v) for v in ("-1", "1.5", "a100", "100a", "'60'")] == [None] * 5
    assert first_member("7200, 0") == "7200"


def test_invalid_max_age_is_stale_not_defaulted() -> None:
    """``max-age=abc`` is stale (0), never replaced by ``ttl``; an invalid Expires too."""
    policy = CachePolicy(ttl=300)
    headers = lines(("Cache-Control", "max-age=abc"))
    assert _lifetime(headers, response_directives(headers), 200, policy, 0.0) == 0.0
    expires = lines(("Expires", "Sun, 06 Nov 1994 08:49:37 UTC"))
    assert _lifetime(expires, {}, 200, policy, 0.0) == 0.0


async def test_second_no_store_line_is_honoured(origin: Origin, clock: FakeClock) -> None:
    """A response whose second Cache-Control line says no-store is not stored."""
    origin.script("a", answer(("Cache-Control", "max-age=60"), ("Cache-Control", "no-store")))
    async with client_for(origin, clock) as client:
        await client.get("/a")
        second = await client.get("/a")
    assert origin.hits["a"] == 2 and second.metadata["cache"] == "miss"


async def test_vary_star_on_a_second_line(origin: Origin, clock: FakeClock) -> None:
    """``Vary: *`` on a second line still makes the response unstorable."""
    origin.script("v", answer(("Cache-Control", "max-age=60"), ("Vary", "Accept"),
                              ("Vary", "*")))
    async with client_for(origin, clock) as client:
        await client.get("/v")
        await client.get("/v")
    assert origin.hits["v"] == 2


class _ExtraLine:
    """Adds a header line to every request, after those the caller set (outside the cache)."""

    rank = 150

    def __init__(self, name: str, value: str) -> None:
        self.line = (name, value)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        headers = CIMultiDict(request.headers)
        headers.add(*self.line)
        return await call_next(request.copy_with(headers=headers, metadata=request.metadata))


async def test_second_request_cache_control_line(origin: Origin, clock: FakeClock) -> None:
    """A request's second Cache-Control line (``no-cache``) is read too: it goes to the origin."""
    origin.script("r", answer(("Cache-Control", "max-age=60")))
    layer = CacheMiddleware(CachePolicy(), clock=clock.time)
    async with HttpClient(base_url=origin.server.base_url, retries=0,
                          middlewares=[layer, _ExtraLine("Cache-Control", "no-cache")]) as client:
        await client.get("/r", headers={"Cache-Control": "x-ignored"})
        await client.get("/r", headers={"Cache-Control": "x-ignored"})
    assert origin.hits["r"] == 2
    assert origin.seen["r"][1].getall("Cache-Control") == ["x-ignored", "no-cache"]


@pytest.mark.parametrize("expires", ["Thu, 01 Jan 2099 00:00:00 UTC", "Thu, 01 Jan 99 00:00:00 GMT",
                                     "Thu, 01-Jan-2099 00:00:00 GMT", "0"])
async def test_invalid_expires_is_already_expired(
    origin: Origin, clock: FakeClock, expires: str
) -> None:
    """An Expires that is not an HTTP-date is stale at once: the next request revalidates."""
    origin.script("e", answer(("Expires", expires), ("ETag", '"e1"')))
    async with client_for(origin, clock, ttl=300) as client:
        await client.get("/e")
        await client.get("/e")
    assert origin.hits["e"] == 2 and origin.seen["e"][1]["If-None-Match"] == '"e1"'


async def test_valid_obsolete_expires_is_fresh(origin: Origin, clock: FakeClock) -> None:
    """A future Expires in asctime form is honoured."""
    origin.script("e", answer(("Expires", "Thu Jan  1 00:00:00 2099")))
    async with client_for(origin, clock) as client:
        await client.get("/e")
        second = await client.get("/e")
    assert origin.hits["e"] == 1 and second.metadata["cache"] == "hit"


@pytest.mark.parametrize("age, fresh", [("7200, 0", False), ("0, 7200", True), ("old", True)])
async def test_age_first_member(origin: Origin, clock: FakeClock, age: str, fresh: bool) -> None:
    """``Age: 7200, 0`` is 7200 (stale for max-age=3600); an invalid Age is ignored."""
    origin.script("g", answer(("Cache-Control", "max-age=3600"), ("Age", age)))
    async with client_for(origin, clock) as client:
        await client.get("/g")
        await client.get("/g")
    assert origin.hits["g"] == (1 if fresh else 2)


async def test_invalid_max_age_not_replaced_by_ttl(origin: Origin, clock: FakeClock) -> None:
    """With ``ttl=300``, a response saying ``max-age=abc`` is still not reused."""
    origin.script("m", answer(("Cache-Control", "max-age=abc")))
    async with client_for(origin, clock, ttl=300) as client:
        await client.get("/m")
        await client.get("/m")
    assert origin.hits["m"] == 2


# ============================================================== 2. stored headers, conditionals


def test_hop_by_hop_headers_are_not_stored() -> None:
    """Headers named by Connection, and TE, Proxy-Connection, Proxy-Authenticate, Keep-Alive,
    Upgrade (and the like), are dropped from what is stored."""
    kept = _stored_headers(lines(
        ("Connection", "x-a, X-B"), ("X-A", "1"), ("x-b", "2"), ("X-C", "3"), ("TE", "trailers"),
        ("Proxy-Connection", "keep-alive"), ("Proxy-Authenticate", "Basic"),
        ("Keep-Alive", "timeout=5"), ("Upgrade", "h2c"), ("Content-Type", "text/plain"),
    ))
    assert [name.lower() for name, _ in kept] == ["x-c", "content-type"]


async def test_hop_by_hop_headers_not_served_from_cache(origin: Origin, clock: FakeClock) -> None:
    """Through a server: the stored answer comes back without the headers Connection named,
    nor Proxy-Authenticate / Keep-Alive, but with the others."""
    origin.script("h", answer(("Cache-Control", "max-age=60"), ("Connection", "X-Secret"),
                              ("X-Secret", "s"), ("X-Kept", "k"), ("Proxy-Authenticate", "Basic"),
                              ("Keep-Alive", "timeout=5")))
    async with client_for(origin, clock) as client:
        await client.get("/h")
        second = await client.get("/h")
    assert second.metadata["cache"] == "hit" and second.headers["X-Kept"] == "k"
    assert not {"X-Secret", "Proxy-Authenticate", "Keep-Alive"} & set(second.headers)


async def test_own_conditional_answered_304_from_fresh_entry(
    origin: Origin, clock: FakeClock
) -> None:
    """A client's If-None-Match / If-Modified-Since on a fresh entry: 304 from the cache when
    it matches (weak comparison), the full stored answer when it does not; no origin trip."""
    modified = "Sun, 06 Nov 1994 08:49:37 GMT"
    origin.script("c", answer(("Cache-Control", "max-age=60"), ("ETag", 'W/"v1"'),
                              ("Last-Modified", modified)))
    async with client_for(origin, clock) as client:
        await client.get("/c")
        hit = await client.get("/c", headers={"If-None-Match": '"v0", "v1"'})
        miss = await client.get("/c", headers={"If-None-Match": '"v2"'})
        since = await client.get("/c", headers={"If-Modified-Since": modified})
        before = await client.get("/c", headers={"If-Modified-Since": http_date(0)})
    assert origin.hits["c"] == 1
    assert hit.status == 304 and hit.content == b"" and hit.headers["ETag"] == 'W/"v1"'
    assert hit.metadata["from_cache"] is True
    assert miss.status == 200 and miss.content == b"ok1"
    assert since.status == 304 and before.status == 200


async def test_own_validators_are_not_replaced(origin: Origin, clock: FakeClock) -> None:
    """Revalidating a stale entry for a conditional request sends the client's validators, not
    the cache's, and hands the origin's 304 to the client; the entry is refreshed when the 304
    names its ETag."""
    def fn(request: web.Request, n: int) -> web.StreamResponse:
        if request.headers.get("If-None-Match") in ('"mine"', '"v1"'):
            return web.Response(status=304, headers={"ETag": request.headers["If-None-Match"],
                                                     "Cache-Control": "max-age=60"})
        return web.Response(body=b"full", headers={"ETag": '"v1"', "Cache-Control": "max-age=0"})
    origin.script("s", fn)
    async with client_for(origin, clock) as client:
        await client.get("/s")
        mine = await client.get("/s", headers={"If-None-Match": '"mine"'})
        assert origin.seen["s"][1]["If-None-Match"] == '"mine"'
        assert mine.status == 304
        again = await client.get("/s")  # "mine" did not refresh the entry: revalidated
        assert again.status == 200 and again.content == b"full"
        assert origin.seen["s"][2]["If-None-Match"] == '"v1"'
        ours = await client.get("/s", headers={"If-None-Match": '"v1"'})
        assert ours.status == 304 and origin.hits["s"] == 3  # fresh after the refresh


# ============================================================== 3. methods and invalidation


async def test_any_token_method_is_sent(origin: Origin, clock: FakeClock) -> None:
    """M-SEARCH and PURGE reach the server as written; a non-token method is a clear error."""
    origin.script("m", answer())
    async with client_for(origin, clock) as client:
        first = await client.request("M-SEARCH", "/m")
        await client.request("PURGE", "/m")
        with pytest.raises(ConfigurationError, match="invalid HTTP method 'M SEARCH'"):
            await client.request("M SEARCH", "/m")
    assert first.status == 200 and origin.methods == ["M-SEARCH", "PURGE"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "PURGE", "M-SEARCH"])
async def test_unsafe_method_invalidates(origin: Origin, clock: FakeClock, method: str) -> None:
    """Any method but GET/HEAD/OPTIONS/TRACE, answered with a non-error status, makes the
    stored answer for its URL stale."""
    origin.script("u", answer(("Cache-Control", "max-age=60")))
    async with client_for(origin, clock) as client:
        await client.get("/u")
        await client.request(method, "/u")
        assert (await client.get("/u")).metadata["cache"] == "miss"
        await client.request("OPTIONS", "/u")
        assert (await client.get("/u")).metadata["cache"] == "hit"


async def test_unsafe_invalidates_same_origin_locations(origin: Origin, clock: FakeClock) -> None:
    """A POST answered with Location and Content-Location invalidates those URLs when they are
    of the same origin; another origin's URL is left alone, and an error status
    invalidates nothing."""
    for name in ("a", "b", "c"):
        origin.script(name, answer(("Cache-Control", "max-age=60")))
    origin.script("post", answer(("Location", "/a"),
                                 ("Content-Location", origin.server.url("/b")),
                                 ("Content-Location", "http://elsewhere.invalid/c"), status=201))
    origin.script("bad", answer(("Location", "/c"), status=500))
    async with client_for(origin, clock) as client:
        for name in ("a", "b", "c"):
            await client.get("/" + name)
        await client.post("/post")
        await client.post("/bad")
        again = {name: (await client.get("/" + name)).metadata["cache"] for name in "abc"}
    assert again == {"a": "miss", "b": "miss", "c": "hit"}


# ============================================================== 4. statuses, heuristic freshness


@pytest.mark.parametrize("status", [203, 204, 299, 301, 308, 400, 404, 410, 500, 599])
async def test_any_status_with_explicit_freshness_is_stored(
    origin: Origin, clock: FakeClock, status: int
) -> None:
    """With ``max-age``, any final status is stored and reused (RFC 9111 section 3)."""
    origin.script("s", answer(("Cache-Control", "max-age=60"), status=status))
    async with client_for(origin, clock) as client:
        await client.get("/s")
        second = await client.get("/s")
    assert origin.hits["s"] == 1 and second.status == status


@pytest.mark.parametrize("status", [206, 302, 303, 307, 400, 500])
async def test_without_freshness_only_heuristic_statuses_are_stored(
    origin: Origin, clock: FakeClock, status: int
) -> None:
    """With only a Last-Modified, a status that is not heuristically cacheable (and 206,
    which this cache does not combine) is not stored."""
    stamp = http_date(1_000)
    origin.script("n", answer(("Last-Modified", stamp), ("Content-Range", "bytes 0-2/9"),
                              status=status))
    async with client_for(origin, clock) as client:
        await client.get("/n")
        await client.get("/n")
    assert origin.hits["n"] == 2


def test_heuristic_lifetime_rule() -> None:
    """10 % of Date minus Last-Modified, capped by ``heuristic_max``; none without Last-Modified,
    for a status that is not heuristically cacheable, or with the heuristic off."""
    policy = CachePolicy()
    date = 1_000_000.0

    def life(since: float, status: int = 200, pol: CachePolicy = policy) -> float | None:
        headers = lines(("Date", http_date(date)), ("Last-Modified", http_date(date - since)))
        return _lifetime(headers, {}, status, pol, date)
    assert life(5_000) == 500 and life(10 * 86_400) == 86_400
    assert life(5_000, status=302) is None
    assert life(5_000, pol=CachePolicy(heuristic_max=None)) is None
    assert _lifetime(lines(), {}, 200, policy, date) is None


@pytest.mark.parametrize("status", [200, 404, 301])
async def test_heuristic_freshness_through_a_server(
    origin: Origin, clock: FakeClock, status: int
) -> None:
    """Last-Modified 50 minutes before Date: fresh for 5 minutes, then revalidated."""
    def fn(request: web.Request, n: int) -> web.StreamResponse:
        now = clock.time()
        return web.Response(status=status, body=b"h", headers={
            "Date": http_date(now), "Last-Modified": http_date(now - 3_000)})
    origin.script("h", fn)
    async with client_for(origin, clock) as client:
        await client.get("/h")
        clock.advance(290)
        assert (await client.get("/h")).metadata["cache"] == "hit"
        clock.advance(20)
        await client.get("/h")
    assert origin.hits["h"] == 2
    assert "If-Modified-Since" in origin.seen["h"][1]


# ============================================================== 5. request directives


async def test_request_max_age_and_min_fresh(origin: Origin, clock: FakeClock) -> None:
    """``max-age=N`` refuses an entry older than N; ``min-fresh=N`` one fresh for less than N
    more seconds; an invalid value refuses too."""
    origin.script("d", answer(("Cache-Control", "max-age=100")))
    async with client_for(origin, clock) as client:
        await client.get("/d")
        clock.advance(30)
        tags = []
        for control in ("max-age=40", "min-fresh=60", "min-fresh=80", "max-age=20",
                        "max-age=x"):
            response = await client.get("/d", headers={"Cache-Control": control})
            tags.append(response.metadata["cache"])
            clock.advance(30 if control == "min-fresh=80" else 0)  # refetched: age 0, then 30
    assert tags == ["hit", "hit", "miss", "miss", "miss"]


async def test_request_max_stale(origin: Origin, clock: FakeClock) -> None:
    """``max-stale`` serves a stale entry (within N seconds past expiry, or any without N),
    but never one that says must-revalidate or no-cache."""
    origin.script("ms", answer(("Cache-Control", "max-age=10")))
    origin.script("mr", answer(("Cache-Control", "max-age=10, must-revalidate")))
    async with client_for(origin, clock) as client:
        await client.get("/ms")
        await client.get("/mr")
        clock.advance(30)
        within = await client.get("/ms", headers={"Cache-Control": "max-stale=30"})
        beyond = await client.get("/ms", headers={"Cache-Control": "max-stale=5"})
        clock.advance(30)
        bare = await client.get("/ms", headers={"Cache-Control": "max-stale"})
        must = await client.get("/mr", headers={"Cache-Control": "max-stale"})
    assert within.metadata["cache"] == "stale" and beyond.metadata["cache"] == "miss"
    assert bare.metadata["cache"] == "stale" and origin.hits["ms"] == 2
    assert must.metadata["from_cache"] is False and origin.hits["mr"] == 2


async def test_only_if_cached(origin: Origin, clock: FakeClock) -> None:
    """``only-if-cached``: the stored answer when there is one, else a 504 without any trip to
    the origin."""
    origin.script("o", answer(("Cache-Control", "max-age=60")))
    async with client_for(origin, clock) as client:
        empty = await client.get("/o", headers={"Cache-Control": "only-if-cached"})
        await client.get("/o")
        stored = await client.get("/o", headers={"Cache-Control": "only-if-cached"})
    assert empty.status == 504 and empty.metadata["from_cache"] is False
    assert stored.status == 200 and origin.hits["o"] == 1


# ============================================================== 6. stale-while-revalidate, Vary


def swr_origin(origin: Origin, gate: asyncio.Event) -> None:
    """max-age=10, stale-while-revalidate=60; answers after the first wait for ``gate``."""
    async def fn(request: web.Request, n: int) -> web.StreamResponse:
        if n > 1:
            await gate.wait()
        return web.Response(body=f"v{n}".encode(), headers={
            "Cache-Control": "max-age=10, stale-while-revalidate=60"})
    origin.script("w", fn)


async def test_stale_while_revalidate(origin: Origin, clock: FakeClock) -> None:
    """Within the window a stale entry is served at once while one background request (however
    many requests arrive) refreshes it; past the window the request waits for the origin."""
    gate = asyncio.Event()
    swr_origin(origin, gate)
    layer = CacheMiddleware(CachePolicy(), clock=clock.time)
    async with HttpClient(base_url=origin.server.base_url, middlewares=[layer]) as client:
        await client.get("/w")
        clock.advance(30)
        stale = [await client.get("/w") for _ in range(3)]
        assert [r.content for r in stale] == [b"v1"] * 3
        assert {r.metadata["cache"] for r in stale} == {"stale"}
        assert len(layer._refreshing) == 1
        gate.set()
        await asyncio.gather(*layer._refreshing.values())
        refreshed = await client.get("/w")
        assert refreshed.content == b"v2" and refreshed.metadata["cache"] == "hit"
        clock.advance(100)  # 90 s past expiry: beyond the window
        late = await client.get("/w")
    assert late.metadata["cache"] == "miss" and origin.hits["w"] == 3


async def test_refresh_still_running_at_close_is_cancelled(
    origin: Origin, clock: FakeClock
) -> None:
    """Closing the client cancels a background refresh: no task outlives it (pytest would
    report it) and nothing is stored afterwards."""
    gate = asyncio.Event()
    swr_origin(origin, gate)
    client = CachedClient(None, base_url=origin.server.base_url, clock=clock.time)
    await client.get("/w")
    clock.advance(30)
    assert (await client.get("/w")).metadata["cache"] == "stale"
    layer = client._cache_layer
    tasks = list(layer._refreshing.values())
    assert len(tasks) == 1
    await client.close()
    assert tasks[0].cancelled() and not layer._refreshing


async def test_failed_refresh_keeps_the_stale_entry(origin: Origin, clock: FakeClock) -> None:
    """A background refresh that cannot reach the server leaves the stale entry in place; the
    next request in the window serves it again and tries once more."""
    origin.script("w", answer(("Cache-Control", "max-age=10, stale-while-revalidate=60")))
    layer = CacheMiddleware(CachePolicy(), clock=clock.time)
    async with HttpClient(base_url=origin.server.base_url, middlewares=[layer],
                          retries=0) as client:
        await client.get("/w")
        await origin.server.stop()
        clock.advance(30)
        for _ in range(2):
            served = await client.get("/w")
            assert served.metadata["cache"] == "stale" and served.content == b"ok1"
            refreshes = list(layer._refreshing.values())
            assert len(refreshes) == 1
            await asyncio.gather(*refreshes)
            assert not refreshes[0].cancelled() and refreshes[0].exception() is None


async def test_several_vary_variants_per_url(origin: Origin, clock: FakeClock) -> None:
    """Each Accept-Language gets its own stored answer; an unsafe request drops them all."""
    def fn(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(body=request.headers.get("Accept-Language", "-").encode(),
                            headers={"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
    origin.script("l", fn)
    async with client_for(origin, clock) as client:
        langs = ["en", "fr", "de", "en", "fr", "de"]
        bodies = [(await client.get("/l", headers={"Accept-Language": lang})).content
                  for lang in langs]
        assert bodies == [lang.encode() for lang in langs] and origin.hits["l"] == 3
        await client.delete("/l")
        await client.get("/l", headers={"Accept-Language": "fr"})
        await client.get("/l", headers={"Accept-Language": "en"})
    assert origin.hits["l"] == 6


# ============================================================== 7. cache_ttl is a heuristic


@pytest.mark.parametrize("lines_, stored", [
    ((), True),
    ((("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"),), True),
    ((("Cache-Control", "public"),), False),
    ((("Cache-Control", "no-cache"),), False),
    ((("Cache-Control", "private"),), False),
    ((("Cache-Control", "max-age=5"),), False),
    ((("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),), False),
])
async def test_cache_ttl_only_without_freshness_information(
    origin: Origin, clock: FakeClock, lines_: tuple[tuple[str, str], ...], stored: bool
) -> None:
    """``cache_ttl=300`` keeps a bare 200 for 300 s; a response carrying Cache-Control or
    Expires keeps to its own headers (max-age=5 is stale after 10 s)."""
    origin.script("t", answer(*lines_))
    async with CachedClient(300, base_url=origin.server.base_url, clock=clock.time) as client:
        await client.get("/t")
        clock.advance(10)
        second = await client.get("/t")
    assert (second.metadata["cache"] == "hit") is stored


async def test_cache_ttl_none_keeps_to_headers(origin: Origin, clock: FakeClock) -> None:
    """``CachedClient(None)``: a bare 200 is not reused; a wrong type names the argument."""
    origin.script("t", answer())
    async with CachedClient(None, base_url=origin.server.base_url, clock=clock.time) as client:
        await client.get("/t")
        await client.get("/t")
    assert origin.hits["t"] == 2
    with pytest.raises(TypeError, match=r"cache_ttl=\.\.\.\) must be a number of seconds or None"):
        CachedClient("300")  # type: ignore[arg-type]


# ============================================================== 8. shared mode


def shared_client(origin: Origin, clock: FakeClock) -> CachedClient:
    return CachedClient(None, shared=True, base_url=origin.server.base_url, clock=clock.time)


async def test_shared_s_maxage_wins_and_forbids_stale(origin: Origin, clock: FakeClock) -> None:
    """Shared: ``s-maxage=5`` beats ``max-age=3600`` and is never served stale (not even with
    max-stale); a private cache ignores s-maxage."""
    origin.script("s", answer(("Cache-Control", "max-age=3600, s-maxage=5")))
    async with shared_client(origin, clock) as shared, CachedClient(
        None, base_url=origin.server.base_url, clock=clock.time
    ) as private:
        await shared.get("/s")
        await private.get("/s")
        clock.advance(10)
        assert (await private.get("/s")).metadata["cache"] == "hit"
        after = await shared.get("/s", headers={"Cache-Control": "max-stale"})
    assert after.metadata["cache"] == "miss" and origin.hits["s"] == 3


async def test_shared_does_not_store_private(origin: Origin, clock: FakeClock) -> None:
    """Shared: ``private`` answers are not stored; a private cache stores them."""
    origin.script("p", answer(("Cache-Control", "private, max-age=60")))
    async with shared_client(origin, clock) as client:
        await client.get("/p")
        await client.get("/p")
    assert origin.hits["p"] == 2


@pytest.mark.parametrize("control, stored", [
    ("max-age=60", False), ("max-age=60, public", True), ("max-age=60, must-revalidate", True),
    ("s-maxage=60", True),
])
async def test_shared_authorization_rules(
    origin: Origin, clock: FakeClock, control: str, stored: bool
) -> None:
    """Shared (RFC 9111 section 3.5): an answer to a request with Authorization is stored only
    when it says public, must-revalidate or s-maxage, and then serves every user."""
    origin.script("a", answer(("Cache-Control", control)))
    async with shared_client(origin, clock) as client:
        await client.get("/a", headers={"Authorization": "Bearer one"})
        second = await client.get("/a")
    assert (second.metadata["cache"] == "hit") is stored


async def test_private_cache_keeps_credentials_apart(origin: Origin, clock: FakeClock) -> None:
    """Private (the default): an answer is stored per Authorization value, never shared."""
    origin.script("a", answer(("Cache-Control", "max-age=60, public")))
    async with CachedClient(None, base_url=origin.server.base_url, clock=clock.time) as client:
        await client.get("/a", headers={"Authorization": "Bearer one"})
        assert (await client.get("/a", headers={"Authorization": "Bearer one"})).metadata[
            "cache"] == "hit"
        assert (await client.get("/a")).metadata["cache"] == "miss"


# ============================================================== ranges from a stored answer


def test_byte_range_rule() -> None:
    """One byte range, its three forms; several ranges, other units or an unsatisfiable range
    give None (the whole answer is sent)."""
    assert [byte_range(v, 10) for v in ("bytes=0-1", "bytes=4-", "bytes=-3", "bytes=8-99")] == [
        (0, 1), (4, 9), (7, 9), (8, 9)]
    assert [byte_range(v, 10) for v in ("bytes=0-1,4-5", "items=0-1", "bytes=10-", "bytes=-0",
                                        "bytes=5-2", None)] == [None] * 6


async def test_range_served_from_a_stored_answer(origin: Origin, clock: FakeClock) -> None:
    """A fresh stored 200 answers a Range request with a 206 slice, keeping its other headers;
    an If-Range naming another version gets the whole answer."""
    origin.script("r", answer(("Cache-Control", "max-age=60"), ("ETag", '"r1"'), ("A", "1"),
                              body=b"0123456789"))
    async with client_for(origin, clock) as client:
        await client.get("/r")
        part = await client.get("/r", headers={"Range": "bytes=2-4"})
        other = await client.get("/r", headers={"Range": "bytes=2-4", "If-Range": '"r0"'})
    assert part.status == 206 and part.content == b"234" and part.headers["A"] == "1"
    assert part.headers["Content-Range"] == "bytes 2-4/11" and origin.hits["r"] == 1
    assert other.status == 200 and other.content == b"01234567891"


async def test_sqlite_keeps_vary_variants(origin: Origin, clock: FakeClock, tmp_path: Path) -> None:
    """The SQLite storage keeps the list of variants with the entry: both languages are still
    served from it after a reopen."""
    def fn(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(body=request.headers.get("Accept-Language", "-").encode(),
                            headers={"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
    origin.script("l", fn)
    for _ in range(2):
        storage = SQLiteCacheStorage(tmp_path / "vary.db")
        layer = CacheMiddleware(CachePolicy(), storage=storage, clock=clock.time)
        async with HttpClient(base_url=origin.server.base_url, middlewares=[layer]) as client:
            for lang in ("en", "fr"):
                await client.get("/l", headers={"Accept-Language": lang})
        await storage.aclose()
    assert origin.hits["l"] == 2


async def test_vary_ignores_spaces_around_list_members(origin: Origin, clock: FakeClock) -> None:
    """``Foo: 1,2`` and ``Foo:  1, 2 `` select the same stored variant; ``1,3`` does not."""
    assert vary_value(lines(("Foo", " 1, 2 ")), "foo") == vary_value(lines(("Foo", "1,2")), "foo")
    origin.script("f", answer(("Cache-Control", "max-age=60"), ("Vary", "Foo")))
    async with client_for(origin, clock) as client:
        await client.get("/f", headers={"Foo": "1,2"})
        same = await client.get("/f", headers={"Foo": " 1, 2 "})
        other = await client.get("/f", headers={"Foo": "1,3"})
    assert same.metadata["cache"] == "hit" and other.metadata["cache"] == "miss"

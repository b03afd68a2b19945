"""Limits the server announces: the header forms read into facts, and, against a real local
server that enforces a quota of its own, a limiter that follows them and so slows down before
the server refuses (the same client ignoring them gets 429s)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pytest
from aiohttp import web

from pepperpy_core import RateLimit, RateLimitedClient, RateLimitError
from pepperpy_core.behaviours.rate_limit import Announced, read_announced
from pepperpy_core.testing import FakeClock, LocalServer

# --------------------------------------------------------------------------- reading the headers


@pytest.mark.parametrize(("headers", "expected"), [
    pytest.param(  # the draft's current form: named policies, named remaining quotas
        {"RateLimit-Policy": '"burst";q=100;w=60, "day";q=1000;w=86400;qu="requests";pk=:cHsx:',
         "RateLimit": '"burst";r=7;t=21, "day";r=900;t=3600'},
        [Announced(remaining=7, limit=100, window=60.0, reset=21.0),
         Announced(remaining=900, limit=1000, window=86400.0, reset=3600.0)],
        id="ietf"),
    pytest.param(  # a name with a comma and an escaped quote, odd spacing, unknown parameters
        {"RateLimit-Policy": '"a,\\"b";q=5;w=2;future=?1',
         "RateLimit": '  "a,\\"b" ;r=1;t=2;x=tok , "nameless";r=3'},
        [Announced(remaining=1, limit=5, window=2.0, reset=2.0), Announced(remaining=3)],
        id="ietf-quoting"),
    pytest.param(  # a member that does not parse is skipped, the rest is read
        {"RateLimit": '"bad";r=, "ok";r=4;t=1, "neg";r=-2'},
        [Announced(remaining=4, reset=1.0)],
        id="ietf-malformed-member"),
    pytest.param(  # another quota unit: only "none left" is followed (as a pause)
        {"RateLimit-Policy": '"bytes";q=1000000;qu="content-bytes";w=60',
         "RateLimit": '"bytes";r=0;t=5'},
        [Announced(remaining=0, reset=5.0)],
        id="ietf-other-unit"),
    pytest.param(  # draft-07: a dictionary, with policies keyed by quota
        {"RateLimit": "limit=100, remaining=7, reset=21", "RateLimit-Policy": "10;w=1, 100;w=60"},
        [Announced(remaining=7, limit=100, window=60.0, reset=21.0)],
        id="ietf-draft-07"),
    pytest.param(  # the draft's first form
        {"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "21"},
        [Announced(remaining=7, limit=100, reset=21.0)],
        id="ratelimit-dash"),
    pytest.param(
        {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"},
        [Announced(remaining=0, limit=60, reset=30.0)],
        id="x-ratelimit"),
    pytest.param({"X-RateLimit-Remaining": "lots"}, [], id="x-ratelimit-not-a-number"),
    pytest.param({"Content-Type": "text/plain"}, [], id="nothing-announced"),
])
def test_header_forms(headers: dict[str, str], expected: list[Announced]) -> None:
    assert read_announced(_lower(headers)) == expected


def test_a_reset_given_as_a_unix_time_is_read_as_seconds_from_now() -> None:
    """GitHub's X-RateLimit-Reset is a point in time."""
    (fact,) = read_announced({"x-ratelimit-remaining": "10",
                              "x-ratelimit-reset": str(int(time.time()) + 42)})
    assert fact.reset is not None and 40.5 < fact.reset <= 42.0


def test_binance_used_weight_counts_to_the_end_of_the_calendar_minute() -> None:
    before = 60.0 - time.time() % 60.0
    (fact,) = read_announced({"x-mbx-used-weight-1m": "1180", "x-mbx-used-weight": "1180"})
    after = 60.0 - time.time() % 60.0
    assert (fact.used, fact.window, fact.remaining) == (1180, 60.0, None)
    assert fact.reset is not None
    assert min(before, after) - 1e-6 <= fact.reset <= max(before, after) + 1e-6


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# --------------------------------------------------------------------------- against a server

QUOTA, WINDOW = 5, 10.0  # what the server enforces, in fixed windows of its clock


def _ietf(left: int, reset: float) -> dict[str, str]:
    return {"RateLimit-Policy": f'"w";q={QUOTA};w={WINDOW:g}',
            "RateLimit": f'"w";r={left};t={reset:.3f}'}


def _ietf_07(left: int, reset: float) -> dict[str, str]:
    return {"RateLimit-Policy": f"{QUOTA};w={WINDOW:g}",
            "RateLimit": f"limit={QUOTA}, remaining={left}, reset={reset:.3f}"}


def _x_ratelimit(left: int, reset: float) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(QUOTA), "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": f"{reset:.3f}"}


def _own_api(left: int, reset: float) -> dict[str, str]:
    return {"X-Quota": f"{left} of {QUOTA}; resets in {reset:.3f}s"}


def read_own_api(headers: Mapping[str, str]) -> Sequence[Announced]:
    """A from_headers= hook for an API with a header of its own."""
    text = headers.get("x-quota")
    if text is None:
        return []
    left, _, rest = text.partition(" of ")
    quota, _, reset = rest.partition("; resets in ")
    return [Announced(remaining=int(left), limit=int(quota), reset=float(reset.rstrip("s")))]


Style = Callable[[int, float], dict[str, str]]


def quota_app(clock: FakeClock, style: Style, already: int = 0
              ) -> tuple[web.Application, list[tuple[float, int]]]:
    """An API allowing QUOTA requests per fixed WINDOW of ``clock`` (429 past it), announcing
    what is left in ``style``, with ``already`` spent by others in the current window; records
    (time, status) of each request."""
    seen: list[tuple[float, int]] = []
    windows: dict[int, int] = {int(clock.time() // WINDOW): already}

    async def api(request: web.Request) -> web.Response:
        now = clock.time()
        window = int(now // WINDOW)
        used = windows[window] = windows.get(window, 0) + 1
        reset = (window + 1) * WINDOW - now
        status = 200 if used <= QUOTA else 429
        seen.append((now, status))
        headers = style(max(0, QUOTA - used), reset)
        if status == 429:
            headers["Retry-After"] = str(max(1, round(reset)))
        return web.Response(status=status, text="ok", headers=headers)

    app = web.Application()
    app.router.add_get("/api", api)
    return app, seen


STYLES = [pytest.param(_ietf, None, id="ietf"), pytest.param(_ietf_07, None, id="ietf-draft-07"),
          pytest.param(_x_ratelimit, None, id="x-ratelimit"),
          pytest.param(_own_api, read_own_api, id="from_headers-hook")]


async def _run(style: Style, reader: object, follow: bool, count: int = 12
               ) -> tuple[list[tuple[float, int]], FakeClock]:
    clock = FakeClock(start=1003.0)  # 3 s into one of the server's windows
    app, seen = quota_app(clock, style)
    options = {"from_headers": (reader or read_announced) if follow else None}
    # our own limit is far looser than the server's: only what the server says can hold us
    limit = RateLimit.of((100, WINDOW), **options)
    async with LocalServer(app) as origin, RateLimitedClient(
        base_url=origin.base_url, rate_limit=limit, retries=0, clock=clock.time,
        sleep=clock.sleep,
    ) as client:
        for _ in range(count):
            await client.get("/api")
    return seen, clock


@pytest.mark.parametrize(("style", "reader"), STYLES)
async def test_the_limiter_slows_down_before_the_server_refuses(
    style: Style, reader: object
) -> None:
    """12 requests, one at a time, against a server allowing 5 per 10 s: after each answer the
    count follows what the server says is left, so once it says none, the client waits for the
    server's reset; every answer is a 200, and each server window sees 5 requests at most."""
    seen, clock = await _run(style, reader, follow=True)
    assert [status for _, status in seen] == [200] * 12
    per_window: dict[int, int] = {}
    for at, _ in seen:
        per_window[int(at // WINDOW)] = per_window.get(int(at // WINDOW), 0) + 1
    assert list(per_window.values()) == [5, 5, 2]
    assert clock.sleeps == pytest.approx([7.0, 10.0], abs=0.01)  # to each reset, no longer


@pytest.mark.parametrize(("style", "reader"), STYLES[:1])
async def test_without_following_the_server_the_same_client_gets_429s(
    style: Style, reader: object
) -> None:
    """The control: from_headers=None, same client and server: the sixth request is refused."""
    seen, _ = await _run(style, reader, follow=False)
    assert [status for _, status in seen][:6] == [200] * 5 + [429]


async def test_fewer_remaining_than_counted_slows_down_early() -> None:
    """Others spent 3 of the server's 5 in this window: its first answer to us says 1 is left,
    so after one more request ours waits for the server's reset, though our own count (100 per
    window) had 98 to go."""
    clock = FakeClock(start=1003.0)
    app, seen = quota_app(clock, _x_ratelimit, already=3)
    async with LocalServer(app) as origin, RateLimitedClient(
        base_url=origin.base_url, rate_limit=RateLimit.of((100, WINDOW)), retries=0,
        clock=clock.time, sleep=clock.sleep,
    ) as client:
        for _ in range(3):
            await client.get("/api")
    assert [status for _, status in seen] == [200, 200, 200]
    assert clock.sleeps == pytest.approx([7.0], abs=0.01)
    assert [at for at, _ in seen] == pytest.approx([1003.0, 1003.0, 1010.0], abs=0.01)


async def test_binance_used_weight_holds_the_next_request_before_a_429() -> None:
    """Binance says 1000 of the minute's 1200 weight is spent (by other processes on the same
    IP): with weight 100 per request, two pass, and the third raises RateLimitError (on_limit=
    "raise") with the rest of the calendar minute as retry_after; it never reaches the server,
    which would have refused it."""
    used = [1000]
    statuses: list[int] = []

    async def klines(request: web.Request) -> web.Response:
        used[0] += 100
        status = 200 if used[0] <= 1200 else 429
        statuses.append(status)
        return web.json_response([], status=status,
                                 headers={"X-MBX-USED-WEIGHT-1M": str(used[0])})

    app = web.Application()
    app.router.add_get("/api/v3/klines", klines)
    limit = RateLimit.of((1200, 60.0), on_limit="raise")
    async with LocalServer(app) as origin, RateLimitedClient(
        base_url=origin.base_url, rate_limit=limit, retries=0
    ) as client:
        for _ in range(2):
            response = await client.get("/api/v3/klines", weight=100)
            assert response.status == 200
        with pytest.raises(RateLimitError) as caught:
            await client.get("/api/v3/klines", weight=100)
        rest_of_minute = 60.0 - time.time() % 60.0
    assert statuses == [200, 200]
    assert caught.value.retry_after is not None
    assert abs(caught.value.retry_after - rest_of_minute) < 0.5 or rest_of_minute > 59.5

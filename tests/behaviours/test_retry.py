"""Retry policy and layer: the parts the behaviours issue extends (the core cases live in
tests/http/test_client.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from pepperpy_core import ConfigurationError, HttpClient
from pepperpy_core.behaviours.retry import RetryMiddleware, RetryPolicy
from pepperpy_core.http.models import Request, Response
from pepperpy_core.testing import FakeClock, LocalServer


def test_policy_value_object() -> None:
    """RetryPolicy is frozen, compares by value, validates, and accepts a count or None."""
    assert RetryPolicy.of(3) == RetryPolicy(total=3)
    assert RetryPolicy.of(None).total == 0
    assert RetryPolicy(methods={"get"}).methods == frozenset({"GET"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"RetryPolicy\(total=\.\.\.\) must be >= 0"):
        RetryPolicy(total=-1)
    with pytest.raises(TypeError, match="total"):
        RetryPolicy(total="3")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        RetryPolicy().total = 1  # type: ignore[misc]


def test_full_jitter_backoff_is_capped() -> None:
    """The n-th wait is drawn below min(max, base * 2**(n-1))."""
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0)
    assert policy.backoff(3, random=lambda: 0.999) == pytest.approx(3.996)
    assert policy.backoff(10, random=lambda: 0.5) == pytest.approx(2.5)
    assert RetryPolicy(backoff_base=1.0, jitter=False).backoff(2) == 2.0


async def test_per_request_count_keeps_client_settings(clock: FakeClock) -> None:
    """retries=N per request changes only the count: the client's statuses still apply."""
    layer = RetryMiddleware(RetryPolicy(total=1, statuses={418}), sleep=clock.sleep,
                            clock=clock.time)
    calls = 0

    async def teapot(request: Request) -> Response:
        nonlocal calls
        calls += 1
        return Response(418, request=request)

    response = await layer(Request("GET", "http://h/", extensions={"retries": 4}), teapot)
    assert calls == 5 and response.metadata["attempts"] == 5


async def test_should_retry_hook(clock: FakeClock) -> None:
    """The hook can retry a 200 whose body says 'busy' and can veto a retryable status."""
    policy = RetryPolicy(total=2, should_retry=lambda r: r.headers.get("x-busy") == "1" or None)
    layer = RetryMiddleware(policy, sleep=clock.sleep, clock=clock.time)
    seen = 0

    async def busy_once(request: Request) -> Response:
        nonlocal seen
        seen += 1
        return Response(200, headers={"x-busy": "1" if seen == 1 else "0"}, request=request)

    response = await layer(Request("GET", "http://h/"), busy_once)
    assert response.metadata["attempts"] == 2


async def test_class_retry_policy_uses_injected_time(
    server: LocalServer, hits: Counter[str]
) -> None:
    """An HttpClient subclass retries with its class attribute ``retry_policy`` on the injected
    fake clock."""
    clock = FakeClock()

    class Patient(HttpClient):
        retry_policy = RetryPolicy(total=2, backoff_base=10, jitter=False)

    async with Patient(base_url=server.base_url, clock=clock.time, sleep=clock.sleep) as c:
        response = await c.get("/flaky", params={"fail": 2, "key": "m"})
    assert response.status == 200 and response.metadata["attempts"] == 3
    assert clock.sleeps == [10, 20] and hits["flaky:m"] == 3


async def test_retry_after_on_the_response(server: LocalServer, clock: FakeClock) -> None:
    """Retry-After is honoured and the total wait recorded as retry_wait_s."""
    layer = RetryMiddleware(RetryPolicy(total=2), sleep=clock.sleep, clock=clock.time)
    async with HttpClient(base_url=server.base_url, retries=0, middlewares=[layer]) as c:
        response = await c.get("/flaky", params={"fail": 1, "status": 503, "retry_after": 4,
                                                 "key": "ra"})
    assert response.metadata["retry_wait_s"] == 4.0 and response.metadata["attempts"] == 2

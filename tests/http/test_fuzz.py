"""A hypothesis fuzz of the client's public arguments: whatever is passed, the outcome is a
response or one of our documented errors (never a raw ValueError, KeyError, UnicodeError...),
and nothing hangs. Requests that pass the checks are really sent, to nginx."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers.nginx import Nginx

from pepperpy_core import HttpClient, PepperPyError

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20
)
ANY_VALUE = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=True), st.booleans(), TEXT,
    st.binary(max_size=10), st.lists(TEXT, max_size=3),
)
PATHS = st.one_of(
    TEXT.map(lambda t: "/" + t),
    st.sampled_from(["/small.json", "/data.txt", "//x", "/[::1]", "http://[::1", "?q=1", ""]),
    TEXT, st.binary(max_size=5), st.none(), st.integers(),
)
HEADERS = st.one_of(
    st.none(), st.dictionaries(TEXT, TEXT, max_size=3),
    st.dictionaries(TEXT, ANY_VALUE, max_size=2), st.lists(st.tuples(TEXT, TEXT), max_size=2),
    TEXT,
)
PARAMS = st.one_of(
    st.none(), st.dictionaries(TEXT, ANY_VALUE, max_size=3),
    st.lists(st.tuples(TEXT, ANY_VALUE), max_size=3), st.integers(), TEXT,
)
METHODS = st.one_of(st.sampled_from(["GET", "get", "POST", "HEAD", "PUT", "BREW", ""]), TEXT)
BODIES = st.one_of(
    st.none(), st.binary(max_size=50), TEXT, st.dictionaries(TEXT, TEXT, max_size=3),
    st.integers(), st.lists(st.integers(), max_size=3),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
TIMEOUTS = st.one_of(st.none(), st.floats(min_value=-1, max_value=2), st.integers(-1, 2), TEXT)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend_name", ["aiohttp", "httpx"])
def test_fuzz_public_arguments_only_raise_documented_errors(
    nginx: Nginx, backend_name: str
) -> None:
    @settings(max_examples=120, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(
        method=METHODS, path=PATHS, headers=HEADERS, params=PARAMS, data=BODIES,
        json=st.one_of(st.just(None), JSON), timeout=TIMEOUTS,
    )
    def one(method: Any, path: Any, headers: Any, params: Any, data: Any, json: Any,
            timeout: Any) -> None:
        async def go() -> None:
            async with HttpClient(base_url=nginx.base, backend=backend_name, retries=0,
                                  timeout=2) as c:
                kwargs: dict[str, Any] = {"headers": headers, "params": params}
                if json is not None:
                    kwargs["json"] = json
                if data is not None:
                    kwargs["data"] = data
                if timeout is not None:
                    kwargs["timeout"] = timeout
                try:
                    response = await c.request(method, path, **kwargs)
                except PepperPyError:
                    return
                assert 100 <= response.status < 600

        asyncio.run(asyncio.wait_for(go(), 10))

    one()


@pytest.mark.timeout(60)
def test_fuzz_client_constructor_only_raises_documented_errors() -> None:
    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(
        base_url=st.one_of(st.none(), TEXT, TEXT.map(lambda t: "http://" + t)),
        headers=HEADERS, user_agent=st.one_of(st.none(), TEXT, st.integers()),
        cookies=st.one_of(st.none(), st.dictionaries(TEXT, TEXT, max_size=2), TEXT),
        timeout=TIMEOUTS, max_redirects=st.integers(-2, 3),
    )
    def one(**kwargs: Any) -> None:
        try:
            HttpClient(**kwargs)
        except PepperPyError:
            return

    one()

"""``pepperpy-core get`` against httpbin (under gunicorn), a server nobody here wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cli_runner import cli
from peers.httpbin import HttpBin, run_httpbin


@pytest.fixture(scope="module")
def bin_server() -> Iterator[HttpBin]:
    with run_httpbin() as server:
        yield server


async def test_request_items_as_httpbin_sees_them(bin_server: HttpBin) -> None:
    """Query, header and JSON items reach httpbin as a query string, a header and a JSON body."""
    code, out, _ = await cli("get", bin_server.url("/anything"), "q==1", "X-Trace:abc",
                             "name=pen", "price:=1.5")
    seen = json.loads(out)
    assert code == 0 and seen["method"] == "POST" and seen["args"] == {"q": "1"}
    assert seen["headers"]["X-Trace"] == "abc" and seen["json"] == {"name": "pen", "price": 1.5}


async def test_form_data_as_httpbin_sees_it(bin_server: HttpBin) -> None:
    """-d is a form body, parsed by httpbin as form fields."""
    code, out, _ = await cli("get", bin_server.url("/post"), "-d", "a=1&b=two")
    assert code == 0 and json.loads(out)["form"] == {"a": "1", "b": "two"}


async def test_gzip_body_is_decoded_on_a_pipe(bin_server: HttpBin) -> None:
    """httpbin's gzip-encoded answer arrives decoded on stdout."""
    code, out, _ = await cli("get", bin_server.url("/gzip"))
    assert code == 0 and json.loads(out)["gzipped"] is True


async def test_check_status_against_httpbin(bin_server: HttpBin) -> None:
    """--check-status maps httpbin's 418 to 4 and a 503 (after its retry) to 5."""
    assert (await cli("get", bin_server.url("/status/418"), "--check-status"))[0] == 4
    code, _, err = await cli("get", bin_server.url("/status/503"), "--check-status",
                             "--retries", "1", "-v")
    assert code == 5 and "* retrying: attempt 2" in err

"""``pepperpy-core get`` with httpie's and curl's habits, through the installed entry point."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cli_runner import cli, cli_on_terminal, cli_timed, plain

from pepperpy_core.cli._common import exit_code_for
from pepperpy_core.cli._items import ItemError, guess_url, parse_items
from pepperpy_core.exceptions import ConnectionError as PepperConnectionError
from pepperpy_core.testing import LocalServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    """Echo, repeated headers, binary bodies, statuses and a flaky path."""
    hits = {"flaky": 0}

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({
            "method": request.method,
            "query": [list(p) for p in request.query.items()],
            "headers": dict(request.headers),
            "body": (await request.read()).decode(),
        })

    async def cookies(request: web.Request) -> web.Response:
        response = web.Response(text="two cookies")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; Path=/")
        return response

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def flaky(request: web.Request) -> web.Response:
        hits["flaky"] += 1
        if hits["flaky"] == 1:
            return web.Response(status=503, text="busy")
        return web.json_response({"hits": hits["flaky"]})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/cookies", cookies)
    app.router.add_get("/image", image)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/slow", slow)
    async with LocalServer(app) as server:
        yield server


# ------------------------------------------------------------------ pure rules


def test_items_follow_httpie_separators() -> None:
    """The first separator wins, the longer one at the same place; backslash escapes."""
    items = parse_items(["q==py", "Accept:application/json", "name=pen", "price:=1.5",
                         "tags:=[1,2]", r"a\=b=c", "url=http://x", "X-Empty:"])
    assert items.params == [("q", "py")]
    assert items.headers == [("Accept", "application/json"), ("X-Empty", "")]
    assert items.json == {"name": "pen", "price": 1.5, "tags": [1, 2], "a=b": "c",
                          "url": "http://x"}


def test_bad_items_are_named() -> None:
    """An item with no separator, no name or bad raw JSON is refused, naming the item."""
    for bad, words in (("plain", "'plain'"), ("=x", "no name"), ("n:=nope", "not JSON")):
        with pytest.raises(ItemError, match=words):
            parse_items([bad])


def test_url_shorthands() -> None:
    """A missing scheme means http://; a leading colon means localhost."""
    assert guess_url("example.com/path") == "http://example.com/path"
    assert guess_url(":8080/x") == "http://localhost:8080/x"
    assert guess_url(":/x") == "http://localhost/x"
    assert guess_url("https://a.b/") == "https://a.b/"


def test_unresolvable_name_has_its_own_exit_code() -> None:
    """A connect failure caused by name resolution exits 6 (curl's code), others 7; the
    resolver error is a real one (a numeric-only lookup of a name, which sends no packet)."""
    try:
        socket.getaddrinfo("not-a-number.invalid", 80, flags=socket.AI_NUMERICHOST)
    except socket.gaierror as cause:
        error = PepperConnectionError("cannot connect for GET http://not-a-number.invalid/")
        error.__cause__ = cause
    assert exit_code_for(error) == 6
    assert exit_code_for(PepperConnectionError("cannot connect: refused")) == 7


# ------------------------------------------------------------------ through the entry point


async def test_request_items_reach_the_server(site: LocalServer) -> None:
    """Query, header and JSON items arrive as such; JSON fields imply POST."""
    code, out, _ = await cli("get", site.url("/echo"), "q==1", "q==2", "X-Trace:abc",
                             "name=pen", "price:=1.5")
    doc = json.loads(out)
    assert code == 0 and doc["method"] == "POST"
    assert doc["query"] == [["q", "1"], ["q", "2"]] and doc["headers"]["X-Trace"] == "abc"
    assert json.loads(doc["body"]) == {"name": "pen", "price": 1.5}
    assert doc["headers"]["Content-Type"].startswith("application/json")


async def test_data_is_a_form_post_like_curl(site: LocalServer, tmp_path: Path) -> None:
    """-d sends a form body and implies POST; -d @file sends the file's bytes."""
    code, out, _ = await cli("get", site.url("/echo"), "-d", "a=1&b=2")
    doc = json.loads(out)
    assert code == 0 and doc["method"] == "POST" and doc["body"] == "a=1&b=2"
    assert doc["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    body = tmp_path / "body.txt"
    body.write_text("from a file")
    code, out, _ = await cli("get", site.url("/echo"), "-d", f"@{body}", "-X", "PUT")
    doc = json.loads(out)
    assert doc["method"] == "PUT" and doc["body"] == "from a file"


async def test_any_method_with_x(site: LocalServer) -> None:
    """-X takes any token method."""
    code, out, _ = await cli("get", site.url("/echo"), "-X", "DELETE")
    assert code == 0 and json.loads(out)["method"] == "DELETE"


async def test_pipe_gets_the_body_only(site: LocalServer) -> None:
    """On a pipe only the body is written, byte for byte; -i adds status line and headers."""
    code, out, _ = await cli("get", site.url("/echo"), "k==v")
    assert code == 0 and out.startswith("{") and json.loads(out)["query"] == [["k", "v"]]
    code, out, _ = await cli("get", site.url("/echo"), "-i")
    head, _, body = out.partition("\n\n")
    assert head.startswith("HTTP 200 OK\n") and "Content-Type: application/json" in head
    assert json.loads(body)["method"] == "GET"


async def test_terminal_shows_head_and_pretty_json(site: LocalServer) -> None:
    """On a terminal: status line, headers, then the JSON body indented and coloured."""
    code, shown, _ = await cli_on_terminal("get", site.url("/echo"), "k==v")
    text = plain(shown)
    assert code == 0 and text.startswith("HTTP 200 OK\n")
    assert "Content-Type: application/json" in text
    assert '\n  "method": "GET",\n' in text  # pretty-printed
    assert "\x1b[" in shown  # coloured


async def test_terminal_never_gets_binary(site: LocalServer, tmp_path: Path) -> None:
    """A binary body is not dumped on a terminal; the message says how to save it, and -o
    saves it byte for byte."""
    code, shown, _ = await cli_on_terminal("get", site.url("/image"))
    text = plain(shown)
    assert code == 0 and "binary body of 1,032 bytes (image/png)" in text
    assert "-o FILE" in text and "\x89PNG" not in shown
    target = tmp_path / "image.png"
    code, out, err = await cli("get", site.url("/image"), "-o", str(target))
    assert code == 0 and out == "" and target.read_bytes() == PNG
    assert "1,032 bytes" in err and not (tmp_path / "image.png.part").exists()


async def test_json_keeps_repeated_headers(site: LocalServer) -> None:
    """--json lists headers as pairs: two Set-Cookie lines are two entries."""
    code, out, _ = await cli("get", site.url("/cookies"), "--json")
    cookies = [v for k, v in json.loads(out)["headers"] if k.lower() == "set-cookie"]
    assert code == 0 and cookies == ["a=1; Path=/", "b=2; Path=/"]


async def test_check_status_exit_codes(site: LocalServer) -> None:
    """Without --check-status an answer is success; with it 4xx exits 4 and 5xx exits 5."""
    assert (await cli("get", site.url("/status/404")))[0] == 0
    assert (await cli("get", site.url("/status/404"), "--check-status"))[0] == 4
    code, _, err = await cli("get", site.url("/status/500"), "--check-status", "--retries", "0")
    assert code == 5 and "Traceback" not in err
    assert (await cli("get", site.url("/status/204"), "--check-status"))[0] == 0


async def test_verbose_shows_headers_and_retries(site: LocalServer) -> None:
    """-v puts the request and response heads on stderr, with each retry announced, and
    leaves stdout to the body; secrets are redacted there."""
    code, out, err = await cli("get", site.url("/flaky"), "-v", "Authorization:Bearer s3cret")
    assert code == 0 and json.loads(out) == {"hits": 2}
    assert f"> GET {site.url('/flaky')}" in err and "* retrying: attempt 2" in err
    assert "* attempt 1: HTTP 503" in err and "< HTTP 200 OK" in err
    assert "s3cret" not in err and "Authorization: [REDACTED]" in err


async def test_timeout_bounds_the_whole_command(site: LocalServer) -> None:
    """--timeout 1 with retries ends in about a second with exit 28, not after every retry's
    own timeout."""
    code, err, took = await cli_timed("get", site.url("/slow"), "--timeout", "1", "--retries", "3")
    assert code == 28 and err.startswith("error: ") and took < 2.5  # far from 4 x 1 s


async def test_connection_refused_exit_code() -> None:
    """A refused connection exits 7 with one 'error:' line."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = await cli("get", f"127.0.0.1:{port}/", "--retries", "0")
    assert code == 7 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


async def test_argument_errors_name_the_flag() -> None:
    """A bad value names the flag and shows the subcommand's usage, exit 2."""
    code, _, err = await cli("get", "x", "--timeout", "0")
    assert code == 2 and "argument --timeout: must be > 0" in err
    assert "usage: pepperpy-core get" in err
    code, _, err = await cli("get", "x", "--retries", "-1")
    assert code == 2 and "argument --retries: must be >= 0" in err
    code, _, err = await cli("get", "x", "justaword")
    assert code == 2 and "request item 'justaword'" in err


async def test_scheme_is_assumed(site: LocalServer) -> None:
    """host:port/path without a scheme is fetched over http://."""
    code, out, _ = await cli("get", f"127.0.0.1:{site.port}/echo")
    assert code == 0 and json.loads(out)["method"] == "GET"

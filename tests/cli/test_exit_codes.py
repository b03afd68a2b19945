"""Every row of the exit-code table in docs/cli.md, through the installed entry point, plus
what ``--retries N`` and ``--timeout S`` mean."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cli_runner import cli, cli_timed
from peers.faultproxy import FaultProxy

from pepperpy_core.cli import _common
from pepperpy_core.testing import LocalServer

ROOT = Path(__file__).resolve().parents[2]
HITS = web.AppKey("hits", dict)

#: Loaded by the child interpreter (PYTHONPATH): names under .invalid fail to resolve at
#: once, with the resolver's own error, and no lookup leaves the machine.
_NO_DNS = """\
import socket
_real = socket.getaddrinfo
def _getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.rstrip(".").endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real(host, *args, **kwargs)
socket.getaddrinfo = _getaddrinfo
"""


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    """A counter of requests (``site.app[HITS]``) and a few fixed answers."""
    hits: dict[str, int] = {}

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        hits[str(code)] = hits.get(str(code), 0) + 1
        headers = {"Location": "/status/200"} if 300 <= code < 400 else {}
        return web.Response(status=code, text="answer", headers=headers)

    app = web.Application()
    app[HITS] = hits
    app.router.add_get("/status/{code}", status)
    async with LocalServer(app) as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_each_failure_has_its_documented_code(site: LocalServer, tmp_path: Path) -> None:
    """0, 1, 2, 3, 4, 5, 6, 7 and 35, each from the situation the table names (28 and 130
    have their own tests: here and in test_download_cli.py)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_NO_DNS)
    cases = [
        (0, ["get", site.url("/status/200"), "--check-status"], {}),
        (0, ["get", site.url("/status/404")], {}),  # an answer is success without the flag
        (1, ["download", site.url("/status/404"), "-o", str(tmp_path), "--retries", "0"], {}),
        (2, ["get", site.url("/"), "--timeout", "-3"], {}),
        (3, ["get", site.url("/status/302"), "--no-follow", "--check-status"], {}),
        (4, ["get", site.url("/status/404"), "--check-status"], {}),
        (5, ["get", site.url("/status/503"), "--check-status", "--retries", "0"], {}),
        (6, ["get", "http://no-such-host.invalid/", "--retries", "0"],
         {"PYTHONPATH": str(shim)}),
        (7, ["get", f"127.0.0.1:{_closed_port()}/", "--retries", "0"], {}),
        (35, ["get", site.url("/status/200").replace("http://", "https://"), "--retries", "0"],
         {}),
    ]
    for expected, args, env in cases:
        code, _, err = await cli(*args, env=env)
        assert code == expected, (args, err)
        assert "Traceback" not in err, args
        if expected not in (0, 1, 2):
            assert err.startswith("error: ") or not err, (args, err)


async def test_timeout_against_a_stalled_server_is_the_whole_budget(site: LocalServer) -> None:
    """A server that accepts and never answers: --timeout 1 with --retries 3 ends in about
    one second with exit 28, not after a timeout per retry."""
    async with FaultProxy(site.port) as proxy:
        proxy.fault = "stall"
        code, err, took = await cli_timed("get", proxy.url("/status/200"), "--timeout", "1",
                                          "--retries", "3")
    assert code == 28 and err.startswith("error: ") and "timed out" in err.lower()
    assert took < 2.5  # one 1 s budget plus slack, far from 4 x 1 s


async def test_retries_n_is_n_more_sends_announced_with_v(site: LocalServer) -> None:
    """--retries 2 against a server that is always busy: exactly 3 requests reach it, and
    -v announces each retry on stderr."""
    code, out, err = await cli("get", site.url("/status/503"), "--retries", "2", "-v",
                               "--check-status")
    assert code == 5 and out == "answer"
    assert site.app[HITS]["503"] == 3
    assert "* retrying: attempt 2" in err and "* retrying: attempt 3" in err
    assert "* retrying: attempt 4" not in err
    code, _, _ = await cli("get", site.url("/status/503"), "--retries", "0")
    assert code == 0 and site.app[HITS]["503"] == 4  # --retries 0: one send


async def test_connection_failures_are_announced_with_v() -> None:
    """A refused connection with -v shows each failed attempt before the final error."""
    code, _, err = await cli("get", f"127.0.0.1:{_closed_port()}/", "--retries", "1", "-v")
    assert code == 7
    assert "* attempt 1 failed: " in err and "* retrying: attempt 2" in err
    assert err.strip().splitlines()[-1].startswith("error: ")


def test_the_documented_table_matches_the_code() -> None:
    """docs/cli.md lists exactly the exit codes the command line uses."""
    page = (ROOT / "docs" / "cli.md").read_text()
    table = page.split("## Exit codes", 1)[1]
    documented: set[int] = set()
    for cell in re.findall(r"^\| ([\d, ]+) \|", table, re.M):
        documented.update(int(n) for n in cell.split(","))
    used = {value for name, value in vars(_common).items() if name.startswith("EXIT_")}
    assert documented == used

"""The pepperpy-core command line, run as a real subprocess against local servers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from cli_runner import cli

from pepperpy_core.testing import LocalServer


@pytest.fixture
async def ws_url() -> AsyncIterator[str]:
    async def echo(conn: websockets.ServerConnection) -> None:
        async for message in conn:
            await conn.send(message)
            await conn.send(json.dumps({"echo": True}))

    async with websockets.serve(echo, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def test_help_lists_every_command() -> None:
    """--help names each subcommand with a one-line purpose."""
    code, out, _ = await cli("--help")
    assert code == 0
    listed = out.split("positional arguments:", 1)[1].split("options:", 1)[0]
    for command in ("get", "download", "ws", "monitor", "vision", "demo"):
        assert re.search(rf"^\s+{command}\s+\S", listed, re.M), command


async def test_get_json_output(server: LocalServer) -> None:
    """--json prints one object scripts can parse, with the parsed body and the attempts."""
    code, out, _ = await cli("get", server.url("/flaky/cli?fail=1"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["status"] == 200 and doc["attempts"] == 2


async def test_get_bad_scheme_is_a_usage_error() -> None:
    """A URL with an unsupported scheme exits 2 under the usage, naming the URL."""
    code, _, err = await cli("get", "ftp://example.com/")
    assert code == 2 and err.startswith("usage: pepperpy-core get")
    assert "URL 'ftp://example.com/': expected a URL starting with http://" in err


async def test_ws_prints_messages(ws_url: str) -> None:
    """ws sends --send messages and prints what comes back as it arrived, one line each,
    then stops."""
    code, out, _ = await cli("ws", ws_url, "--send", '{"type": "hello"}', "--count", "2")
    assert code == 0
    assert out.splitlines() == ['{"type":"hello"}', '{"echo": true}']


async def test_download_json(server: LocalServer, tmp_path: Path) -> None:
    """download --json prints one object scripts can read: per-file results and totals."""
    code, out, _ = await cli(
        "download", server.url("/big?size=300000"), server.url("/status/404"),
        "-o", str(tmp_path), "--json", "--retries", "0",
    )
    doc = json.loads(out)
    assert code == 1 and doc["ok"] == 1 and doc["failed"] == 1
    good = next(f for f in doc["files"] if f["ok"])
    assert good["bytes"] == 300000 and Path(good["path"]).stat().st_size == 300000
    assert "404" in next(f for f in doc["files"] if not f["ok"])["error"]


async def test_monitor_json(server: LocalServer) -> None:
    """monitor --json prints one JSON object per state, here ONLINE for a live target."""
    code, out, _ = await cli(
        "monitor", f"127.0.0.1:{server.port}", "--interval", "0.05", "--duration", "0.3",
        "--json",
    )
    first = json.loads(out.splitlines()[0])
    assert code == 0 and first["state"] == "ONLINE" and first["latency_ms"] is not None

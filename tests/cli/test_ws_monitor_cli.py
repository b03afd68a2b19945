"""``pepperpy-core ws`` (interactive) and ``monitor`` through the installed entry point."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import websockets
from cli_runner import SCRIPT, cli


@asynccontextmanager
async def echo_server(*, drop_first: bool) -> AsyncIterator[str]:
    """An echo server's URL; with ``drop_first`` the first connection is closed after its
    first message (a service restart), so the client has to reconnect."""
    connections = 0

    async def handler(conn: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        first = drop_first and connections == 1
        async for message in conn:
            await conn.send(message)
            if first:
                await conn.close(1012, "restart")
                return

    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        yield f"ws://127.0.0.1:{next(iter(srv.sockets)).getsockname()[1]}"


async def test_ws_sends_stdin_lines_and_prints_text_as_text() -> None:
    """Lines from stdin are sent (JSON when they parse, else text); what comes back is
    printed one per line, text as text; connection events go to stderr, and --count ends."""
    async with echo_server(drop_first=False) as url:
        code, out, err = await cli(
            "ws", url, "--count", "3", "--duration", "20",
            stdin=b'first line\n{"n": 2}\nthird, plain\n',
        )
    assert code == 0
    assert out.splitlines() == ["first line", '{"n":2}', "third, plain"]
    assert err.splitlines() == ["[connected]", "[disconnected]"]


async def test_ws_on_a_terminal_sends_typed_lines() -> None:
    """With stdin on a terminal, each typed line is sent as it is typed, across a reconnect."""
    async with echo_server(drop_first=True) as url:
        await _type_on_terminal(url)


async def _type_on_terminal(url: str) -> None:
    leader, follower = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        SCRIPT, "ws", url, "--count", "2", "--duration", "20",
        stdin=follower, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    os.close(follower)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert await asyncio.wait_for(proc.stderr.readline(), 20) == b"[connected]\n"
        os.write(leader, b"typed one\n")
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"typed one\n"
        line = b""
        while line != b"[reconnected]\n":  # the server dropped the first connection
            line = await asyncio.wait_for(proc.stderr.readline(), 20)
            assert line, "stderr ended before [reconnected]"
        os.write(leader, b"typed two\n")
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"typed two\n"
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        os.close(leader)


async def test_monitor_prints_one_line_per_transition() -> None:
    """Each state appears once on stdout (no log line repeats it on stderr)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, out, err = await cli(
        "monitor", f"127.0.0.1:{port}", "--interval", "0.05", "--offline-after", "1",
        "--duration", "0.5", "--json",
    )
    states = [json.loads(line)["state"] for line in out.splitlines()]
    assert code == 1 and states == ["OFFLINE"] and err == ""


async def test_monitor_rejects_negative_numbers() -> None:
    """A negative --duration or a zero --interval is a usage error naming the flag."""
    code, _, err = await cli("monitor", "--duration", "-1")
    assert code == 2 and "argument --duration: must be > 0" in err
    code, _, err = await cli("monitor", "--interval", "0")
    assert code == 2 and "argument --interval: must be > 0" in err


async def test_every_help_is_quick_to_import() -> None:
    """--help of the tool and of each subcommand answers (exit 0) and lists its usage."""
    for args in (["--help"], ["get", "--help"], ["ws", "--help"], ["monitor", "--help"]):
        code, out, _ = await cli(*args)
        assert code == 0 and out.startswith("usage: pepperpy-core"), args


async def test_monitor_prints_each_transition_once_as_it_happens() -> None:
    """A real listener goes away and comes back: ONLINE, OFFLINE, ONLINE, one line each, as
    they happen, nothing on stderr but Ctrl-C's own line; Ctrl-C exits 130."""

    def listen(port: int = 0) -> socket.socket:
        # The kernel completes a probe's handshake from the backlog, so nothing here accepts:
        # no connection object of ours is left to leak when the listener closes mid-probe.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1024)
        return sock

    listener = listen()
    port = listener.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        SCRIPT, "monitor", f"tcp://127.0.0.1:{port}", "--interval", "0.05", "--timeout", "1",
        "--offline-after", "1", "--online-after", "1", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    states = []
    try:
        async def next_state() -> str:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)  # type: ignore[union-attr]
            return str(json.loads(line)["state"])

        states.append(await next_state())
        listener.close()
        states.append(await next_state())
        listener = listen(port)
        states.append(await next_state())
        proc.send_signal(signal.SIGINT)
        rest, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        listener.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert states == ["ONLINE", "OFFLINE", "ONLINE"]
    assert [json.loads(line)["state"] for line in rest.splitlines()] == []
    assert proc.returncode == 130 and err.decode().strip() == "interrupted"

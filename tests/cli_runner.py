"""Run the installed ``pepperpy-core`` entry point: on pipes, or on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import shutil
import sys
from pathlib import Path

#: The console script pip installed next to this interpreter (what a user runs).
SCRIPT = shutil.which("pepperpy-core", path=str(Path(sys.executable).parent)) or "pepperpy-core"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


async def cli(*args: str, stdin: bytes | None = None, timeout: float = 60,
              env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``pepperpy-core ARGS`` with pipes; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        SCRIPT, *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_timed(*args: str) -> tuple[int, str, float]:
    """Run ``pepperpy-core ARGS``; (exit code, stderr, seconds it took beyond the interpreter's
    start and imports, measured with ``--version`` just before on this machine as loaded now),
    so a test can bound the command's own time tightly."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await cli("--version"))[0] == 0
    start_up = loop.time() - started
    started = loop.time()
    code, _, err = await cli(*args)
    return code, err, loop.time() - started - start_up


async def cli_on_terminal(*args: str, timeout: float = 60, stderr_on_terminal: bool = False,
                          stdout_on_terminal: bool = True) -> tuple[int, str, str]:
    """Run ``pepperpy-core ARGS`` with stdout on a pseudo-terminal (stderr on a pipe, or on the
    terminal too with ``stderr_on_terminal``, then returned empty); (exit code, what the
    terminal showed, stderr). The terminal text keeps its colours. ``stdout_on_terminal=False``
    (with ``stderr_on_terminal``) puts only stderr on the terminal, as in ``... --json | jq``:
    the third value is then stdout."""
    leader, follower = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            SCRIPT, *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=follower if stdout_on_terminal else asyncio.subprocess.PIPE,
            stderr=follower if stderr_on_terminal else asyncio.subprocess.PIPE,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"},
        )
        os.close(follower)
        follower = -1
        loop = asyncio.get_running_loop()
        chunks: list[bytes] = []

        def drain() -> None:
            while True:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    return
                if not data:
                    return
                chunks.append(data)

        reading = loop.run_in_executor(None, drain)
        piped = proc.stderr or proc.stdout
        err = b"" if piped is None else await asyncio.wait_for(piped.read(), timeout)
        await asyncio.wait_for(proc.wait(), timeout)
        await asyncio.wait_for(reading, timeout)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode is not None
    return proc.returncode, b"".join(chunks).decode(errors="replace"), err.decode()


def plain(text: str) -> str:
    """``text`` without colour codes and with the terminal's CRLF line ends as LF."""
    return _ANSI.sub("", text).replace("\r\n", "\n")

"""``pepperpy-core download`` as a user runs it: the installed entry point against nginx, our
own server and the fault proxy, on pipes and on a terminal."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pty
import random
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import SCRIPT, cli, cli_on_terminal, plain
from peers.faultproxy import FaultProxy
from peers.nginx import Nginx, run_nginx

from pepperpy_core.testing import LocalServer

MiB = 1024 * 1024
FILES = {"a.bin": 3 * MiB, "b.bin": 1 * MiB + 17, "big.bin": 2 * MiB}


def _body(name: str) -> bytes:
    return random.Random(name).randbytes(FILES[name])


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx serving FILES at / and, about 1 MiB/s per connection, under /slow/."""
    root = tmp_path_factory.mktemp("dl-root")
    (root / "slow").mkdir()
    for name in FILES:
        (root / name).write_bytes(_body(name))
        (root / "slow" / name).write_bytes(_body(name))
    with run_nginx(root, "location /slow/ { limit_rate 1m; }") as server:
        yield server


async def test_pipe_shows_one_line_per_file_event_and_marks_failures(
    nginx: Nginx, server: LocalServer, tmp_path: Path
) -> None:
    """Without a terminal: a start and an end line per file (not a line per tick), then a
    table where the 404 says FAILED, binary units throughout, and exit 1."""
    code, out, err = await cli(
        "download", nginx.url("/a.bin"), nginx.url("/b.bin"), server.url("/status/404"),
        "-o", str(tmp_path), "--retries", "0",
    )
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines.count("[start] a.bin  3.0 MiB") == 1
    assert sum(line.startswith("[done] a.bin  3.0 MiB in ") for line in lines) == 1
    assert sum(line.startswith("[FAILED] 404  ") and "404" in line[12:] for line in lines) == 1
    events = [line for line in lines if line.startswith("[")]
    assert len(events) == 5  # 2 starts, 2 done, 1 failed
    table = lines[lines.index(next(x for x in lines if x.startswith("status"))):]
    assert table[0].split() == ["status", "file", "size", "time", "speed", "note"]
    rows = {row.split()[1]: row.split()[0] for row in table[1:4]}
    assert rows == {"a.bin": "OK", "b.bin": "OK", "404": "FAILED"}
    assert table[-1] == f"downloaded 2 of 3 file(s), 4.0 MiB, into {tmp_path}; 1 FAILED"
    assert " MB" not in err and "MB/s" not in err
    assert (tmp_path / "a.bin").read_bytes() == _body("a.bin")


async def test_terminal_shows_a_row_per_file_then_the_table(
    nginx: Nginx, tmp_path: Path
) -> None:
    """On a terminal: live rows with name, percent, size, speed and ETA while the files
    arrive, then the summary table."""
    code, shown, _ = await cli_on_terminal(
        "download", nginx.url("/slow/big.bin"), nginx.url("/slow/b.bin"), "-o", str(tmp_path),
        stderr_on_terminal=True,
    )
    text = plain(shown)
    assert code == 0, text
    row = next(line for line in text.splitlines() if line.startswith("big.bin") and "%" in line)
    # the speed's unit depends on how fast the first rows come (KiB/s or MiB/s), never MB/s
    assert " / 2.0 MiB" in row and re.search(r"\d (?:[KMG]i)?B/s", row) and "ETA " in row
    assert any(line.startswith("b.bin") and "%" in line for line in text.splitlines())
    assert "[done] big.bin  2.0 MiB" in text and "downloaded 2 of 2 file(s), 3.0 MiB" in text
    assert "status" in text and "\x1b[" in shown  # the table, coloured
    assert (tmp_path / "big.bin").read_bytes() == _body("big.bin")


async def test_ctrl_c_keeps_the_part_and_the_same_command_resumes(
    nginx: Nginx, tmp_path: Path
) -> None:
    """Ctrl-C mid-transfer: exit 130, the partial file stays and the message says to rerun;
    the same command then resumes (a Range request) and the file is whole."""
    async with FaultProxy(nginx.port) as proxy:
        proxy.fault = ("trickle", 0.001)  # slow enough to be interrupted
        args = ("download", proxy.url("/big.bin"), "-o", str(tmp_path))
        proc = await asyncio.create_subprocess_exec(
            SCRIPT, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        first = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert first == b"[start] big.bin  2.0 MiB\n"  # bytes are arriving
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stderr.read(), 20)).decode()
        assert await asyncio.wait_for(proc.wait(), 20) == 130
        assert "rerun the same command to resume" in rest and "Traceback" not in rest
        part = tmp_path / ".big.bin.part"
        kept = part.stat().st_size
        assert 0 < kept < FILES["big.bin"] and not (tmp_path / "big.bin").exists()

        proxy.fault = None
        code, out, _ = await cli(*args, "--json")
        doc = json.loads(out)
        assert code == 0 and doc["files"][0]["resumed"] is True
    assert (tmp_path / "big.bin").read_bytes() == _body("big.bin") and not part.exists()


async def test_a_cut_connection_resumes_within_the_run(nginx: Nginx, tmp_path: Path) -> None:
    """The fault proxy cuts the first answer after 1 MiB: the file still arrives whole, its
    line says it was resumed, and the checksum holds."""
    cuts = iter([("cut", MiB)])
    async with FaultProxy(nginx.port) as proxy:
        proxy.fault = lambda: next(cuts, None)
        digest = hashlib.sha256(_body("a.bin")).hexdigest()
        code, _, err = await cli("download", proxy.url("/a.bin"), "-o", str(tmp_path),
                                 "--sha256", digest.upper())
    assert code == 0, err
    assert any(line.startswith("[done] a.bin  3.0 MiB") and line.endswith("resumed")
               for line in err.splitlines())
    assert (tmp_path / "a.bin").read_bytes() == _body("a.bin")


@pytest.mark.parametrize(("args", "message"), [
    (["http://h/a.zip", "http://h/a.zip"], "URL given twice: http://h/a.zip"),
    (["http://h/x/a.zip", "http://g/a.zip"], "would both be saved as 'a.zip'"),
    (["http://h/a.zip", "--sha256", "abc"], "argument --sha256: expected 64 hex digits"),
    (["http://h/a.zip", "http://h/b.zip", "--sha256", "0" * 64], "give one per URL"),
    (["http://h/a.zip", "-j", "0"], "argument -j/--concurrency: must be > 0"),
    (["http://h/a.zip", "--retries", "-1"], "argument --retries: must be >= 0"),
    (["ftp://h/a.zip"], "expected a URL starting with http:// or https://"),
])
async def test_bad_plans_are_refused_before_any_transfer(
    args: list[str], message: str, tmp_path: Path
) -> None:
    """Exit 2, the download usage and a message naming the problem; nothing is created."""
    out_dir = tmp_path / "out"
    code, _, err = await cli("download", *args, "-o", str(out_dir))
    assert code == 2 and err.startswith("usage: pepperpy-core download")
    assert "pepperpy-core download: error: " in err and message in err
    assert "Error" not in err.replace("error:", "") and not out_dir.exists()


def test_size_units_are_binary() -> None:
    """One unit system: bytes, KiB, MiB, GiB (1024 each)."""
    from pepperpy_core.cli.download import size_text

    assert [size_text(n) for n in (512, 1536, 3 * MiB, 5 * 1024 * MiB)] == [
        "512 B", "1.5 KiB", "3.0 MiB", "5.0 GiB",
    ]


async def test_ctrl_c_on_a_terminal_leaves_a_clean_screen(nginx: Nginx, tmp_path: Path) -> None:
    """On a terminal, Ctrl-C while a row is live: the row stops, the cursor comes back, the
    resume hint is printed and the exit code is 130."""
    leader, follower = pty.openpty()
    async with FaultProxy(nginx.port) as proxy:
        proxy.fault = ("trickle", 0.001)
        proc = await asyncio.create_subprocess_exec(
            SCRIPT, "download", proxy.url("/big.bin"), "-o", str(tmp_path),
            stdin=asyncio.subprocess.DEVNULL, stdout=follower, stderr=follower,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"},
        )
        os.close(follower)
        loop = asyncio.get_running_loop()
        shown = b""
        try:
            while b"big.bin" not in shown or b"%" not in shown:  # a live row is drawn
                shown += await asyncio.wait_for(loop.run_in_executor(None, os.read, leader,
                                                                     65536), 20)
            proc.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(proc.wait(), 20) == 130
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        loop.run_in_executor(None, os.read, leader, 65536), 5)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            os.close(leader)
    text = plain(shown.decode(errors="replace"))
    assert "\x1b[?25h" in shown.decode(errors="replace")  # the cursor is shown again
    assert "rerun the same command to resume" in text and "Traceback" not in text
    assert (tmp_path / ".big.bin.part").stat().st_size > 0

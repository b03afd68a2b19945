"""Redis peers for the tests: the shared server on 127.0.0.1:6379 (a unique key prefix per test,
cleaned up after it), and a private ``redis-server`` on an ephemeral port that a test may stop
and start (the shared one is never touched)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from peers import require

pytest.importorskip("redis", reason='the redis extra: pip install -e ".[redis]"')
from redis.asyncio import Redis

SHARED_URL = "redis://127.0.0.1:6379/0"
HOW = ("apt-get install redis-server, then `redis-server --daemonize yes` "
       "(it listens on 127.0.0.1:6379)")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server's URL (skips locally, fails in CI, when it is not running)."""
    if not _answers(6379):
        require.missing("Redis on 127.0.0.1:6379", HOW)
    return SHARED_URL


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    name = f"pptest:{uuid.uuid4().hex[:12]}:"
    yield name
    client = Redis.from_url(redis_url)
    try:  # the limiter's keys start with the prefix, the cache's with "{" and the prefix
        names = [k for pattern in (name + "*", "{" + name + "*")
                 async for k in client.scan_iter(match=pattern, count=1000)]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()


class OwnRedis:
    """A redis-server of this test's own on a free port, with no persistence."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not _answers(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("the test's redis-server did not start")
            time.sleep(0.02)

    def hang(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def wake(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.proc.terminate()
            self.proc.wait(timeout=5)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        require.missing("redis-server binary", "apt-get install redis-server")
    server = OwnRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def settle() -> None:
    """Let the loop finish closing transports before the test ends."""
    await asyncio.sleep(0)

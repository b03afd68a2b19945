"""httpbin (the ``httpbin`` package) served by gunicorn on 127.0.0.1, an ephemeral port.

The listening socket is made here and handed to gunicorn (``--bind fd://N``), so the port is
known before gunicorn starts and nothing races for it. Both come from the ``test`` extra.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peers import require

__all__ = ["HttpBin", "run_httpbin"]


class HttpBin:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path


def _gunicorn() -> str | None:
    local = Path(sys.executable).with_name("gunicorn")
    return str(local) if local.exists() else shutil.which("gunicorn")


@contextmanager
def run_httpbin() -> Iterator[HttpBin]:
    """Start httpbin under gunicorn; stopped (and waited for) on exit."""
    gunicorn = _gunicorn()
    try:
        import httpbin  # noqa: F401
    except ImportError:
        gunicorn = None
    if gunicorn is None:
        require.missing("httpbin", "pip install 'pepperpy-core[test]' (httpbin and gunicorn)")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    process = subprocess.Popen(
        [gunicorn, "--bind", f"fd://{fd}", "--workers", "1", "--worker-class", "gthread",
         "--threads", "16", "--log-level", "warning", "--graceful-timeout", "1",
         "httpbin:app"],
        pass_fds=(fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    listener.close()
    try:
        _wait_ready(port, process)
        yield HttpBin(port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"httpbin exited early: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"GET /get HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if conn.recv(12).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("httpbin did not answer within 30 s")

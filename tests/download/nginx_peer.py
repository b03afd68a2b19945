"""nginx as a real download peer: started per test module on 127.0.0.1 with its own config.

The generated config runs nginx in the foreground (``daemon off``, one process), with its pid,
logs and temp folders in a tmp dir, serving a tmp ``root`` through locations that each switch
on one behaviour real servers have:

- ``/etag/``: static files with ETag, Last-Modified and Range (nginx's defaults);
- ``/noetag/``: ``etag off`` (Last-Modified is the only validator);
- ``/gzstatic/``: ``gzip_static always`` (the ``.gz`` beside a file is sent, compressed,
  whatever the client accepts);
- ``/gzip/``: on-the-fly gzip for every type (only to clients that accept gzip);
- ``/norange/``: ``max_ranges 0`` (Range is ignored: always 200).

A machine without nginx skips (or, in CI, fails) through ``peers.require.missing``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers import require

LOCATIONS = {
    "etag": "",
    "noetag": "etag off;",
    "gzstatic": "gzip_static always;",
    "gzip": "gzip on; gzip_types *; gzip_min_length 0; gzip_proxied any;",
    "norange": "max_ranges 0;",
}


@dataclass
class Nginx:
    """A running nginx: ``root`` is what it serves; ``url(location, name)`` addresses a file."""

    root: Path
    port: int

    def url(self, location: str, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{location}/{name}"

    def put(self, location: str, name: str, data: bytes, mtime: float | None = None) -> Path:
        """Write ``data`` as ``location/name`` (with ``mtime`` as its modification time)."""
        path = self.root / location / name
        path.write_bytes(data)
        if mtime is not None:
            import os

            os.utime(path, (mtime, mtime))
        return path


def _binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        require.missing("nginx", "apt-get install nginx (Debian package)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(base: Path, port: int) -> str:
    locations = "\n".join(
        f"    location /{name}/ {{ {body} }}" for name, body in LOCATIONS.items()
    )
    temps = "\n".join(
        f"  {kind}_temp_path {base / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {base / 'nginx.pid'};
error_log {base / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
{temps}
  types {{ application/octet-stream bin; text/plain txt; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    root {base / 'www'};
{locations}
  }}
}}
"""


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nginx did not start listening within 10 s")


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """One nginx for the module, stopped (and waited for) at the end."""
    binary = _binary()
    base = tmp_path_factory.mktemp("nginx")
    for folder in ("tmp", "www", *(f"www/{name}" for name in LOCATIONS)):
        (base / folder).mkdir(exist_ok=True)
    conf = base / "nginx.conf"
    for _ in range(5):  # another process may take the port between probe and listen
        port = _free_port()
        conf.write_text(_config(base, port))
        process = subprocess.Popen(
            [binary, "-p", str(base), "-c", str(conf), "-e", str(base / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(process, port, base / "error.log")
        except RuntimeError:
            process.kill()
            process.wait()
            continue
        break
    else:  # pragma: no cover - the machine has no free port at all
        raise RuntimeError("nginx could not start")
    try:
        yield Nginx(root=base / "www", port=port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()

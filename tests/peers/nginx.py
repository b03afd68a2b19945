"""nginx (Debian package ``nginx``) on 127.0.0.1, an ephemeral port, run as this user.

:func:`run_nginx` writes a whole configuration in a temporary directory (pid, logs and temp
paths inside it, ``daemon off``), with the caller's ``server`` snippet, and serves ``root``.
With ``tls=(certificate, key)`` (PEM files, e.g. from ``trustme``) the port speaks TLS and
HTTP/2 instead, and ``base`` is ``https://``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peers import require

__all__ = ["Nginx", "find_nginx", "run_nginx"]


class Nginx:
    def __init__(self, port: int, root: Path, scheme: str = "http") -> None:
        self.port = port
        self.root = root
        self.base = f"{scheme}://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path


def find_nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        require.missing("nginx", "apt-get install nginx (Debian package)")
    return found


def _user_line() -> str:
    """Run as root, nginx would hand its workers to ``nobody``, who cannot read a private tmp
    directory: keep them as the current user."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    return f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    types {{ text/plain txt; application/json json; text/html html; }}
    server {{
        listen 127.0.0.1:{port}{listen_options};
        root {root};{tls_lines}
{snippet}
    }}
}}
"""


@contextmanager
def run_nginx(
    root: Path, snippet: str = "", tls: tuple[Path, Path] | None = None
) -> Iterator[Nginx]:
    """Serve ``root`` with ``snippet`` inside the ``server`` block; stopped on exit."""
    binary = find_nginx()
    tls_lines = "" if tls is None else (
        f"\n        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};"
    )
    with tempfile.TemporaryDirectory(prefix="pepperpy-nginx-") as tmp:
        for attempt in range(5):
            port = _free_port()
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(_CONFIG.format(
                tmp=tmp, port=port, root=root, snippet=snippet, user=_user_line(),
                listen_options="" if tls is None else " ssl http2", tls_lines=tls_lines,
            ))
            process = subprocess.Popen(
                [binary, "-p", tmp, "-c", str(conf), "-e", f"{tmp}/error.log"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            if _wait_ready(port, process):
                break
            process.kill()
            process.wait()
            if attempt == 4:
                log = Path(tmp, "error.log")
                raise RuntimeError(
                    f"nginx did not start: {log.read_text() if log.exists() else ''}"
                )
        try:
            yield Nginx(port, root, "http" if tls is None else "https")
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False

"""nginx as a real download peer, once per test module, through :mod:`peers.nginx`.

It serves a tmp ``root`` through locations that each switch on one behaviour real servers have:

- ``/etag/``: static files with ETag, Last-Modified and Range (nginx's defaults);
- ``/noetag/``: ``etag off`` (Last-Modified is the only validator);
- ``/gzstatic/``: ``gzip_static always`` (the ``.gz`` beside a file is sent, compressed,
  whatever the client accepts);
- ``/gzip/``: on-the-fly gzip for every type (only to clients that accept gzip);
- ``/norange/``: ``max_ranges 0`` (Range is ignored: always 200).

A machine without nginx skips (or, in CI, fails) through ``peers.require.missing``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers.nginx import run_nginx

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
            os.utime(path, (mtime, mtime))
        return path


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """One nginx for the module, stopped (and waited for) at the end."""
    root = tmp_path_factory.mktemp("nginx-www")
    for name in LOCATIONS:
        (root / name).mkdir()
    snippet = "\n".join(
        f"        location /{name}/ {{ {body} }}" for name, body in LOCATIONS.items()
    )
    with run_nginx(root, snippet) as server:
        yield Nginx(root=root, port=server.port)

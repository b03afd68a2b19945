"""The files the HTTP tests have nginx serve, and the ``server`` snippet that serves them."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

#: Bytes of the static file nginx serves as /data.txt (text, compressible).
DATA = b"".join(b"line %06d of the static file\n" % n for n in range(4000))
BOMB_SIZE = 20 * 1024 * 1024


def make_site(root: Path) -> None:
    """The files nginx serves: plain, precompressed (whole, truncated, a bomb), deep JSON."""
    (root / "data.txt").write_bytes(DATA)
    (root / "noetag").mkdir()
    (root / "noetag" / "data.txt").write_bytes(DATA)
    (root / "static").mkdir()
    (root / "static" / "data.txt").write_bytes(DATA)
    (root / "static" / "data.txt.gz").write_bytes(gzip.compress(DATA))
    whole = gzip.compress(DATA)
    (root / "static" / "cut.txt").write_bytes(DATA)
    (root / "static" / "cut.txt.gz").write_bytes(whole[: len(whole) // 2])
    (root / "static" / "bomb.txt").write_bytes(b"")
    (root / "static" / "bomb.txt.gz").write_bytes(gzip.compress(b"\0" * BOMB_SIZE, 9))
    (root / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (root / "small.json").write_bytes(b'{"ok": true}')
    os.utime(root / "data.txt", (1_700_000_000, 1_700_000_000))


NGINX_SNIPPET = """
        location / { }
        location /noetag/ { etag off; }
        location /static/ { gzip_static on; }
        location /gz/ { alias {root}/; gzip on; gzip_min_length 1; gzip_types text/plain; }
        location /noranges/ { alias {root}/; max_ranges 0; }
        location = /bad-ipv6 { return 302 "http://[::1/x"; }
        location = /bad-ipv6-literal { return 302 "http://[zz::1]/x"; }
"""



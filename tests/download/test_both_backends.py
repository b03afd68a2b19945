"""Downloads on BOTH backends (aiohttp and httpx) against nginx, with our fault proxy in front
where a connection has to be cut: every byte received before a cut is kept, and the resume
rules hold the same way whichever transport carries them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from peers.faultproxy import FaultProxy

from pepperpy_core import HttpClient
from pepperpy_core.download import DownloadHandler
from pepperpy_core.exceptions import DownloadError
from pepperpy_core.testing import FakeClock

MiB = 1024 * 1024


def part_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


async def cut_call(
    proxy: FaultProxy, http: HttpClient, path: str, target: Path, cut: int, **options: Any
) -> DownloadHandler:
    """A call the proxy cuts ``cut`` bytes into the answer: it fails with DownloadError. The
    handler is returned for the next call, with the proxy forwarding faithfully again."""
    handler = DownloadHandler(http, max_retries=0, min_speed=None)
    proxy.fault = ("cut", cut)
    with pytest.raises(DownloadError):
        await handler.download(proxy.url(path), target, **options)
    proxy.fault = None
    return handler


async def test_cut_download_keeps_every_byte_received_and_resumes(
    nginx: Any, tmp_path: Path, backend: str
) -> None:
    """nginx behind our proxy, which cuts the answer 1.5 MiB in: the part file holds every
    byte that arrived before the cut (not only whole 1 MiB chunks), and the next call resumes
    from there to the exact file."""
    data = os.urandom(3 * MiB)
    nginx.put("etag", "cut.bin", data)
    target = tmp_path / "cut.bin"
    cut = MiB + MiB // 2
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        backend=backend, timeout=10, retries=0
    ) as http:
        handler = await cut_call(proxy, http, "/etag/cut.bin", target, cut)
        kept = part_of(target).stat().st_size
        assert cut - 1024 < kept < cut  # the answer's headers are well under 1 KiB
        assert part_of(target).read_bytes() == data[:kept] and not target.exists()
        result = await handler.download(proxy.url("/etag/cut.bin"), target)
    assert result.resumed and target.read_bytes() == data
    assert not part_of(target).exists()


async def test_a_retry_resumes_a_cut_download_by_itself(
    nginx: Any, tmp_path: Path, backend: str
) -> None:
    """max_retries=1: the first connection is cut 1.5 MiB into nginx's answer; the handler's
    retry (the shared backoff loop, its wait on a fake clock) resumes from the bytes kept, in
    the same call, to the exact file."""
    data = os.urandom(3 * MiB)
    nginx.put("etag", "retry.bin", data)
    target = tmp_path / "retry.bin"
    connections = iter([("cut", MiB + MiB // 2)])
    clock = FakeClock()
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        backend=backend, timeout=10, retries=0
    ) as http:
        proxy.fault = lambda: next(connections, None)  # only the first connection is cut
        handler = DownloadHandler(http, max_retries=1, min_speed=None, sleep=clock.sleep)
        result = await handler.download(proxy.url("/etag/retry.bin"), target)
    assert result.attempts == 2 and result.resumed and target.read_bytes() == data
    assert clock.sleeps and not part_of(target).exists()


async def test_keep_partial_false_leaves_nothing_after_a_cut(
    nginx: Any, tmp_path: Path, backend: str
) -> None:
    """keep_partial=False: the same cut leaves neither a part nor a sidecar, and the next call
    starts from zero (no Range) to the exact file."""
    data = os.urandom(2 * MiB)
    nginx.put("etag", "kp.bin", data)
    target = tmp_path / "kp.bin"
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        backend=backend, timeout=10, retries=0
    ) as http:
        handler = await cut_call(
            proxy, http, "/etag/kp.bin", target, 600_000, keep_partial=False
        )
        assert list(tmp_path.iterdir()) == []
        result = await handler.download(proxy.url("/etag/kp.bin"), target)
    assert not result.resumed and target.read_bytes() == data


async def test_weak_last_modified_is_never_resumed_and_never_spliced(
    nginx: Any, tmp_path: Path, backend: str
) -> None:
    """etag off and a Last-Modified later than the Date (weak, RFC 9110 8.8.2.2): the cut
    part cannot be proven to belong to the file, so it is not kept; the file is then replaced
    by another of the same size and date, and the next call holds exactly the new one (an
    If-Range with that date would have spliced the two: nginx honours it)."""
    future = time.time() + 3600
    v1, v2 = os.urandom(2 * MiB), os.urandom(2 * MiB)
    nginx.put("noetag", "w.bin", v1, mtime=future)
    target = tmp_path / "w.bin"
    async with FaultProxy(nginx.port) as proxy, HttpClient(
        backend=backend, timeout=10, retries=0
    ) as http:
        handler = await cut_call(proxy, http, "/noetag/w.bin", target, 600_000)
        assert list(tmp_path.iterdir()) == []  # nothing resumable: removed
        nginx.put("noetag", "w.bin", v2, mtime=future)
        result = await handler.download(proxy.url("/noetag/w.bin"), target)
    assert not result.resumed and target.read_bytes() == v2

"""Downloads on BOTH backends (aiohttp and httpx) against nginx, with our fault proxy in front
where a connection has to be cut: every byte received before a cut is kept, and the resume
rules hold the same way whichever transport carries them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from peers.faultproxy import FaultProxy

from pepperpy_core import HttpClient
from pepperpy_core.download import DownloadHandler
from pepperpy_core.exceptions import DownloadError

MiB = 1024 * 1024


def part_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


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
        url = proxy.url("/etag/cut.bin")
        handler = DownloadHandler(http, max_retries=0, min_speed=None)
        proxy.fault = ("cut", cut)
        with pytest.raises(DownloadError):
            await handler.download(url, target)
        kept = part_of(target).stat().st_size
        assert cut - 1024 < kept < cut  # the answer's headers are well under 1 KiB
        assert part_of(target).read_bytes() == data[:kept] and not target.exists()
        proxy.fault = None
        result = await handler.download(url, target)
    assert result.resumed and target.read_bytes() == data
    assert not part_of(target).exists()

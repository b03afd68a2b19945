"""The local Binance Vision archive server: layout, checksums, 404s, ranges and listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from pepperpy_core.exceptions import ChecksumMismatchError, UnsafeArchiveError, VisionError
from pepperpy_core.testing.vision_server import (
    SampleArchive,
    VisionArchiveServer,
    build_sample_archive,
)
from pepperpy_core.vision import (
    ListingPage,
    VisionFile,
    listing_prefix,
    listing_url,
    parse_checksum,
    parse_listing,
    read_archive,
    verify_checksum,
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleArchive]:
    """One generated archive shared by this module's tests."""
    root = tmp_path_factory.mktemp("vision")
    return root, build_sample_archive(root)


@pytest.fixture
async def served(
    archive: tuple[Path, SampleArchive],
) -> AsyncIterator[tuple[VisionArchiveServer, SampleArchive, aiohttp.ClientSession]]:
    """The archive served on 127.0.0.1 with a small listing page size, plus a session."""
    root, sample = archive
    async with VisionArchiveServer(root, page_size=3) as srv, aiohttp.ClientSession() as s:
        yield srv, sample, s


Served = tuple[VisionArchiveServer, SampleArchive, aiohttp.ClientSession]


async def fetch(session: aiohttp.ClientSession, url: str, **kw: object) -> tuple[int, bytes]:
    async with session.get(url, **kw) as response:  # type: ignore[arg-type]
        return response.status, await response.read()


async def test_served_files_verify_and_parse(served: Served) -> None:
    """A served zip matches its served checksum and parses with the right unit."""
    srv, sample, session = served
    for spec, unit in ((sample.spot_ms[0], "ms"), (sample.spot_us[0], "us")):
        status, body = await fetch(session, spec.url(srv.base_url))
        assert status == 200
        _, check = await fetch(session, spec.checksum_url(srv.base_url))
        verify_checksum(body, parse_checksum(check, filename=spec.filename))
        frame = read_archive(body, spec)
        assert len(frame) == 1440 and frame.source_time_unit == unit


async def test_missing_day_is_404(served: Served) -> None:
    """A missing day answers 404 for the zip and its checksum."""
    srv, sample, session = served
    assert sample.missing is not None
    assert (await fetch(session, sample.missing.url(srv.base_url)))[0] == 404
    assert (await fetch(session, sample.missing.checksum_url(srv.base_url)))[0] == 404
    assert (await fetch(session, srv.base_url + "/data/../../etc/passwd"))[0] == 404


async def test_fault_cases_fail_clearly(served: Served) -> None:
    """Wrong checksum, traversal member and truncated zip each raise their own error."""
    srv, sample, session = served
    assert sample.wrong_checksum and sample.traversal and sample.truncated
    _, body = await fetch(session, sample.wrong_checksum.url(srv.base_url))
    _, check = await fetch(session, sample.wrong_checksum.checksum_url(srv.base_url))
    with pytest.raises(ChecksumMismatchError):
        verify_checksum(body, parse_checksum(check))
    _, body = await fetch(session, sample.traversal.url(srv.base_url))
    with pytest.raises(UnsafeArchiveError):
        read_archive(body, sample.traversal)
    _, body = await fetch(session, sample.truncated.url(srv.base_url))
    with pytest.raises(VisionError, match="truncated"):
        read_archive(body, sample.truncated)
    _, check = await fetch(session, sample.truncated.checksum_url(srv.base_url))
    assert not check.endswith(b"\n")  # the no-trailing-newline variant


async def test_content_length_and_range(served: Served) -> None:
    """Files carry Content-Length and honour Range with 206 Partial Content."""
    srv, sample, session = served
    url = sample.spot_ms[0].url(srv.base_url)
    async with session.get(url) as response:
        full = await response.read()
        assert response.content_length == len(full)
    async with session.get(url, headers={"Range": "bytes=10-"}) as response:
        assert response.status == 206
        assert await response.read() == full[10:]


async def test_range_can_be_disabled(archive: tuple[Path, SampleArchive]) -> None:
    """With range_requests=False a Range header is ignored (200, whole file)."""
    root, sample = archive
    server = VisionArchiveServer(root, range_requests=False)
    async with server as srv, aiohttp.ClientSession() as session:
        url = sample.spot_ms[0].url(srv.base_url)
        status, body = await fetch(session, url, headers={"Range": "bytes=10-"})
    assert status == 200 and body == (root / sample.spot_ms[0].path).read_bytes()


async def test_override_then_real_file(served: Served) -> None:
    """override() answers the next request differently, then the real file is served."""
    srv, sample, session = served
    spec = sample.spot_ms[1]
    srv.override(spec.path, body=b"garbage")
    assert (await fetch(session, spec.url(srv.base_url)))[1] == b"garbage"
    assert (await fetch(session, spec.url(srv.base_url)))[1].startswith(b"PK")
    assert srv.count(spec.path) == 2


async def list_all(session: aiohttp.ClientSession, base: str, prefix: str) -> list[ListingPage]:
    pages: list[ListingPage] = []
    marker = None
    while True:
        _, body = await fetch(session, listing_url(prefix, base=base, marker=marker))
        pages.append(parse_listing(body))
        marker = pages[-1].continue_after
        if marker is None:
            return pages


@pytest.mark.parametrize("next_marker", [True, False])
async def test_listing_paginates(archive: tuple[Path, SampleArchive], next_marker: bool) -> None:
    """The S3-style listing pages through every key, with or without NextMarker."""
    root, sample = archive
    prefix = sample.spot_ms[0].directory
    server = VisionArchiveServer(root, page_size=3, next_marker=next_marker)
    async with server as srv, aiohttp.ClientSession() as session:
        pages = await list_all(session, srv.listing_url, prefix)
    keys = [e.key for p in pages for e in p.entries]
    expected = sorted(p.relative_to(root).as_posix() for p in (root / prefix).iterdir())
    assert keys == expected and len(pages) == -(-len(expected) // 3)
    assert all(p.next_marker is None for p in pages) or next_marker
    files = {VisionFile.from_path(k) for k in keys}
    assert set(sample.spot_ms) <= files and sample.missing not in files


async def test_listing_common_prefixes(served: Served) -> None:
    """Listing a folder with the delimiter returns sub-folders as common prefixes."""
    srv, _sample, session = served
    pages = await list_all(session, srv.listing_url, listing_prefix("spot", "trades"))
    prefixes = [p for page in pages for p in page.common_prefixes]
    assert prefixes == ["data/spot/daily/trades/BTCUSDT/"]
    assert all(not page.entries for page in pages)

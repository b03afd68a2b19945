"""Resume rules: a resume continues the same file, across calls and processes; compressed
servers; no secret in a log event or an error. Against our server and against nginx."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from peers.faultproxy import FaultProxy

from pepperpy_core import HttpClient
from pepperpy_core.download import DownloadHandler, download_files_concurrently
from pepperpy_core.exceptions import DownloadError
from pepperpy_core.testing import FakeClock, LocalServer, capture_events

MiB = 1024 * 1024
OLD_DATE = "Wed, 01 Jan 2025 00:00:00 GMT"


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


async def keep_partial_of(http: HttpClient, url: str, target: Path) -> None:
    """Start a download that stalls after 1 MiB, cancel it once the part has bytes."""
    task = asyncio.create_task(DownloadHandler(http, min_speed=None).download(url, target))
    part = target.with_name(f".{target.name}.part")
    for _ in range(300):
        await asyncio.sleep(0.01)
        if part.exists() and part.stat().st_size >= 128_000:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_download_keeps_part_and_next_call_resumes(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """Cancelled: the part and a sidecar stay, nothing under the final name; the next call
    (a new handler) resumes with Range + If-Range and the bytes are exact."""
    target = tmp_path / "r.bin"
    await keep_partial_of(http, files.url("r.bin", stall_after=MiB, stalls=1), target)
    assert parts(tmp_path) == [".r.bin.part", ".r.bin.part.json"] and not target.exists()
    kept = (tmp_path / ".r.bin.part").stat().st_size
    seen: list[int] = []
    result = await DownloadHandler(http, chunk_size=4096).download(
        files.url("r.bin", stall_after=MiB, stalls=1), target, sha256=files.sha("r.bin"),
        progress=lambda p: seen.append(p.downloaded),
    )
    assert target.read_bytes() == files.body("r.bin") and result.resumed
    assert kept < seen[0] <= kept + 4096  # progress counts the bytes kept before
    assert files.faults.ranges[-1][1:] == (f"bytes={kept}-", '"r.bin-v1"')
    assert parts(tmp_path) == []


async def test_sidecar_keeps_no_secret_and_other_url_starts_over(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """The sidecar holds the URL redacted (plus a hash), never api_key in clear; a part left
    for another URL is not continued."""
    target = tmp_path / "s.bin"
    await keep_partial_of(http, files.url("s.bin", stall_after=MiB, api_key="SECRET1"), target)
    sidecar = (tmp_path / ".s.bin.part.json").read_text()
    assert "SECRET1" not in sidecar and "REDACTED" in sidecar
    await DownloadHandler(http).download(files.url("s.bin", api_key="OTHER"), target)
    assert target.read_bytes() == files.body("s.bin")
    assert files.faults.ranges[-1][1] is None  # no Range: the part belonged to another URL


def _replacing_app(state: dict[str, Any]) -> web.Application:
    """Serves state['body'] with only a Last-Modified (no ETag), honouring Range + If-Range
    by the date, as a static server does; the body may be replaced under the same date."""

    async def serve(request: web.Request) -> web.StreamResponse:
        body: bytes = state["body"]
        state["requests"].append(dict(request.headers))
        wanted, since = request.headers.get("Range"), request.headers.get("If-Range")
        start = 0
        if wanted and (since is None or since == state["lm"]):
            start = int(wanted[len("bytes=") : -1])
        response = web.StreamResponse(status=206 if start else 200)
        response.headers["Last-Modified"] = state["lm"]
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        response.content_length = len(body) - start
        await response.prepare(request)
        cut = state.pop("cut", None)
        await response.write(body[start : cut if cut is not None else len(body)])
        if cut is not None:
            assert request.transport is not None
            request.transport.abort()
            return response
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/f.bin", serve)
    return app


@pytest.mark.parametrize("lm", [OLD_DATE, "now"])
async def test_replaced_under_same_last_modified_is_not_spliced(
    http: HttpClient, tmp_path: Path, lm: str
) -> None:
    """v1 is cut half way, then replaced by a longer v2 under the same Last-Modified: the
    download restarts and holds exactly v2. With a Last-Modified as new as the Date (weak,
    RFC 9110 8.8.2.2) no If-Range is sent at all."""
    date = OLD_DATE if lm == OLD_DATE else time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    v1, v2 = os.urandom(MiB), os.urandom(MiB + 10)
    state: dict[str, Any] = {"body": v1, "lm": date, "requests": [], "cut": MiB // 2}
    async with LocalServer(_replacing_app(state)) as server:
        clock = FakeClock()

        async def replace_then_sleep(seconds: float) -> None:
            state["body"] = v2
            await clock.sleep(seconds)

        handler = DownloadHandler(http, sleep=replace_then_sleep, min_speed=None)
        await handler.download(server.url("/f.bin"), tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == v2
    second = state["requests"][1]
    if lm == OLD_DATE:
        assert second.get("If-Range") == date  # strong date: tried, then refused (length)
        assert "Range" not in state["requests"][2]
    else:
        assert "If-Range" not in second and "Range" not in second


def _gzip_app() -> web.Application:
    """Compresses whatever the client accepts, with Content-Length of the gzip bytes."""
    plain = b"0123456789abcdef" * 65536

    async def serve(request: web.Request) -> web.Response:
        body = gzip.compress(plain)
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "ETag": '"gz"', "X-Plain": "1"}
        )

    app = web.Application()
    app.router.add_get("/g.txt", serve)
    return app


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_server_that_compresses_anyway(tmp_path: Path, backend: str) -> None:
    """A server that gzips despite Accept-Encoding: identity: the file holds the decoded
    bytes, and no size check compares decoded bytes with the gzip Content-Length."""
    async with LocalServer(_gzip_app()) as server, HttpClient(backend=backend) as http:
        result = await DownloadHandler(http, max_retries=0).download(
            server.url("/g.txt"), tmp_path / "g.txt"
        )
    assert (tmp_path / "g.txt").read_bytes() == b"0123456789abcdef" * 65536
    assert result.bytes == 16 * 65536


async def test_no_secret_in_retry_and_failed_events_or_error(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """download.retry / download.failed and the final error carry no api_key value."""
    url = files.url("k.bin", fail=9, api_key="TOPSECRET", token="T0K")
    with capture_events() as events:
        handler = DownloadHandler(http, max_retries=1, sleep=FakeClock().sleep)
        assert not await handler.download_file(url, tmp_path / "k.bin")
    text = repr(events) + str(handler.last_error) + repr(handler.last_error.url)  # type: ignore[union-attr]
    assert {"download.retry", "download.failed"} <= {e["event"] for e in events}
    assert "TOPSECRET" not in text and "T0K" not in text


async def test_concurrent_batch_keeps_parts_and_resumes(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """download_files_concurrently follows the same rule: cancelled, the parts stay; the
    next batch resumes them."""
    urls = [files.url(f"b{i}.bin", stall_after=MiB, stalls=1) for i in range(2)]
    task = asyncio.create_task(download_files_concurrently(http, urls, tmp_path, 2, min_speed=None))
    for _ in range(300):
        await asyncio.sleep(0.01)
        if len([p for p in tmp_path.glob(".*.part") if p.stat().st_size >= 128_000]) == 2:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(list(tmp_path.glob(".*.part.json"))) == 2
    outcomes = await download_files_concurrently(http, urls, tmp_path, 2)
    assert all(outcomes) and all(o.result is not None and o.result.resumed for o in outcomes)
    assert (tmp_path / "b0.bin").read_bytes() == files.body("b0.bin")


KILLED_CHILD = r"""
import asyncio, sys
from pepperpy_core import HttpClient
from pepperpy_core.download import DownloadHandler
async def main():
    async with HttpClient(timeout=30) as http:
        await DownloadHandler(http, min_speed=None).download(sys.argv[1], sys.argv[2])
asyncio.run(main())
"""


async def test_kill_9_then_resume(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """A real process killed with SIGKILL mid-transfer leaves its part and sidecar and no
    final file; the next call resumes it to the exact bytes."""
    target = tmp_path / "k9.bin"
    url = files.url("k9.bin", stall_after=MiB, stalls=1)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_CHILD, url, str(target)
    )
    part = tmp_path / ".k9.bin.part"
    for _ in range(1000):
        await asyncio.sleep(0.01)
        if part.exists() and part.stat().st_size >= 128_000:
            break
    child.send_signal(signal.SIGKILL)
    await child.wait()
    assert not target.exists() and (tmp_path / ".k9.bin.part.json").exists()
    result = await DownloadHandler(http).download(url, target)
    assert result.resumed and target.read_bytes() == files.body("k9.bin")


# --------------------------------------------------------------------- nginx as the peer


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_nginx_gzip_static_and_on_the_fly(nginx: Any, tmp_path: Path, backend: str) -> None:
    """nginx gzip_static always (compresses anyway) and on-the-fly gzip: the file on disk is
    the plain file."""
    data = b"line of text\n" * 100_000
    nginx.put("gzstatic", "a.txt", data)
    (nginx.root / "gzstatic" / "a.txt.gz").write_bytes(gzip.compress(data))
    nginx.put("gzip", "b.txt", data)
    async with HttpClient(backend=backend) as http:
        handler = DownloadHandler(http, max_retries=0)
        await handler.download(nginx.url("gzstatic", "a.txt"), tmp_path / "a.txt")
        await handler.download(nginx.url("gzip", "b.txt"), tmp_path / "b.txt")
    assert (tmp_path / "a.txt").read_bytes() == data == (tmp_path / "b.txt").read_bytes()


async def _cut_short(proxy: FaultProxy, http: HttpClient, path: str, target: Path) -> int:
    """A first call that the proxy cuts 600,000 bytes in: it fails, keeping a part and a
    sidecar written by the handler itself; the size of the part is returned."""
    proxy.fault = ("cut", 600_000)
    with pytest.raises(DownloadError):
        await DownloadHandler(http, max_retries=0, min_speed=None).download(
            proxy.url(path), target
        )
    proxy.fault = None
    part, sidecar = target.with_name(f".{target.name}.part"), target.with_name(
        f".{target.name}.part.json"
    )
    assert sidecar.exists() and not target.exists()
    return part.stat().st_size


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
@pytest.mark.parametrize("location", ["etag", "noetag", "norange"])
async def test_nginx_resume_across_calls(
    nginx: Any, tmp_path: Path, location: str, backend: str
) -> None:
    """A call cut short leaves a part; the next call continues it from nginx with If-Range
    (its strong ETag, or an hour-old Last-Modified with etag off: strong by RFC 9110 8.8.2.2);
    with max_ranges 0 nginx answers 200 and the download starts over. Exact bytes each time."""
    data = os.urandom(2 * MiB)
    nginx.put(location, "r.bin", data, mtime=time.time() - 3600)
    target = tmp_path / "r.bin"
    async with FaultProxy(nginx.port) as proxy, HttpClient(backend=backend, retries=0) as http:
        kept = await _cut_short(proxy, http, f"/{location}/r.bin", target)
        assert 0 < kept < 600_000
        second = await DownloadHandler(http, max_retries=0).download(proxy.url(
            f"/{location}/r.bin"), target)
    assert target.read_bytes() == data
    assert second.resumed == (location != "norange")


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
@pytest.mark.parametrize("location", ["etag", "noetag"])
async def test_nginx_file_replaced_between_calls_is_not_spliced(
    nginx: Any, tmp_path: Path, location: str, backend: str
) -> None:
    """A part of v1 kept; v2 (another size) put under the same mtime. With ETags nginx's
    validator changes (200, whole v2); with etag off the Last-Modified is the same, so the 206
    is accepted only if its complete length matches v1's: it does not, and the download
    starts over. Either way the file is exactly v2."""
    v1, v2 = os.urandom(2 * MiB), os.urandom(2 * MiB + 7)
    mtime = time.time() - 3600
    nginx.put(location, "v.bin", v1, mtime=mtime)
    target = tmp_path / "v.bin"
    async with FaultProxy(nginx.port) as proxy, HttpClient(backend=backend, retries=0) as http:
        await _cut_short(proxy, http, f"/{location}/v.bin", target)
        nginx.put(location, "v.bin", v2, mtime=mtime)
        result = await DownloadHandler(http, max_retries=0).download(
            proxy.url(f"/{location}/v.bin"), target
        )
    assert target.read_bytes() == v2 and not result.resumed


async def test_final_name_never_holds_unverified_bytes(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A wrong checksum removes part and sidecar (nothing to resume from bad bytes)."""
    with pytest.raises(DownloadError):
        await DownloadHandler(http).download(
            files.url("w.bin"), tmp_path / "w.bin", sha256="0" * 64
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_cut_keeps_every_byte_that_arrived(files: Any, tmp_path: Path, backend: str) -> None:
    """A connection cut 300,000 bytes into a 3 MiB file, with 1 MiB chunks: the part keeps
    exactly the 300,000 bytes that arrived (not the last whole chunk, not nothing), so the
    next call asks for the rest only."""
    target = tmp_path / "cut.bin"
    url = files.url("cut.bin", drop=300_000)
    async with HttpClient(backend=backend, retries=0) as http:
        handler = DownloadHandler(http, max_retries=0, min_speed=None)
        with pytest.raises(DownloadError):
            await handler.download(url, target)
        part = tmp_path / ".cut.bin.part"
        assert part.read_bytes() == files.body("cut.bin")[:300_000] and not target.exists()
        result = await DownloadHandler(http, max_retries=0).download(url, target)
    assert result.resumed and target.read_bytes() == files.body("cut.bin")
    assert files.faults.ranges[-1][1] == "bytes=300000-"

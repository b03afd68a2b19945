"""DownloadHandler against a real local server with faults."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pepperpy_core import HttpClient
from pepperpy_core.download import DownloadHandler, DownloadProgress
from pepperpy_core.exceptions import (
    ChecksumMismatchError,
    ConfigurationError,
    DownloadError,
    DownloadException,
    DownloadStalledException,
)
from pepperpy_core.http.factory import create_client
from pepperpy_core.http.retry import RetryPolicy
from pepperpy_core.testing import FakeClock

MiB = 1024 * 1024


def leftovers(folder: Path) -> list[str]:
    """Names of part files left in ``folder`` (there should never be any)."""
    return sorted(p.name for p in folder.rglob("*.part"))


def quick(http: Any, **kw: Any) -> DownloadHandler:
    """A handler whose retries wait on a fake clock (no real backoff sleeps)."""
    clock = FakeClock()
    kw.setdefault("sleep", clock.sleep)
    return DownloadHandler(http, **kw)


async def test_download_exact_bytes_into_new_folders(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A plain download creates the parent folders and writes exactly the served bytes."""
    target = tmp_path / "a" / "b" / "data.bin"
    result = await DownloadHandler(http).download(files.url("data.bin"), target)
    assert target.read_bytes() == files.body("data.bin")
    assert result.bytes == 3 * MiB and result.attempts == 1 and not result.resumed
    assert result.path == target and result.sha256 is None
    assert leftovers(tmp_path) == []


async def test_download_file_returns_true_and_false(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """download_file() is True on success; on a 404 it is False and last_error says why."""
    handler = DownloadHandler(http)
    assert await handler.download_file(url=files.url("ok.bin"), local_path=tmp_path / "ok.bin")
    assert handler.last_error is None
    missing = files.server.url("/nothing/here.bin")
    assert not await handler.download_file(url=missing, local_path=tmp_path / "x.bin")
    assert isinstance(handler.last_error, DownloadException)
    assert "404" in str(handler.last_error)
    assert not (tmp_path / "x.bin").exists() and leftovers(tmp_path) == []


async def test_404_raises_without_retrying(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """download() raises a DownloadError naming the status after one attempt."""
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        await quick(http).download(files.server.url("/no/pe.bin"), tmp_path / "n.bin")
    assert info.value.attempts == 1 and info.value.url.endswith("/no/pe.bin")


async def test_resume_after_dropped_connection(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A connection cut half way resumes with Range + If-Range; the bytes are exact."""
    url = files.url("drop.bin", drop=MiB + 123)
    result = await quick(http).download(url, tmp_path / "drop.bin", compute_sha256=True)
    assert (tmp_path / "drop.bin").read_bytes() == files.body("drop.bin")
    assert result.resumed and result.attempts == 2
    assert result.sha256 == files.sha("drop.bin")
    second = files.faults.ranges[-1]
    assert second[1] is not None and second[1].startswith("bytes=") and second[1] != "bytes=0-"
    assert second[2] == '"drop.bin-v1"'
    assert leftovers(tmp_path) == []


async def test_range_unsupported_restarts_cleanly(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A server that answers 200 to a Range request makes the download start over, intact."""
    url = files.url("norange.bin", drop=MiB, norange=1)
    result = await quick(http).download(url, tmp_path / "n.bin", sha256=files.sha("norange.bin"))
    assert (tmp_path / "n.bin").read_bytes() == files.body("norange.bin")
    assert not result.resumed and result.attempts == 2


async def test_503_then_success_with_backoff(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """Two 503s are retried with backoff on the injected sleep, then the file arrives."""
    clock = FakeClock()
    handler = DownloadHandler(http, sleep=clock.sleep, clock=clock.time, min_speed=None)
    result = await handler.download(files.url("busy.bin", fail=2), tmp_path / "busy.bin")
    assert result.attempts == 3 and len(clock.sleeps) == 2
    assert (tmp_path / "busy.bin").read_bytes() == files.body("busy.bin")


async def test_retry_after_is_honoured(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """A 503 with Retry-After: 4 waits exactly 4 s (virtual) before the next attempt."""
    clock = FakeClock()
    handler = DownloadHandler(http, sleep=clock.sleep, clock=clock.time, min_speed=None)
    await handler.download(files.url("ra.bin", fail=1, retry_after=4), tmp_path / "ra.bin")
    assert clock.sleeps == [4.0]


async def test_retry_after_above_the_policys_maximum_ends_the_retries(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A Retry-After longer than retry_policy.retry_after_max is not waited for, the same rule
    as the HTTP retry layer: the download fails after that attempt, having slept nothing."""
    clock = FakeClock()
    handler = DownloadHandler(http, sleep=clock.sleep, clock=clock.time, min_speed=None,
                              retry_policy=RetryPolicy(retry_after_max=2.0))
    with pytest.raises(DownloadError, match=r"after 1 attempt\(s\).*503") as info:
        await handler.download(files.url("ra2.bin", fail=1, retry_after=4), tmp_path / "ra2.bin")
    assert info.value.attempts == 1 and clock.sleeps == []


async def test_the_policys_deadline_bounds_the_retries(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """retry_policy.deadline bounds attempts and waits together: waits of 1 s and 2 s fit in
    3 s, the 4 s one would not, so 3 attempts although max_retries allows 10."""
    clock = FakeClock()
    policy = RetryPolicy(deadline=3.0, jitter=False, backoff_base=1.0)
    handler = DownloadHandler(http, sleep=clock.sleep, clock=clock.time, min_speed=None,
                              max_retries=10, retry_policy=policy)
    with pytest.raises(DownloadError, match=r"after 3 attempt\(s\)") as info:
        await handler.download(files.url("dl.bin", fail=99), tmp_path / "dl.bin")
    assert info.value.attempts == 3 and clock.sleeps == [1.0, 2.0]


async def test_retries_run_out(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """Persistent 503s end in a DownloadError after max_retries + 1 attempts, no file left."""
    handler = quick(http, max_retries=2)
    with pytest.raises(DownloadError, match=r"after 3 attempt\(s\).*503") as info:
        await handler.download(files.url("down.bin", fail=99), tmp_path / "down.bin")
    assert info.value.attempts == 3
    assert list(tmp_path.iterdir()) == []


async def test_wrong_checksum_leaves_no_file(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """A sha256 mismatch raises ChecksumMismatchError; neither the target nor a part remains."""
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch") as info:
        await quick(http).download(files.url("bad.bin"), tmp_path / "bad.bin", sha256="ab" * 32)
    assert info.value.expected == "ab" * 32 and info.value.actual == files.sha("bad.bin")
    assert list(tmp_path.iterdir()) == []


async def test_wrong_checksum_keeps_old_file(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """When verification fails, an existing file under the target name is left untouched."""
    target = tmp_path / "keep.bin"
    target.write_bytes(b"old")
    assert not await quick(http).download_file(files.url("keep.bin"), target, sha256="cd" * 32)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


async def test_checksum_url(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """checksum_url= reads the digest from a sha256sum file; a wrong one fails cleanly."""
    ok = await quick(http).download(
        files.url("s.bin"), tmp_path / "s.bin", checksum_url=files.sum_url("s.bin")
    )
    assert ok.sha256 == files.sha("s.bin")
    with pytest.raises(ChecksumMismatchError):
        await quick(http).download(
            files.url("t.bin"), tmp_path / "t.bin", checksum_url=files.sum_url("t.bin", wrong=1)
        )
    assert not (tmp_path / "t.bin").exists()


async def test_skip_if_same_and_overwrite(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """skip_if_same keeps an identical file without a transfer; overwrite=False refuses to
    replace a different one."""
    target = tmp_path / "same.bin"
    target.write_bytes(files.body("same.bin"))
    handler = quick(http)
    result = await handler.download(
        files.url("same.bin"), target, sha256=files.sha("same.bin"), skip_if_same=True
    )
    assert result.skipped and files.faults.hits["same.bin"] == 0
    by_size = await handler.download(files.url("same.bin"), target, skip_if_same=True)
    assert by_size.skipped and by_size.bytes == 3 * MiB
    target.write_bytes(b"different")
    with pytest.raises(DownloadError, match="already exists"):
        await handler.download(files.url("same.bin"), target, overwrite=False)
    assert target.read_bytes() == b"different"


async def test_progress_callbacks(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """The callback sees growing byte counts, the total, and a final snapshot marked done."""
    seen: list[DownloadProgress] = []

    async def record(progress: DownloadProgress) -> None:
        seen.append(progress)

    await DownloadHandler(http, progress=seen.append).download(files.url("p.bin"), tmp_path / "p")
    first, seen[:] = list(seen), []
    await DownloadHandler(http).download(files.url("q.bin"), tmp_path / "q", progress=record)
    for run in (first, seen):
        counts = [p.downloaded for p in run]
        assert counts == sorted(counts) and counts[-1] == 3 * MiB
        assert run[-1].done and run[-1].fraction == 1.0 and run[0].total == 3 * MiB
        assert all(p.speed >= 0 for p in run)


async def test_chunks_are_bounded(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """No chunk handed to the file exceeds chunk_size: memory stays constant."""
    sizes: list[int] = []
    last = 0

    def record(progress: DownloadProgress) -> None:
        nonlocal last
        sizes.append(progress.downloaded - last)
        last = progress.downloaded

    handler = DownloadHandler(http, chunk_size=64 * 1024, progress=record)
    await handler.download(files.url("c.bin"), tmp_path / "c.bin")
    assert max(sizes) <= 64 * 1024 and sum(sizes) == 3 * MiB


async def test_stall_on_real_server_ends_within_bound(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A server that stops sending is abandoned after the stall window, retried, and reported
    as DownloadStalledException within a tight real-time bound."""
    handler = DownloadHandler(http, min_speed=1024, stall_window=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(DownloadStalledException, match="stalled") as info:
        await handler.download(files.url("stall.bin", stall_after=1000), tmp_path / "stall.bin")
    assert time.monotonic() - started < 3.0
    assert info.value.attempts == 2 and not (tmp_path / "stall.bin").exists()
    assert leftovers(tmp_path) == [".stall.bin.part"]  # kept: the next call resumes it


async def test_stall_then_resume(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """A first attempt that stalls is retried and resumed to a complete, exact file."""
    handler = DownloadHandler(http, min_speed=1024, stall_window=0.3)
    url = files.url("st.bin", stall_after=MiB, stalls=1)
    result = await handler.download(url, tmp_path / "st.bin")
    assert result.resumed and result.attempts == 2
    assert (tmp_path / "st.bin").read_bytes() == files.body("st.bin")


async def test_stall_on_fake_clock(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """With a fake clock, a 60 s stall window against a hanging server ends at once in real
    time: the watchdog and the retries run on virtual time."""
    clock = FakeClock()
    handler = DownloadHandler(
        http, stall_window=60, max_retries=2, sleep=clock.sleep, clock=clock.time
    )
    started = time.monotonic()
    with pytest.raises(DownloadStalledException, match="60 s") as info:
        await handler.download(files.url("fk.bin", stall_after=10), tmp_path / "fk.bin")
    assert time.monotonic() - started < 5.0
    assert info.value.attempts == 3 and clock.total_slept >= 3 * 60


async def test_cancellation_leaves_no_partial_file(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """With keep_partial=False, cancelling a download mid-transfer removes the part file."""
    handler = DownloadHandler(http, min_speed=None)
    task = asyncio.create_task(
        handler.download(
            files.url("cx.bin", stall_after=MiB), tmp_path / "cx.bin", keep_partial=False
        )
    )
    for _ in range(200):
        await asyncio.sleep(0.01)
        if leftovers(tmp_path):
            break
    assert leftovers(tmp_path) == [".cx.bin.part"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_names_from_server_stay_in_folder(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A folder target takes a safe name from Content-Disposition or the URL; '../' tricks
    cannot leave the folder."""
    out = tmp_path / "out"
    out.mkdir()
    evil = files.url("x.bin", cd="attachment;%20filename=%22../../evil.sh%22")
    result = await quick(http).download(evil, out)
    assert result.path == (out / "evil.sh").resolve()
    plain = await quick(http).download(files.url("plain.bin"), str(tmp_path / "new") + "/")
    assert plain.path == (tmp_path / "new" / "plain.bin").resolve()
    encoded = await quick(http).download(files.url("..%2F..%2Fup.bin"), out)
    assert encoded.path.parent == out.resolve()
    assert not (tmp_path / "evil.sh").exists()


async def test_disk_full_is_a_clear_error(
    files: Any, http: HttpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing becomes a DownloadError saying so; no part file remains."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

    def fake_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        handle = real_open(file, mode, *args, **kw)
        return Full(handle) if str(file).endswith(".part") else handle

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(DownloadError, match="no space left") as info:
        await quick(http).download(files.url("full.bin"), tmp_path / "full.bin")
    assert info.value.attempts == 1
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


async def test_unwritable_folder_is_a_clear_error(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A parent that is a file (cannot hold the download) gives a DownloadError naming it."""
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(DownloadError, match="cannot write"):
        await quick(http).download(files.url("w.bin"), tmp_path / "blocker" / "w.bin")


async def test_bad_arguments(http: HttpClient, tmp_path: Path) -> None:
    """Bad options raise ConfigurationError (a wrong type TypeError) before any I/O."""
    with pytest.raises(ConfigurationError, match="chunk_size"):
        DownloadHandler(http, chunk_size=0)
    with pytest.raises(ConfigurationError, match=r"DownloadHandler\(max_retries=\.\.\.\) must"):
        DownloadHandler(http, max_retries=-1)
    with pytest.raises(TypeError, match="max_retries"):
        DownloadHandler(http, max_retries=True)
    with pytest.raises(ConfigurationError, match="64 hex"):
        await DownloadHandler(http).download("http://127.0.0.1:9/x", tmp_path / "x", sha256="no")


@pytest.mark.parametrize("kind", ["aiohttp-session", "factory-aiohttp", "factory-httpx"])
async def test_raw_clients_are_accepted(files: Any, tmp_path: Path, kind: str) -> None:
    """A raw aiohttp session or the factory's clients work and stay open for their owner."""
    if kind == "aiohttp-session":
        raw: Any = aiohttp.ClientSession()
    else:
        raw = create_client(client_type=kind.split("-")[1])  # type: ignore[call-overload]
    try:
        async with DownloadHandler(raw) as handler:
            url = files.url("raw.bin", drop=MiB)
            result = await handler.download(url, tmp_path / "raw.bin", sha256=files.sha("raw.bin"))
            assert result.resumed
        assert not raw.closed if kind != "factory-httpx" else not raw.is_closed
    finally:
        await (raw.close() if kind == "aiohttp-session" else raw.aclose())


async def test_httpx_backend_resumes(files: Any, tmp_path: Path) -> None:
    """HttpClient(backend='httpx') downloads and resumes the same way."""
    async with HttpClient(backend="httpx", retries=0) as c:
        result = await quick(c).download(files.url("hx.bin", drop=MiB), tmp_path / "hx.bin")
    assert result.resumed and (tmp_path / "hx.bin").read_bytes() == files.body("hx.bin")
    assert hashlib.sha256((tmp_path / "hx.bin").read_bytes()).hexdigest() == files.sha("hx.bin")

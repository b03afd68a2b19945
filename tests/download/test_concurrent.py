"""download_files_concurrently against the local file server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from pepperpy_core import HttpClient
from pepperpy_core.download import AggregateProgress, download_files_concurrently
from pepperpy_core.exceptions import ConfigurationError, DownloadError
from pepperpy_core.testing import FakeClock

MiB = 1024 * 1024


async def test_ten_files_at_most_three_in_flight(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """10 files with max_concurrent=3: all arrive intact and the server never sees more than 3
    at once (and does see 3)."""
    urls = [files.url(f"f{i}.bin", size=200_000, delay=0.05) for i in range(10)]
    paths = [tmp_path / f"f{i}.bin" for i in range(10)]
    views: list[AggregateProgress] = []
    outcomes = await download_files_concurrently(http, urls, paths, 3, progress=views.append)
    assert all(outcomes) and len(outcomes) == 10
    assert files.faults.peak == 3
    for i, path in enumerate(paths):
        assert path.read_bytes() == files.body(f"f{i}.bin", 200_000)
    assert views[-1].files_done == 10 and views[-1].downloaded == 2_000_000
    assert max(v.in_flight for v in views) <= 3


async def test_one_failure_does_not_cancel_others(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """A 404 and a bad checksum fail alone; the other files complete; results keep order."""
    urls = [files.url("g0.bin"), files.server.url("/no/such.bin"), files.url("g2.bin")]
    outcomes = await download_files_concurrently(
        http,
        urls,
        [tmp_path / "a", tmp_path / "b", tmp_path / "c"],
        2,
        sha256=[None, None, "00" * 32],
        sleep=FakeClock().sleep,
    )
    assert [o.ok for o in outcomes] == [True, False, False]
    assert "404" in str(outcomes[1].error) and "sha256" in str(outcomes[2].error)
    assert isinstance(outcomes[2].error, DownloadError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


async def test_folder_destination(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """A single folder as local_paths puts each file in it under its URL's name."""
    urls = [files.url("x.bin", size=1000), files.url("y.bin", size=1000)]
    outcomes = await download_files_concurrently(http, urls, tmp_path / "dl", 2)
    assert all(outcomes)
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["x.bin", "y.bin"]


async def test_cancel_leaves_no_partial_files(files: Any, http: HttpClient, tmp_path: Path) -> None:
    """With keep_partial=False, cancelling the batch stops every transfer and removes every
    part file."""
    urls = [files.url(f"h{i}.bin", stall_after=MiB) for i in range(4)]
    task = asyncio.create_task(
        download_files_concurrently(http, urls, tmp_path, 2, min_speed=None, keep_partial=False)
    )
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(list(tmp_path.glob(".*.part"))) == 2:
            break
    assert len(list(tmp_path.glob(".*.part"))) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_bad_arguments(http: HttpClient, tmp_path: Path) -> None:
    """Mismatched lists and a bad max_concurrent are rejected up front."""
    with pytest.raises(ConfigurationError, match="2 paths for 1 URLs"):
        await download_files_concurrently(http, ["http://x/a"], [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ConfigurationError, match="max_concurrent"):
        await download_files_concurrently(http, ["http://x/a"], [tmp_path / "a"], 0)


async def test_per_file_views_and_outcomes_as_they_end(
    files: Any, http: HttpClient, tmp_path: Path
) -> None:
    """Each aggregate view lists the transfers in flight (URL order); on_outcome hears each
    file as it ends, before the view that counts it, failures included."""
    urls = [files.url("v0.bin", size=300_000, delay=0.05), files.server.url("/no/such.bin"),
            files.url("v2.bin", size=100_000)]
    events: list[tuple[str, Any]] = []
    outcomes = await download_files_concurrently(
        http, urls, [tmp_path / "a", tmp_path / "b", tmp_path / "c"], 3,
        progress=lambda view: events.append(("view", view)),
        on_outcome=lambda outcome: events.append(("end", outcome)),
        sleep=FakeClock().sleep,
    )
    ended = [item for kind, item in events if kind == "end"]
    assert sorted(o.url for o in ended) == sorted(urls) and len(ended) == 3
    assert [o.ok for o in outcomes] == [True, False, True]
    for index, (kind, item) in enumerate(events):
        if kind == "end":  # the next view counts it
            after = next(v for k, v in events[index:] if k == "view")
            assert after.files_done + after.files_failed >= 1
            assert item.url not in [f.url for f in after.files]
    views = [item for kind, item in events if kind == "view"]
    in_flight = [tuple(f.url for f in v.files) for v in views if v.files]
    assert any(urls[0] in names for names in in_flight)
    for names in in_flight:
        assert list(names) == sorted(names, key=urls.index) and len(names) <= 3
    assert views[-1].files == ()

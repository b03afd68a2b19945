"""The ``download`` subcommand: run_download and its argument parser."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest

from pepperpy_core.cli.download import add_download_parser, run_download
from pepperpy_core.exceptions import ConfigurationError


async def test_run_download_ok_with_plain_progress(files: Any, tmp_path: Path) -> None:
    """Two files with checksums land in the folder; exit 0; event lines and a summary print."""
    out = io.StringIO()
    code = await run_download(
        [files.url("c1.bin"), files.url("c2.bin")],
        out_dir=str(tmp_path),
        concurrency=2,
        sha256=[files.sha("c1.bin"), files.sha("c2.bin")],
        progress="plain",
        stream=out,
    )
    assert code == 0
    assert (tmp_path / "c1.bin").read_bytes() == files.body("c1.bin")
    text = out.getvalue()
    assert "[start] c1.bin" in text and "[done] c2.bin" in text
    assert "downloaded 2 of 2 file(s), 6.0 MiB" in text


async def test_run_download_reports_failures(files: Any, tmp_path: Path) -> None:
    """A 404 among the URLs gives exit 1 and a FAILED line naming it; the rich rows work."""
    pytest.importorskip("rich")
    out = io.StringIO()
    code = await run_download(
        [files.url("ok.bin", size=1000), files.server.url("/no/such.bin")],
        out_dir=str(tmp_path),
        progress="rich",
        stream=out,
        max_retries=0,
    )
    assert code == 1
    assert "[FAILED] such.bin" in out.getvalue() and "404" in out.getvalue()
    assert "1 FAILED" in out.getvalue()
    assert (tmp_path / "ok.bin").exists()


async def test_sha256_count_must_match(tmp_path: Path) -> None:
    """One --sha256 per URL, or a clear usage error."""
    with pytest.raises(ConfigurationError, match="one per URL"):
        await run_download(["http://x/a", "http://x/b"], out_dir=str(tmp_path), sha256=["a"])


async def test_parser_wiring(files: Any, tmp_path: Path) -> None:
    """add_download_parser registers 'download URL... -o DIR --concurrency N --sha256 HEX'."""
    parser = argparse.ArgumentParser()
    add_download_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "download",
            files.url("p.bin", size=500),
            "-o",
            str(tmp_path),
            "--concurrency",
            "2",
            "--sha256",
            files.sha("p.bin", 500),
            "--no-progress",
        ]
    )
    assert args.concurrency == 2 and args.sha256 == [files.sha("p.bin", 500)]
    assert await args.handler(args) == 0
    assert (tmp_path / "p.bin").stat().st_size == 500

"""A zip bomb is refused from the zip's directory, at bounded memory (issue 13)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

GIB = 1024**3


def write_bomb(path: Path, size: int = GIB) -> None:
    """A zip whose one CSV member inflates to ``size`` bytes of digits (about 1 MiB)."""
    chunk = b"0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [packer.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(packer.flush())
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("BTCUSDT-1m-2024-01-01.csv", date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        # Write the pre-deflated stream: the directory states the true sizes and CRC.
        crc = 0
        for _ in range(size // len(chunk)):
            crc = zlib.crc32(chunk, crc)
        info.CRC, info.file_size = crc, size
        data = b"".join(parts)
        info.compress_size = len(data)
        with zf._lock:  # the stdlib writes raw members this way in zipfile._write_raw
            zf.fp.seek(zf.start_dir)
            header = info.FileHeader()
            zf.fp.write(header)
            zf.fp.write(data)
            zf.start_dir = zf.fp.tell()
            info.header_offset = zf.start_dir - len(header) - len(data)
            zf.filelist.append(info)
            zf.NameToInfo[info.filename] = info
            zf._didModify = True


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "BTCUSDT-1m-2024-01-01.zip"
    write_bomb(path)
    return path


def test_bomb_is_small_and_really_inflates_to_a_gib(bomb: Path) -> None:
    """The fixture is what the issue describes: about 1 MiB on disk, 1 GiB declared."""
    assert bomb.stat().st_size < 2 * 1024**2
    with zipfile.ZipFile(bomb) as zf:
        (info,) = zf.infolist()
        assert info.file_size == GIB
        with zf.open(info) as fh:  # a real deflate stream: its first MiB inflates
            assert fh.read(1 << 20) == b"0" * (1 << 20)


def test_bomb_refused_at_bounded_memory(bomb: Path) -> None:
    """read_archive refuses the bomb and the process never grows by more than 64 MiB."""
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pepperpy_core.exceptions import UnsafeArchiveError
        from pepperpy_core.vision import read_archive
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            read_archive({str(bomb)!r}, market="spot", data_type="klines")
        except UnsafeArchiveError as exc:
            print("refused:", exc)
        else:
            sys.exit("not refused")
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print("grown KiB", grown)
        sys.exit(0 if grown < 64 * 1024 else f"grew {{grown}} KiB")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "zip bomb" in done.stdout and "max_ratio" in done.stdout


def test_lifting_the_ratio_still_caps_size(bomb: Path) -> None:
    """With the ratio cap lifted, max_size still refuses before inflating."""
    from pepperpy_core.exceptions import UnsafeArchiveError
    from pepperpy_core.vision import read_single_csv

    with pytest.raises(UnsafeArchiveError, match="max_size"):
        read_single_csv(bomb, max_ratio=None, max_size=GIB - 1)

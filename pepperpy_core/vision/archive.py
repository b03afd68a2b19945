"""Reading Binance Vision zips safely.

Every member name is checked before anything is read: absolute paths, drive letters,
backslashes and ``..`` components raise :class:`UnsafeArchiveError`. A zip must hold exactly
one ``.csv`` member. Truncated or corrupt zips raise :class:`VisionError`.

Inflating is bounded: a member whose uncompressed size is above ``max_size`` bytes, or more
than ``max_ratio`` times its compressed size, is refused from the zip's directory before a
byte is inflated (a 1 MiB zip of zeros that would inflate to 1 GiB costs nothing). Reading
never returns more than the declared size, so a member that lies about it cannot inflate
further (its CRC check then fails).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pepperpy_core.exceptions import UnsafeArchiveError, VisionError

__all__ = [
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_SIZE",
    "check_member_name",
    "check_member_size",
    "csv_member",
    "read_single_csv",
    "safe_extract",
]

#: Default cap on a member's uncompressed size: 16 GiB (the largest monthly trade files
#: inflate to a few GiB).
DEFAULT_MAX_SIZE = 16 * 1024**3
#: Default cap on uncompressed / compressed size: CSV deflates about 3-10x; zip bombs 1000x.
DEFAULT_MAX_RATIO = 100.0

_DRIVE = re.compile(r"^[A-Za-z]:")
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)
Source = bytes | str | os.PathLike[str]


def check_member_name(name: str) -> None:
    """Raise :class:`UnsafeArchiveError` if ``name`` could escape the extraction folder."""
    reason = None
    if not name or "\x00" in name:
        reason = "empty or NUL in name"
    elif "\\" in name:
        reason = "backslash in name"
    elif name.startswith("/"):
        reason = "absolute path"
    elif _DRIVE.match(name):
        reason = "drive letter"
    elif ".." in name.split("/"):
        reason = "'..' component"
    if reason:
        raise UnsafeArchiveError(f"unsafe zip member {name!r}: {reason}")


@contextmanager
def _open(source: Source) -> Iterator[zipfile.ZipFile]:
    """Open a zip from bytes or a path, turning corruption into :class:`VisionError`."""
    where = "zip bytes" if isinstance(source, bytes) else os.fspath(source)
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        with zipfile.ZipFile(handle) as zf:
            for info in zf.infolist():
                check_member_name(info.filename)
            yield zf
    except _CORRUPT as exc:
        raise VisionError(f"corrupt or truncated zip ({where}): {exc}") from None


def csv_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The one ``.csv`` member of ``zf``; :class:`VisionError` for none or several."""
    found = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".csv")]
    if len(found) != 1:
        names = [i.filename for i in zf.infolist()]
        raise VisionError(f"expected exactly one .csv member, found {len(found)}: {names}")
    return found[0]


def check_member_size(
    info: zipfile.ZipInfo, *, max_size: int | None, max_ratio: float | None
) -> None:
    """Refuse (:class:`UnsafeArchiveError`) a member that would inflate past ``max_size``
    bytes or more than ``max_ratio`` times its compressed size (``None``: no bound)."""
    if max_size is not None and info.file_size > max_size:
        raise UnsafeArchiveError(
            f"zip member {info.filename!r} inflates to {info.file_size} bytes, over the "
            f"max_size of {max_size} bytes"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if max_ratio is not None and ratio > max_ratio:
        raise UnsafeArchiveError(
            f"zip member {info.filename!r} inflates {ratio:.0f}x ({info.compress_size} -> "
            f"{info.file_size} bytes), over the max_ratio of {max_ratio:g}x: refused as a "
            "possible zip bomb"
        )


def read_single_csv(
    source: Source,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> bytes:
    """The uncompressed bytes of the zip's single CSV member (zip given as bytes or path).

    ``max_size`` (bytes) and ``max_ratio`` (uncompressed / compressed) bound what is inflated;
    ``None`` lifts a bound. Raises :class:`UnsafeArchiveError` or :class:`VisionError`."""
    with _open(source) as zf:
        info = csv_member(zf)
        check_member_size(info, max_size=max_size, max_ratio=max_ratio)
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise VisionError(f"{info.filename}: {len(data)} bytes, the zip says {info.file_size}")
    return data


def safe_extract(
    source: Source,
    dest: str | os.PathLike[str],
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> list[Path]:
    """Extract every file member of the zip into ``dest`` (created if needed), never outside
    it; return the written paths. Unsafe names and sizes over ``max_size`` / ``max_ratio``
    are rejected before anything is written."""
    root = Path(dest).resolve()
    written = []
    with _open(source) as zf:
        for info in zf.infolist():
            check_member_size(info, max_size=max_size, max_ratio=max_ratio)
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise UnsafeArchiveError(f"zip member {info.filename!r} escapes {root}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            written.append(target)
    return written

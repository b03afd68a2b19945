"""Reading Binance Vision zips safely.

Every member name is checked before anything is read: absolute paths, drive letters,
backslashes and ``..`` components raise :class:`UnsafeArchiveError`. A zip must hold exactly
one ``.csv`` member. Truncated or corrupt zips raise :class:`VisionError`.
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

__all__ = ["check_member_name", "csv_member", "read_single_csv", "safe_extract"]

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


def read_single_csv(source: Source, *, max_bytes: int | None = None) -> bytes:
    """The uncompressed bytes of the zip's single CSV member (zip given as bytes or path).

    ``max_bytes`` bounds the uncompressed size (a guard against zip bombs); ``None`` means no
    bound. Raises :class:`UnsafeArchiveError` or :class:`VisionError`."""
    with _open(source) as zf:
        info = csv_member(zf)
        with zf.open(info) as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise VisionError(f"{info.filename}: uncompressed size exceeds {max_bytes} bytes")
    return data


def safe_extract(source: Source, dest: str | os.PathLike[str]) -> list[Path]:
    """Extract every file member of the zip into ``dest`` (created if needed), never outside
    it; return the written paths. Unsafe names are rejected before anything is written."""
    root = Path(dest).resolve()
    written = []
    with _open(source) as zf:
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

"""The ``.CHECKSUM`` companion files: parse them, hash zips, compare.

A checksum body is ``<64 hex digits><two spaces><file name>``, sometimes without a trailing
newline; the digest is SHA-256 of the zip's bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from pepperpy_core._hashing import sha256_file
from pepperpy_core.exceptions import ChecksumMismatchError, VisionError

__all__ = ["parse_checksum", "sha256_bytes", "sha256_file", "verify_checksum"]

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1 << 20


def parse_checksum(body: bytes | str, *, filename: str | None = None) -> str:
    """The lowercase hex SHA-256 from a ``.CHECKSUM`` body.

    With ``filename``, the name in the body (when present) must match it. Raises
    :class:`VisionError` on an empty body, a digest that is not 64 hex digits, or a name
    mismatch."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    parts = text.strip().split(maxsplit=1)
    if not parts:
        raise VisionError("empty .CHECKSUM file")
    digest = parts[0]
    if not _HEX64.match(digest):
        raise VisionError(f".CHECKSUM digest is not 64 hex digits: {digest[:80]!r}")
    if filename is not None and len(parts) == 2:
        named = parts[1].strip().lstrip("*")
        if named != filename:
            raise VisionError(f".CHECKSUM names {named!r}, expected {filename!r}")
    return digest.lower()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def verify_checksum(
    source: bytes | str | os.PathLike[str],
    expected: str,
    *,
    url: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> str:
    """Check that ``source`` (bytes, or a file path) hashes to ``expected`` (hex SHA-256, any
    case); return the digest or raise :class:`ChecksumMismatchError` (with ``expected``,
    ``actual``, ``url`` and ``path``). The caller decides whether to delete the file."""
    if isinstance(source, bytes):
        actual = sha256_bytes(source)
    else:
        actual = sha256_file(source)
        path = path if path is not None else source
    if not hmac.compare_digest(actual, expected.strip().lower()):
        where = url or (os.fspath(path) if path is not None else "data")
        raise ChecksumMismatchError(
            f"SHA-256 mismatch for {where}: expected {expected}, got {actual}",
            expected=expected,
            actual=actual,
            url=url,
            path=path,
        )
    return actual

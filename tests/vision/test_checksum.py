"""Parsing .CHECKSUM bodies and verifying zips against them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pepperpy_core.exceptions import ChecksumMismatchError, DownloadError, VisionError
from pepperpy_core.vision import parse_checksum, sha256_file, verify_checksum

DIGEST = hashlib.sha256(b"zip bytes").hexdigest()
NAME = "BTCUSDT-1m-2024-01-01.zip"


@pytest.mark.parametrize(
    "body",
    [
        f"{DIGEST}  {NAME}\n",
        f"{DIGEST}  {NAME}",
        f"{DIGEST.upper()}  {NAME}\r\n",
        f"{DIGEST} *{NAME}\n",
        f"{DIGEST}\n",
        f"{DIGEST}  {NAME}".encode(),
    ],
)
def test_parse_variants(body: str | bytes) -> None:
    """Trailing newline or not, upper case, binary marker, bare digest and bytes all parse."""
    assert parse_checksum(body, filename=NAME) == DIGEST


@pytest.mark.parametrize("body", ["", "   \n", "abc  x.zip", "g" * 64 + "  x.zip", "0" * 63])
def test_parse_rejects_bad_digests(body: str) -> None:
    """Empty bodies and digests that are not 64 hex digits raise VisionError."""
    with pytest.raises(VisionError):
        parse_checksum(body)


def test_parse_checks_the_file_name() -> None:
    """A body naming another file raises VisionError naming both."""
    with pytest.raises(VisionError, match=r"other\.zip"):
        parse_checksum(f"{DIGEST}  other.zip", filename=NAME)


def test_verify_file_and_bytes(tmp_path: Path) -> None:
    """A matching file or byte string verifies and returns the digest (streamed for files)."""
    path = tmp_path / NAME
    path.write_bytes(b"zip bytes")
    assert sha256_file(path, chunk_size=3) == DIGEST
    assert verify_checksum(path, DIGEST.upper()) == DIGEST
    assert verify_checksum(b"zip bytes", DIGEST) == DIGEST


def test_mismatch_raises_with_context(tmp_path: Path) -> None:
    """A mismatch raises ChecksumMismatchError (a DownloadError) with expected/actual/url/path."""
    path = tmp_path / NAME
    path.write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatchError) as info:
        verify_checksum(path, DIGEST, url="http://x/" + NAME)
    err = info.value
    assert isinstance(err, DownloadError)
    assert err.expected == DIGEST and err.actual == hashlib.sha256(b"tampered").hexdigest()
    assert err.url == "http://x/" + NAME and err.path == path
    assert path.exists()  # deleting is the caller's decision

"""Safe zip reading: traversal rejected, one CSV required, corruption reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepperpy_core.exceptions import UnsafeArchiveError, VisionError
from pepperpy_core.testing.vision_server import make_zip
from pepperpy_core.vision import check_member_name, read_single_csv, safe_extract


@pytest.mark.parametrize(
    "name",
    ["../evil.csv", "a/../../evil.csv", "/etc/passwd", "C:evil.csv", "c:/x.csv", "a\\..\\b.csv",
     "..", "", "a\x00.csv"],
)  # fmt: skip
def test_unsafe_names_rejected(name: str) -> None:
    """Absolute, drive-letter, backslash, '..' and NUL names raise UnsafeArchiveError."""
    with pytest.raises(UnsafeArchiveError):
        check_member_name(name)


@pytest.mark.parametrize("name", ["BTCUSDT-1m-2024-01-01.csv", "dir/x.csv", "a..b.csv"])
def test_safe_names_accepted(name: str) -> None:
    """Plain and nested relative names pass (dots inside a name are fine)."""
    check_member_name(name)


def test_reads_single_csv_from_bytes_and_path(tmp_path: Path) -> None:
    """The one CSV member is returned whether the zip is given as bytes or a path."""
    body = make_zip([("x.csv", b"1,2\n")])
    (tmp_path / "x.zip").write_bytes(body)
    assert read_single_csv(body) == b"1,2\n"
    assert read_single_csv(tmp_path / "x.zip") == b"1,2\n"


def test_traversal_member_rejected_before_reading(tmp_path: Path) -> None:
    """A '../' member makes reading and extracting fail, and nothing is written outside."""
    body = make_zip([("../../evil.csv", b"1\n")])
    with pytest.raises(UnsafeArchiveError):
        read_single_csv(body)
    dest = tmp_path / "a" / "b"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(body, dest)
    assert not list(tmp_path.rglob("evil.csv"))


@pytest.mark.parametrize(
    "members",
    [[], [("a.txt", b"x")], [("a.csv", b"1"), ("b.csv", b"2")]],
)
def test_requires_exactly_one_csv(members: list[tuple[str, bytes]]) -> None:
    """No CSV or two CSVs is a VisionError listing the members."""
    with pytest.raises(VisionError, match=r"exactly one \.csv"):
        read_single_csv(make_zip(members))


def test_truncated_and_garbage_zips(tmp_path: Path) -> None:
    """A truncated zip or non-zip bytes raise VisionError saying corrupt or truncated."""
    body = make_zip([("x.csv", b"1,2,3\n" * 1000)])
    for bad in (body[: len(body) // 2], b"<html>404</html>", b""):
        with pytest.raises(VisionError, match="corrupt or truncated"):
            read_single_csv(bad)


def test_corrupt_member_data_detected() -> None:
    """Flipped bytes inside the compressed data are reported (CRC or inflate error)."""
    body = bytearray(make_zip([("x.csv", bytes(range(48, 58)) * 5000)]))
    body[60:70] = b"\xff" * 10
    with pytest.raises(VisionError, match="corrupt or truncated"):
        read_single_csv(bytes(body), max_ratio=None)


def test_max_size_and_ratio_guards() -> None:
    """max_size bounds the uncompressed size, max_ratio the inflation ratio; None lifts them."""
    body = make_zip([("x.csv", b"0" * 100_000)])  # about 500x
    assert len(read_single_csv(body, max_size=100_000, max_ratio=None)) == 100_000
    with pytest.raises(UnsafeArchiveError, match="max_size"):
        read_single_csv(body, max_size=99_999, max_ratio=None)
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        read_single_csv(body)  # the default ratio cap, 100x
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        safe_extract(body, "unused-folder-never-created")


def test_safe_extract_writes_inside(tmp_path: Path) -> None:
    """Extraction writes members under dest only and returns their paths."""
    body = make_zip([("sub/x.csv", b"1\n"), ("y.csv", b"2\n")])
    written = safe_extract(body, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "sub/x.csv", "y.csv"
    ]  # fmt: skip
    assert (tmp_path / "out" / "sub" / "x.csv").read_bytes() == b"1\n"

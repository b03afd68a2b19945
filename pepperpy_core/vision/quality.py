"""Data quality of Binance Vision files: gaps, duplicates, monthly against daily.

* :func:`check_file` - for kline files, the rows expected from the interval against the rows
  found, and the open times missing from the grid; for every type, the duplicate rows (same
  key - ``open_time``, ``agg_trade_id``, ``id``, ... - or, for types without a key, the same
  whole row);
* :func:`drop_duplicates` - the frame with the first row of each key only;
* :func:`compare_monthly_daily` - the days on which a monthly file and the daily files of the
  same days disagree.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pepperpy_core.vision.frame import VisionFrame, arrow
from pepperpy_core.vision.paths import INTERVAL_LENGTH, VisionFile

__all__ = [
    "Disagreement",
    "FileQuality",
    "QualityReport",
    "check_file",
    "compare_monthly_daily",
    "drop_duplicates",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class FileQuality:
    """The quality of one file. ``expected_rows`` is None where the archive's grid is not a
    fixed step (non-kline types, and the 3d/1w/1mo intervals)."""

    file: str
    rows: int
    expected_rows: int | None = None
    missing_open_times: tuple[dt.datetime, ...] = ()
    duplicates: int = 0
    duplicates_dropped: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is missing and nothing is duplicated."""
        return not self.missing_open_times and not self.duplicates


@dataclass(frozen=True)
class Disagreement:
    """A day on which the monthly file and the daily file differ."""

    day: dt.date
    monthly_rows: int
    daily_rows: int
    monthly_file: str
    daily_file: str


@dataclass(frozen=True)
class QualityReport:
    """Quality of every file of a download, and monthly/daily disagreements."""

    files: tuple[FileQuality, ...] = ()
    disagreements: tuple[Disagreement, ...] = field(default=())

    @property
    def missing_open_times(self) -> int:
        """Open times missing over all kline files."""
        return sum(len(f.missing_open_times) for f in self.files)

    @property
    def duplicates(self) -> int:
        """Duplicate rows found over all files."""
        return sum(f.duplicates for f in self.files)

    @property
    def ok(self) -> bool:
        """True when no file has gaps or duplicates and monthly and daily files agree."""
        return all(f.ok for f in self.files) and not self.disagreements

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI prints it)."""
        return {
            "ok": self.ok,
            "missing_open_times": self.missing_open_times,
            "duplicates": self.duplicates,
            "files_with_gaps": [
                {
                    "file": f.file, "expected_rows": f.expected_rows, "rows": f.rows,
                    "missing": [t.isoformat() for t in f.missing_open_times[:20]],
                }
                for f in self.files if f.missing_open_times
            ],
            "files_with_duplicates": {f.file: f.duplicates for f in self.files if f.duplicates},
            "monthly_daily_disagreements": [
                {"day": d.day.isoformat(), "monthly_rows": d.monthly_rows,
                 "daily_rows": d.daily_rows}
                for d in self.disagreements
            ],
        }  # fmt: skip


def _grid(spec: VisionFile) -> tuple[int, int, int] | None:
    """(first open time in µs, step in µs, count) of a kline file's expected rows."""
    if not spec.is_kline or spec.interval not in INTERVAL_LENGTH:
        return None
    step = INTERVAL_LENGTH[spec.interval] // _US
    first = (dt.datetime.combine(spec.first_day, dt.time(), dt.timezone.utc) - _EPOCH) // _US
    span = (spec.last_day - spec.first_day + dt.timedelta(days=1)) // _US
    return first, step, span // step


def _key_columns(frame: VisionFrame) -> list[str]:
    key = frame.schema.key
    return [key] if key else list(frame.columns)


def _first_rows(frame: VisionFrame) -> Any:
    """Indices (ascending) of the first row of each key."""
    pa = arrow()
    keys = _key_columns(frame)
    indexed = frame.table.select(keys).append_column(
        "__row", pa.array(range(len(frame)), pa.int64())
    )
    firsts = indexed.group_by(keys, use_threads=False).aggregate([("__row", "min")])
    pc = importlib.import_module("pyarrow.compute")
    return pc.sort_indices(firsts.column("__row_min")).to_pylist(), firsts.column("__row_min")


def check_file(frame: VisionFrame, spec: VisionFile, *, dropped: int = 0) -> FileQuality:
    """The quality of one file's rows (parsed from ``spec``). ``dropped`` records how many
    duplicate rows were already removed (see :func:`drop_duplicates`)."""
    pa = arrow()
    pc = importlib.import_module("pyarrow.compute")
    rows = len(frame)
    duplicates = dropped
    if rows:
        _, firsts = _first_rows(frame)
        duplicates += rows - len(firsts)
    grid = _grid(spec)
    if grid is None:
        return FileQuality(spec.filename, rows, duplicates=duplicates, duplicates_dropped=dropped)
    first, step, count = grid
    expected = pa.array(range(first, first + step * count, step), pa.int64())
    found = frame.table.column("open_time").cast(pa.int64())
    absent = expected.filter(pc.invert(pc.is_in(expected, value_set=found.combine_chunks())))
    missing = tuple(_EPOCH + v * _US for v in absent.to_pylist())
    return FileQuality(
        spec.filename, rows, count, missing, duplicates=duplicates, duplicates_dropped=dropped
    )


def drop_duplicates(frame: VisionFrame) -> tuple[VisionFrame, int]:
    """The frame keeping the first row of each key (file order kept), and how many rows went."""
    if not len(frame):
        return frame, 0
    order, firsts = _first_rows(frame)
    if len(firsts) == len(frame):
        return frame, 0
    pc = importlib.import_module("pyarrow.compute")
    keep = pc.take(firsts, order)
    return frame.take(keep), len(frame) - len(firsts)


def compare_monthly_daily(
    monthly: VisionFrame, monthly_spec: VisionFile, daily: Mapping[VisionFile, VisionFrame]
) -> list[Disagreement]:
    """The days on which ``monthly`` and the daily frames (``{daily spec: frame}``) differ:
    another row count, or other values."""
    out = []
    for spec, frame in sorted(daily.items(), key=lambda item: item[0].date):
        day = spec.date
        part = monthly.between(day, day + dt.timedelta(days=1))
        if len(part) != len(frame) or not part.table.equals(frame.table):
            out.append(
                Disagreement(day, len(part), len(frame), monthly_spec.filename, spec.filename)
            )
    return out

"""The columnar result of parsing Binance Vision files: :class:`VisionFrame`.

One numpy array per column. Timestamps are ``int64`` **microseconds since the Unix epoch, UTC**
whatever the file used: spot files switched from milliseconds to microseconds on 2025-01-01, so
microseconds is the only unit that holds both without losing precision, and it maps one to one
onto ``datetime64[us]``, pandas, pyarrow and polars timestamps.
"""

from __future__ import annotations

import csv
import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from pepperpy_core.exceptions import OptionalDependencyError, VisionError
from pepperpy_core.vision.columns import Schema

__all__ = ["TIME_UNIT", "VisionFrame", "concat"]

#: The unit of every time column of a :class:`VisionFrame`: microseconds since the epoch (UTC).
TIME_UNIT = "us"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DTYPES: dict[str, npt.DTypeLike] = {
    "time": np.int64,
    "int": np.int64,
    "float": np.float64,
    "bool": np.bool_,
}
_RECORD_BATCH = 10_000

Array = npt.NDArray[Any]


_DATAFRAMES = "pip install 'pepperpy-core[dataframes]'"


def _optional(module: str, install: str, feature: str) -> Any:
    """Import ``module`` or raise :class:`OptionalDependencyError` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(f"{feature} needs {module}: {install}") from exc


def _to_us(value: datetime | date | int) -> int:
    """A bound as epoch microseconds: ints pass through, naive datetimes/dates count as UTC."""
    if isinstance(value, int):
        return value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // timedelta(microseconds=1)


class VisionFrame:
    """Typed columns of one or more files of the same kind (market and data type).

    ``frame["close"]`` is a numpy array; ``len(frame)`` the row count; ``frame.columns`` the
    names in file order. Time columns hold int64 microseconds (see :data:`TIME_UNIT`);
    ``source_time_unit`` says what the file itself used (``"ms"``, ``"us"`` or ``"mixed"``
    after :func:`concat`)."""

    __slots__ = ("_data", "schema", "source_time_unit")

    def __init__(
        self, data: Mapping[str, Array], *, schema: Schema, source_time_unit: str = TIME_UNIT
    ) -> None:
        if tuple(data) != schema.names:
            raise VisionError(f"columns {tuple(data)} do not match schema {schema.names}")
        lengths = {len(a) for a in data.values()}
        if len(lengths) > 1:
            raise VisionError(f"columns have different lengths: {sorted(lengths)}")
        self._data = {c.name: np.asarray(data[c.name], _DTYPES[c.kind]) for c in schema.columns}
        self.schema = schema
        self.source_time_unit = source_time_unit

    @classmethod
    def empty(cls, schema: Schema) -> VisionFrame:
        """A frame with no rows."""
        return cls({c.name: np.empty(0, _DTYPES[c.kind]) for c in schema.columns}, schema=schema)

    def __len__(self) -> int:
        return len(next(iter(self._data.values())))

    def __getitem__(self, name: str) -> Array:
        try:
            return self._data[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self._data)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __repr__(self) -> str:
        return f"<VisionFrame {self.schema.name}: {len(self)} rows x {len(self._data)} columns>"

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in file order."""
        return self.schema.names

    @property
    def time_columns(self) -> tuple[str, ...]:
        """Names of the time columns (int64 microseconds since the epoch, UTC)."""
        return self.schema.time_columns

    def datetimes(self, name: str) -> Array:
        """Column ``name`` (a time column) as ``datetime64[us]`` (UTC, zero-copy view)."""
        if name not in self.time_columns:
            raise VisionError(f"{name!r} is not a time column; time columns: {self.time_columns}")
        return self._data[name].view("datetime64[us]")

    def take(self, selector: Array | slice) -> VisionFrame:
        """A new frame with the rows chosen by a boolean mask, index array or slice."""
        data = {k: v[selector] for k, v in self._data.items()}
        return VisionFrame(data, schema=self.schema, source_time_unit=self.source_time_unit)

    def between(
        self, start: datetime | date | int, end: datetime | date | int, *, column: str | None = None
    ) -> VisionFrame:
        """Rows whose time (``column``, default the first time column) is in ``[start, end)``.

        Bounds are datetimes (naive = UTC), dates (midnight UTC) or int epoch microseconds."""
        values = self[column or self.time_columns[0]]
        return self.take((values >= _to_us(start)) & (values < _to_us(end)))

    # -- conversions ------------------------------------------------------------------------

    def to_numpy(self) -> dict[str, Array]:
        """The columns as a new dict of numpy arrays (the arrays are shared, not copied)."""
        return dict(self._data)

    def to_pandas(self, *, datetimes: bool = True) -> Any:
        """A ``pandas.DataFrame``; time columns become ``datetime64[us, UTC]`` unless
        ``datetimes=False`` (then int64 microseconds). Needs the ``dataframes`` extra."""
        pd = _optional("pandas", _DATAFRAMES, "VisionFrame.to_pandas()")
        out = {}
        for name, values in self._data.items():
            if datetimes and name in self.time_columns:
                out[name] = pd.Series(values.view("datetime64[us]")).dt.tz_localize("UTC")
            else:
                out[name] = values
        return pd.DataFrame(out, copy=False)

    def to_arrow(self, *, datetimes: bool = True) -> Any:
        """A ``pyarrow.Table``; time columns become ``timestamp[us, tz=UTC]`` unless
        ``datetimes=False``. Needs the ``dataframes`` extra."""
        pa = _optional("pyarrow", _DATAFRAMES, "VisionFrame.to_arrow()")
        arrays = []
        for name, values in self._data.items():
            if datetimes and name in self.time_columns:
                arrays.append(pa.array(values, pa.int64()).cast(pa.timestamp("us", tz="UTC")))
            else:
                arrays.append(pa.array(values))
        return pa.Table.from_arrays(arrays, names=list(self._data))

    def to_polars(self, *, datetimes: bool = True) -> Any:
        """A ``polars.DataFrame``; time columns become ``Datetime("us", "UTC")`` unless
        ``datetimes=False``. Needs ``polars`` installed."""
        pl = _optional("polars", "pip install polars", "VisionFrame.to_polars()")
        frame = pl.DataFrame(dict(self._data))
        if datetimes:
            frame = frame.with_columns(
                [pl.col(n).cast(pl.Datetime("us", "UTC")) for n in self.time_columns]
            )
        return frame

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the frame as Parquet (timestamps as ``timestamp[us, UTC]``); needs pyarrow."""
        pq = _optional("pyarrow.parquet", _DATAFRAMES, "VisionFrame.to_parquet()")
        pq.write_table(self.to_arrow(), os.fspath(path))

    def to_csv(self, path: str | os.PathLike[str], *, header: bool = True) -> None:
        """Write a CSV: a header row of column names (unless ``header=False``), times as int
        microseconds, booleans as ``true``/``false``, floats in shortest round-trip form."""
        with open(path, "w", newline="", encoding="ascii") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            if header:
                writer.writerow(self.columns)
            for rows in self._row_batches(self.columns):
                writer.writerows(
                    [("true" if v else "false") if isinstance(v, bool) else v for v in row]
                    for row in rows
                )

    # -- records ----------------------------------------------------------------------------

    def _row_batches(self, names: Sequence[str]) -> Iterator[Iterable[tuple[Any, ...]]]:
        """Rows as tuples of Python values, ``_RECORD_BATCH`` rows at a time."""
        for start in range(0, len(self), _RECORD_BATCH):
            stop = start + _RECORD_BATCH
            yield zip(*(self._data[n][start:stop].tolist() for n in names), strict=True)

    def records(self) -> Iterator[BaseModel]:
        """Yield one validated pydantic model per row (:class:`Kline`, :class:`AggTrade` or
        :class:`Trade`), lazily; times become UTC ``datetime`` values."""
        model = self.schema.model
        names = [n for n in self.columns if n in model.model_fields]
        times = {n for n in names if n in self.time_columns}
        for rows in self._row_batches(names):
            for row in rows:
                values = {
                    n: _EPOCH + timedelta(microseconds=v) if n in times else v
                    for n, v in zip(names, row, strict=True)
                }
                yield model.model_validate(values)


def concat(frames: Sequence[VisionFrame]) -> VisionFrame:
    """One frame with the rows of ``frames`` in order; all must share one schema."""
    if not frames:
        raise VisionError("concat() needs at least one frame")
    schema = frames[0].schema
    if any(f.schema != schema for f in frames):
        raise VisionError("concat() needs frames of one kind (same market and data type)")
    units = {f.source_time_unit for f in frames if len(f)} or {frames[0].source_time_unit}
    data = {n: np.concatenate([f[n] for f in frames]) for n in schema.names}
    unit = units.pop() if len(units) == 1 else "mixed"
    return VisionFrame(data, schema=schema, source_time_unit=unit)

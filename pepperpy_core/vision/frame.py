"""The columnar result of parsing Binance Vision files: :class:`VisionFrame`.

A frame is a ``pyarrow.Table`` with a schema attached: ids and counts ``int64``, prices and
quantities ``float64``, flags ``bool``, text ``string`` and every time column
``timestamp[us, tz=UTC]``, whatever the file used (spot files switched from milliseconds to
microseconds on 2025-01-01; bookDepth and metrics carry text times). It exposes the Arrow
PyCapsule interface (``__arrow_c_stream__``), so pandas, polars, pyarrow and DuckDB read it
without a copy. Columns stay in the chunks the parser made (and a joined range in its files'
chunks): nothing is copied just to make them contiguous. pyarrow comes with the ``vision``
extra and is imported on first use, never by ``import pepperpy_core``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from pepperpy_core.exceptions import OptionalDependencyError, VisionError
from pepperpy_core.vision.columns import Schema

__all__ = ["TIME_UNIT", "VISION_EXTRA", "VisionFrame", "arrow", "concat"]

#: The unit of every time column of a :class:`VisionFrame`: microseconds since the epoch (UTC).
TIME_UNIT = "us"
#: How to install what Vision parsing needs.
VISION_EXTRA = "pip install 'pepperpy-core[vision]'"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_RECORD_BATCH = 10_000


def _optional(module: str, install: str, feature: str) -> Any:
    """Import ``module`` or raise :class:`OptionalDependencyError` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(f"{feature} needs {module}: {install}") from exc


def arrow() -> Any:
    """The ``pyarrow`` module (the ``vision`` extra), or a clear error saying to install it."""
    return _optional("pyarrow", VISION_EXTRA, "Binance Vision parsing")


def arrow_type(kind: str) -> Any:
    """The Arrow type of a column kind after parsing."""
    pa = arrow()
    if kind in ("time", "text_time"):
        return pa.timestamp("us", tz="UTC")
    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}[kind]


def arrow_schema(schema: Schema) -> Any:
    """The ``pyarrow.Schema`` of a parsed frame of ``schema``."""
    pa = arrow()
    return pa.schema(
        [pa.field(c.name, arrow_type(c.kind), nullable=c.nullable) for c in schema.columns]
    )


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

    ``frame.table`` is the ``pyarrow.Table``; ``frame["close"]`` a numpy array (time columns as
    int64 microseconds, see :data:`TIME_UNIT`); ``len(frame)`` the row count; ``frame.columns``
    the names in file order. ``source_time_unit`` says what the file used (``"ms"``, ``"us"``,
    ``"text"``, or ``"mixed"`` after :func:`concat`)."""

    __slots__ = ("schema", "source_time_unit", "table")

    def __init__(self, table: Any, *, schema: Schema, source_time_unit: str = TIME_UNIT) -> None:
        pa = arrow()
        if isinstance(table, Mapping):
            table = _from_mapping(table, schema)
        if tuple(table.column_names) != schema.names:
            raise VisionError(f"columns {tuple(table.column_names)} do not match {schema.names}")
        wanted = arrow_schema(schema)
        if not table.schema.equals(wanted):
            table = table.cast(wanted)
        self.table = table if table.num_rows else pa.Table.from_batches([], wanted)
        self.schema = schema
        self.source_time_unit = source_time_unit

    @classmethod
    def empty(cls, schema: Schema) -> VisionFrame:
        """A frame with no rows."""
        return cls(arrow_schema(schema).empty_table(), schema=schema)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __getitem__(self, name: str) -> Any:
        """Column ``name`` as a numpy array (times as int64 microseconds since the epoch)."""
        if name not in self.schema.names:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns)}")
        column = self.table.column(name)
        if name in self.time_columns:
            column = column.cast(arrow().int64())
        return column.to_numpy()

    def __contains__(self, name: object) -> bool:
        return name in self.schema.names

    def __repr__(self) -> str:
        return f"<VisionFrame {self.schema.name}: {len(self)} rows x {len(self.columns)} columns>"

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream interface: ``pyarrow.table(frame)``,
        ``polars.DataFrame(frame)``, DuckDB and pandas >= 2.2 read the columns without a copy."""
        return self.table.__arrow_c_stream__(requested_schema)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VisionFrame):
            return NotImplemented
        return self.schema == other.schema and bool(self.table.equals(other.table))

    __hash__ = None  # type: ignore[assignment]

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in file order."""
        return self.schema.names

    @property
    def time_columns(self) -> tuple[str, ...]:
        """Names of the time columns (``timestamp[us, UTC]``)."""
        return self.schema.time_columns

    def datetimes(self, name: str) -> Any:
        """Column ``name`` (a time column) as a numpy ``datetime64[us]`` array (UTC)."""
        if name not in self.time_columns:
            raise VisionError(f"{name!r} is not a time column; time columns: {self.time_columns}")
        return self.table.column(name).cast(arrow().timestamp("us")).to_numpy()

    def take(self, selector: Any) -> VisionFrame:
        """A new frame with the rows chosen by a slice, a boolean mask or an index array."""
        pa = arrow()
        if isinstance(selector, slice):
            start, stop, step = selector.indices(len(self))
            if step == 1:
                table = self.table.slice(start, max(0, stop - start))
            else:
                table = self.table.take(pa.array(range(start, stop, step), pa.int64()))
        else:
            values = pa.array(selector)
            if pa.types.is_boolean(values.type):
                table = self.table.filter(values)
            else:
                table = self.table.take(values)
        return VisionFrame(table, schema=self.schema, source_time_unit=self.source_time_unit)

    def between(
        self, start: datetime | date | int, end: datetime | date | int, *, column: str | None = None
    ) -> VisionFrame:
        """Rows whose time (``column``, default the first time column) is in ``[start, end)``.

        Bounds are datetimes (naive = UTC), dates (midnight UTC) or int epoch microseconds."""
        pa = arrow()
        pc = importlib.import_module("pyarrow.compute")
        name = column or self.time_columns[0]
        values = self.table.column(name).cast(pa.int64())
        mask = pc.and_(pc.greater_equal(values, _to_us(start)), pc.less(values, _to_us(end)))
        table = self.table.filter(mask)
        return VisionFrame(table, schema=self.schema, source_time_unit=self.source_time_unit)

    # -- conversions ------------------------------------------------------------------------

    def to_numpy(self) -> dict[str, Any]:
        """The columns as a dict of numpy arrays (see ``frame[name]``)."""
        return {name: self[name] for name in self.columns}

    def to_arrow(self, *, datetimes: bool = True) -> Any:
        """The ``pyarrow.Table`` (no copy); ``datetimes=False`` gives time columns as int64
        microseconds instead of ``timestamp[us, UTC]``."""
        if datetimes:
            return self.table
        return _times_as_int(self.table, self.time_columns)

    def to_pandas(self, *, datetimes: bool = True) -> Any:
        """A ``pandas.DataFrame``; time columns are ``datetime64[us, UTC]`` unless
        ``datetimes=False`` (then int64 microseconds). Needs pandas."""
        _optional("pandas", "pip install pandas", "VisionFrame.to_pandas()")
        return self.to_arrow(datetimes=datetimes).to_pandas()

    def to_polars(self, *, datetimes: bool = True) -> Any:
        """A ``polars.DataFrame`` (no copy); time columns are ``Datetime("us", "UTC")`` unless
        ``datetimes=False``. Needs polars (part of the ``vision`` extra)."""
        pl = _optional("polars", VISION_EXTRA, "VisionFrame.to_polars()")
        return pl.from_arrow(self.to_arrow(datetimes=datetimes))

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the frame as Parquet (timestamps as ``timestamp[us, UTC]``)."""
        pq = _optional("pyarrow.parquet", VISION_EXTRA, "VisionFrame.to_parquet()")
        pq.write_table(self.table, os.fspath(path))

    def to_csv(self, path: str | os.PathLike[str], *, header: bool = True) -> None:
        """Write a CSV: a header row of column names (unless ``header=False``), times as int
        microseconds, booleans as ``true``/``false``."""
        pacsv = importlib.import_module("pyarrow.csv")
        with open(path, "wb") as fh:
            if header:
                fh.write((",".join(self.columns) + "\n").encode())
            pacsv.write_csv(
                _times_as_int(self.table, self.time_columns), fh,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
            )  # fmt: skip

    # -- records ----------------------------------------------------------------------------

    def records(self) -> Iterator[BaseModel]:
        """Yield one validated pydantic model per row (:class:`Kline`, :class:`AggTrade`,
        :class:`Trade`, or a model built from the schema), lazily; times are UTC datetimes."""
        model = self.schema.model
        names = [n for n in self.columns if n in model.model_fields]
        for batch in self.table.select(names).to_batches(_RECORD_BATCH):
            for row in batch.to_pylist():
                yield model.model_validate(row)


def _times_as_int(table: Any, names: Sequence[str]) -> Any:
    pa = arrow()
    for name in names:
        i = table.column_names.index(name)
        table = table.set_column(i, name, table.column(name).cast(pa.int64()))
    return table


def _from_mapping(data: Mapping[str, Any], schema: Schema) -> Any:
    """A table from ``{name: values}`` (lists or numpy arrays; times as int microseconds)."""
    pa = arrow()
    if tuple(data) != schema.names:
        raise VisionError(f"columns {tuple(data)} do not match schema {schema.names}")
    lengths = {len(v) for v in data.values()}
    if len(lengths) > 1:
        raise VisionError(f"columns have different lengths: {sorted(lengths)}")
    arrays = []
    for c in schema.columns:
        if c.is_time:
            arrays.append(pa.array(data[c.name], pa.int64()).cast(arrow_type(c.kind)))
        else:
            arrays.append(pa.array(data[c.name], arrow_type(c.kind)))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(schema))


def concat(frames: Sequence[VisionFrame]) -> VisionFrame:
    """One frame with the rows of ``frames`` in order; all must share one schema."""
    if not frames:
        raise VisionError("concat() needs at least one frame")
    schema = frames[0].schema
    if any(f.schema != schema for f in frames):
        raise VisionError("concat() needs frames of one kind (same market and data type)")
    units = {f.source_time_unit for f in frames if len(f)} or {frames[0].source_time_unit}
    table = arrow().concat_tables([f.table for f in frames])
    unit = units.pop() if len(units) == 1 else "mixed"
    return VisionFrame(table, schema=schema, source_time_unit=unit)

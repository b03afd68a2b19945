"""Parse Binance Vision CSV bytes into a :class:`VisionFrame` (no I/O beyond local files).

Facts handled per file, never by date:

* a header row is present when the first byte is not a digit (futures files since 2022);
* booleans are ``True``/``False`` or ``true``/``false``;
* timestamps are milliseconds or microseconds (spot since 2025-01-01): a value of at least
  ``1e14`` (year 5138 in milliseconds, 1973 in microseconds) means microseconds. Every time
  column is normalised to int64 microseconds since the epoch (UTC).

Two engines give identical results: ``"pyarrow"`` (``pyarrow.csv``, fast, optional extra) and
``"numpy"`` (always available, about four times slower). ``"auto"`` picks pyarrow when
installed.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from typing import Any, Literal

import numpy as np

from pepperpy_core.exceptions import VisionError
from pepperpy_core.vision.archive import read_single_csv
from pepperpy_core.vision.columns import Schema, schema_for
from pepperpy_core.vision.frame import Array, VisionFrame
from pepperpy_core.vision.paths import VisionFile

__all__ = ["Engine", "available_engine", "parse_csv", "read_archive"]

Engine = Literal["auto", "numpy", "pyarrow"]

#: Time values at or above this are microseconds; below, milliseconds.
MICROSECOND_THRESHOLD = 10**14
_BOOL_SPELLINGS = ((b"True", b"1"), (b"true", b"1"), (b"False", b"0"), (b"false", b"0"))


@cache
def _has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def available_engine(engine: Engine = "auto") -> Literal["numpy", "pyarrow"]:
    """The engine ``engine`` resolves to here (``"auto"``: pyarrow when installed)."""
    if engine == "auto":
        return "pyarrow" if _has_pyarrow() else "numpy"
    if engine not in ("numpy", "pyarrow"):
        raise VisionError(f"engine: unknown {engine!r}; expected 'auto', 'numpy' or 'pyarrow'")
    return engine


def parse_csv(data: bytes, *, market: str, data_type: str, engine: Engine = "auto") -> VisionFrame:
    """Parse the CSV bytes of one ``market``/``data_type`` file into a :class:`VisionFrame`.

    Raises :class:`VisionError` on a wrong column count, an unparsable value or an empty field.
    """
    schema = schema_for(market, data_type)
    body = _body(data, schema)
    if not body:
        return VisionFrame.empty(schema)
    if available_engine(engine) == "pyarrow":
        columns = _parse_pyarrow(body, schema)
    else:
        columns = _parse_numpy(body.tobytes(), schema)
    unit = _normalise_times(columns, schema)
    return VisionFrame(columns, schema=schema, source_time_unit=unit)


def read_archive(
    source: bytes | str | os.PathLike[str],
    spec: VisionFile | None = None,
    *,
    market: str | None = None,
    data_type: str | None = None,
    engine: Engine = "auto",
) -> VisionFrame:
    """Read the single CSV of a zip (path or bytes) safely and parse it. The kind comes from
    ``spec`` or from ``market`` and ``data_type``."""
    market = market or (spec.market if spec else None)
    data_type = data_type or (spec.data_type if spec else None)
    if market is None or data_type is None:
        raise VisionError("read_archive() needs spec= or both market= and data_type=")
    csv_bytes = read_single_csv(source)
    return parse_csv(csv_bytes, market=market, data_type=data_type, engine=engine)


def _body(data: bytes, schema: Schema) -> memoryview:
    """The data rows, without copying: no BOM, no header row, no trailing newlines. Carriage
    returns (rare) are removed with one copy."""
    if b"\r" in data:
        data = data.replace(b"\r", b"")
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    end = len(data)
    while end > start and data[end - 1] == 0x0A:  # newline
        end -= 1
    if start < end and not data[start : start + 1].isdigit():
        start = _header_end(data, start, end, schema)
    return memoryview(data)[start:end]


def _header_end(data: bytes, start: int, end: int, schema: Schema) -> int:
    """Check the header row's column count; return the offset of the first data row."""
    newline = data.find(b"\n", start, end)
    stop = end if newline < 0 else newline
    header = data[start:stop]
    fields = header.count(b",") + 1
    if fields != len(schema.columns):
        raise VisionError(
            f"header row has {fields} columns, {schema.name} files have {len(schema.columns)}: "
            f"{header[:200]!r}"
        )
    return end if newline < 0 else newline + 1


def _parse_numpy(body: bytes, schema: Schema) -> dict[str, Array]:
    """Parse with ``numpy.fromstring`` (every field as float64, exact for integers < 2**53)."""
    ncols = len(schema.columns)
    rows = body.count(b"\n") + 1
    if any(c.kind == "bool" for c in schema.columns):
        for spelling, digit in _BOOL_SPELLINGS:
            body = body.replace(spelling, digit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(body.replace(b"\n", b","), dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning) as exc:
            raise VisionError(f"unparsable value in {schema.name} CSV: {exc}") from None
    if flat.size != rows * ncols:
        raise VisionError(
            f"{schema.name} CSV: expected {ncols} fields on each of {rows} rows, "
            f"found {flat.size} fields (a short row, extra column or bad value)"
        )
    table = flat.reshape(rows, ncols)
    out: dict[str, Array] = {}
    for i, column in enumerate(schema.columns):
        values = table[:, i]
        if column.kind == "float":
            out[column.name] = np.ascontiguousarray(values)
        elif column.kind == "bool":
            out[column.name] = values != 0
        else:
            out[column.name] = values.astype(np.int64)
    return out


def _parse_pyarrow(body: memoryview, schema: Schema) -> dict[str, Array]:
    """Parse with ``pyarrow.csv`` (typed columns, both boolean spellings)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {"time": pa.int64(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(
                column_names=list(schema.names), use_threads=_usable_cores() > 1
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: types[c.kind] for c in schema.columns},
                true_values=["True", "true"],
                false_values=["False", "false"],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise VisionError(f"unparsable {schema.name} CSV: {exc}") from None
    return {name: _arrow_column(table, name, schema) for name in schema.names}


def _usable_cores() -> int:
    """Cores this process may run on: pyarrow's thread pool only costs time on one."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def _arrow_column(table: Any, name: str, schema: Schema) -> Array:
    column = table.column(name)
    if column.null_count:
        raise VisionError(f"{schema.name} CSV: empty value in column {name!r}")
    return np.asarray(column.to_numpy())


def _normalise_times(columns: dict[str, Array], schema: Schema) -> str:
    """Convert time columns to microseconds in place; return the unit the file used."""
    times = schema.time_columns
    if not times or len(columns[times[0]]) == 0:
        return "us"
    probe = columns[times[0]]
    if probe.max() < MICROSECOND_THRESHOLD:
        for name in times:
            columns[name] = columns[name] * 1000
        return "ms"
    return "us"

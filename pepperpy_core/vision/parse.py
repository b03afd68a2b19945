"""Parse Binance Vision CSV bytes into a :class:`VisionFrame` (no I/O beyond local files).

Facts handled per file, never by date:

* a header row is present when the first byte is not a digit (futures files gained one during
  2022 and old files were not regenerated);
* booleans are ``True``/``False`` (spot) or ``true``/``false`` (futures);
* epoch timestamps are milliseconds or microseconds (spot since 2025-01-01): a value of at
  least ``1e14`` (year 5138 in milliseconds, 1973 in microseconds) means microseconds;
* text timestamps (bookDepth, metrics, EOHSummary) are ``YYYY-MM-DD HH:MM:SS`` or
  ``YYYY-MM-DD``, UTC;
* only the columns the schema marks nullable may be empty (metrics, EOHSummary).

Every time column becomes ``timestamp[us, UTC]``. Two engines give identical frames:
``"polars"`` (``polars.read_csv``, the fastest; part of the ``vision`` extra) and ``"pyarrow"``
(``pyarrow.csv``, about three quarters of ``pandas.read_csv``'s speed on one core).
``"auto"`` picks polars when it is installed, else pyarrow. The file's bytes reach the engine
uncopied (the header row is skipped by the engine) and quote handling is off: the archive
never quotes a field. See ``benchmarks/vision_parse.py``.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from typing import Any, Literal

from pepperpy_core.exceptions import VisionError
from pepperpy_core.vision.archive import DEFAULT_MAX_RATIO, DEFAULT_MAX_SIZE, read_single_csv
from pepperpy_core.vision.columns import Schema, schema_for
from pepperpy_core.vision.frame import VisionFrame, arrow, arrow_schema
from pepperpy_core.vision.paths import VisionFile

__all__ = ["MICROSECOND_THRESHOLD", "Engine", "available_engine", "parse_csv", "read_archive"]

Engine = Literal["auto", "polars", "pyarrow"]

#: Time values at or above this are microseconds; below, milliseconds.
MICROSECOND_THRESHOLD = 10**14
_TEXT_FORMATS = {19: "%Y-%m-%d %H:%M:%S", 10: "%Y-%m-%d"}


@cache
def _has(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def available_engine(engine: Engine = "auto") -> Literal["polars", "pyarrow"]:
    """The engine ``engine`` resolves to here (``"auto"``: polars when installed)."""
    if engine == "auto":
        return "polars" if _has("polars") else "pyarrow"
    if engine not in ("polars", "pyarrow"):
        raise VisionError(f"engine: unknown {engine!r}; expected 'auto', 'polars' or 'pyarrow'")
    return engine


def parse_csv(data: bytes, *, market: str, data_type: str, engine: Engine = "auto") -> VisionFrame:
    """Parse the CSV bytes of one ``market``/``data_type`` file into a :class:`VisionFrame`.

    Raises :class:`VisionError` on a wrong column count, an unparsable value or an empty field
    in a column that may not be empty."""
    schema = schema_for(market, data_type)
    chosen = available_engine(engine)
    arrow()  # the frame is Arrow whichever engine parses: fail early and clearly without it
    body, header = _body(data, schema)
    if not body:
        return VisionFrame.empty(schema)
    parse = _parse_polars if chosen == "polars" else _parse_pyarrow
    table = parse(body, header, schema)
    _check_nulls(table, schema)
    table, unit = _typed_times(table, schema)
    return VisionFrame(table, schema=schema, source_time_unit=unit)


def read_archive(
    source: bytes | str | os.PathLike[str],
    spec: VisionFile | None = None,
    *,
    market: str | None = None,
    data_type: str | None = None,
    engine: Engine = "auto",
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> VisionFrame:
    """Read the single CSV of a zip (path or bytes) safely and parse it. The kind comes from
    ``spec`` or from ``market`` and ``data_type``; ``max_size`` and ``max_ratio`` bound the
    inflated size (see :func:`read_single_csv`)."""
    market = market or (spec.market if spec else None)
    data_type = data_type or (spec.data_type if spec else None)
    if market is None or data_type is None:
        raise VisionError("read_archive() needs spec= or both market= and data_type=")
    csv_bytes = read_single_csv(source, max_size=max_size, max_ratio=max_ratio)
    return parse_csv(csv_bytes, market=market, data_type=data_type, engine=engine)


def _body(data: bytes, schema: Schema) -> tuple[bytes, bool]:
    """The bytes to hand to the engine and whether their first line is a header row (checked
    for its column count). The archive's files go through untouched, never copied; only a
    byte-order mark or blank lines at the end (neither seen in the archive) cost one copy.
    Both engines read ``\\n`` and ``\\r\\n`` line ends alike."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.endswith((b"\n\n", b"\n\r\n")) or data[-1:] == b"\r":
        data = data.rstrip(b"\r\n") + b"\n"
    if data in (b"", b"\n", b"\r\n"):
        return b"", False
    header = not data[:1].isdigit()
    if header and not _rows_after_header(data, schema):
        return b"", False
    return data, header


def _rows_after_header(data: bytes, schema: Schema) -> bool:
    """Check the header row's column count (names vary between files; the count may not);
    say whether any row follows it."""
    newline = data.find(b"\n")
    header = data[: None if newline < 0 else newline].rstrip(b"\r")
    fields = header.count(b",") + 1
    if fields != len(schema.columns):
        raise VisionError(
            f"header row has {fields} columns, {schema.name} files have {len(schema.columns)}: "
            f"{header[:200]!r}"
        )
    return 0 <= newline < len(data) - 1


def _raw_kind(kind: str) -> str:
    """What the engine parses a column as before times are converted."""
    return {"time": "int", "text_time": "str"}.get(kind, kind)


def _parse_polars(body: bytes, header: bool, schema: Schema) -> Any:
    import polars as pl

    types = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String}
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            skip_rows=1 if header else 0,
            schema={c.name: types[_raw_kind(c.kind)] for c in schema.columns},
            quote_char=None,  # the archive never quotes a field
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception as exc:  # polars has several error classes; all mean "bad CSV"
        raise VisionError(f"unparsable {schema.name} CSV: {_first_line(exc)}") from None
    return frame.to_arrow()


def _parse_pyarrow(body: bytes, header: bool, schema: Schema) -> Any:
    pa = arrow()
    pacsv = importlib.import_module("pyarrow.csv")
    types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
    try:
        return pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(
                column_names=list(schema.names),
                skip_rows=1 if header else 0,
                use_threads=_usable_cores() > 1,
            ),
            parse_options=pacsv.ParseOptions(quote_char=False),  # the archive never quotes
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: types[_raw_kind(c.kind)] for c in schema.columns},
                true_values=["True", "true"],
                false_values=["False", "false"],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise VisionError(f"unparsable {schema.name} CSV: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _usable_cores() -> int:
    """Cores this process may run on: pyarrow's thread pool only costs time on one."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def _check_nulls(table: Any, schema: Schema) -> None:
    for column in schema.columns:
        if not column.nullable and table.column(column.name).null_count:
            raise VisionError(
                f"{schema.name} CSV: empty value in column {column.name!r} "
                "(a short row or an empty field)"
            )


def _typed_times(table: Any, schema: Schema) -> tuple[Any, str]:
    """Turn every time column into ``timestamp[us, UTC]``; return the unit the file used."""
    pa = arrow()
    pc = importlib.import_module("pyarrow.compute")
    stamp = pa.timestamp("us", tz="UTC")
    unit = "us"
    epoch = [c.name for c in schema.columns if c.kind == "time"]
    if epoch:
        probe = pc.max(table.column(epoch[0])).as_py()
        unit = "ms" if probe is not None and probe < MICROSECOND_THRESHOLD else "us"
    elif schema.time_columns:
        unit = "text"
    for column in schema.columns:
        values = table.column(column.name)
        if column.kind == "time":
            if unit == "ms":
                values = pc.multiply_checked(values, 1000)
            values = values.cast(stamp)
        elif column.kind == "text_time":
            values = _text_times(values, schema, column.name)
        else:
            continue
        table = table.set_column(table.column_names.index(column.name), column.name, values)
    return table.cast(arrow_schema(schema)), unit


def _text_times(values: Any, schema: Schema, name: str) -> Any:
    pa = arrow()
    pc = importlib.import_module("pyarrow.compute")
    values = values.cast(pa.string())
    first = values[0].as_py() if len(values) else ""
    fmt = _TEXT_FORMATS.get(len(first or ""))
    try:
        if fmt is None:
            raise pa.ArrowInvalid(f"unknown time format {first!r}")
        parsed = pc.strptime(values, format=fmt, unit="us")
    except pa.ArrowInvalid as exc:
        raise VisionError(f"{schema.name} CSV: bad time in column {name!r}: {exc}") from None
    return pc.assume_timezone(parsed, "UTC")

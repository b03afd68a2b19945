"""Parsing CSV bytes into VisionFrame: types, units, headers, booleans, both engines."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from pepperpy_core.exceptions import OptionalDependencyError, VisionError
from pepperpy_core.testing.vision_server import agg_trades_csv, kline_csv, make_zip, trades_csv
from pepperpy_core.vision import (
    AggTrade,
    Kline,
    Trade,
    VisionFrame,
    available_engine,
    concat,
    parse_csv,
    read_archive,
)
from pepperpy_core.vision.parse import Engine

UTC = timezone.utc
T2023 = datetime(2023, 1, 1, tzinfo=UTC)
T2025 = datetime(2025, 1, 1, tzinfo=UTC)
US_2023 = 1_672_531_200_000_000  # 2023-01-01 in microseconds
US_2025 = 1_735_689_600_000_000

ENGINES = ["pyarrow"] + (["polars"] if importlib.util.find_spec("polars") else [])


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every parse test runs on each installed engine."""
    return request.param  # type: ignore[no-any-return]


def klines(data: bytes, engine: Engine, market: str = "spot") -> VisionFrame:
    return parse_csv(data, market=market, data_type="klines", engine=engine)


def test_kline_dtypes_and_values(engine: Engine) -> None:
    """Klines parse to int64 times/counts and float64 prices with the file's values."""
    frame = klines(kline_csv(T2023, 3), engine)
    assert len(frame) == 3 and frame.columns[0] == "open_time"
    assert frame["open_time"].dtype == np.int64 and frame["number_of_trades"].dtype == np.int64
    assert frame["close"].dtype == np.float64
    assert frame["open"].tolist() == [100.0, 100.01, 100.02]
    assert frame["number_of_trades"].tolist() == [1, 2, 3]


def test_milliseconds_normalised_to_microseconds(engine: Engine) -> None:
    """2023 spot times (ms) become int64 microseconds; the source unit is reported."""
    frame = klines(kline_csv(T2023, 2), engine)
    assert frame.source_time_unit == "ms"
    assert frame["open_time"].tolist() == [US_2023, US_2023 + 60_000_000]
    assert frame["close_time"][0] == US_2023 + 59_999_000


def test_microseconds_kept_exactly(engine: Engine) -> None:
    """2025 spot times (µs) are kept to the microsecond, not truncated to ms."""
    frame = klines(kline_csv(T2025, 2, unit="us"), engine)
    assert frame.source_time_unit == "us"
    assert frame["open_time"][0] == US_2025
    assert frame["close_time"][0] == US_2025 + 59_999_999
    assert frame.datetimes("open_time")[0] == np.datetime64("2025-01-01T00:00:00", "us")


def test_futures_header_detected_by_first_byte(engine: Engine) -> None:
    """A header row (first byte not a digit) is skipped; the same rows parse without it."""
    with_header = klines(kline_csv(T2023, 5, header=True), engine, "futures/um")
    without = klines(kline_csv(T2023, 5), engine, "futures/um")
    assert len(with_header) == 5
    for name in with_header.columns:
        assert np.array_equal(with_header[name], without[name])


def test_header_with_wrong_column_count_rejected(engine: Engine) -> None:
    """A header row with the wrong number of columns is a clear VisionError."""
    with pytest.raises(VisionError, match="header row has 3 columns"):
        klines(b"a,b,c\n1,2,3\n", engine)


@pytest.mark.parametrize("style", ["True", "true"])
def test_agg_trades_both_boolean_spellings(engine: Engine, style: str) -> None:
    """aggTrades booleans parse from True/False and true/false alike."""
    data = agg_trades_csv(T2023, 4, bool_style=style)  # type: ignore[arg-type]
    frame = parse_csv(data, market="spot", data_type="aggTrades", engine=engine)
    assert frame["is_buyer_maker"].dtype == np.bool_
    assert frame["is_buyer_maker"].tolist() == [True, False, True, False]
    assert frame["is_best_match"].all()
    assert frame["agg_trade_id"].tolist() == [1000, 1001, 1002, 1003]


def test_futures_agg_trades_have_no_best_match(engine: Engine) -> None:
    """Futures aggTrades (header, lowercase booleans) have 7 columns, no is_best_match."""
    data = agg_trades_csv(T2023, 3, best_match=False, bool_style="true", header=True)
    frame = parse_csv(data, market="futures/um", data_type="aggTrades", engine=engine)
    assert "is_best_match" not in frame and len(frame.columns) == 7
    assert isinstance(next(frame.records()), AggTrade)


@pytest.mark.parametrize(
    ("market", "third"), [("spot", "quote_qty"), ("futures/um", "quote_qty"),
                          ("futures/cm", "base_qty")]
)  # fmt: skip
def test_trades_layouts(engine: Engine, market: str, third: str) -> None:
    """Trades columns follow the market: COIN-M has base_qty, only spot has is_best_match."""
    data = trades_csv(T2023, 3, layout=market, header=market != "spot")  # type: ignore[arg-type]
    frame = parse_csv(data, market=market, data_type="trades", engine=engine)
    assert third in frame and frame[third].tolist()[0] == pytest.approx(300.0)
    assert ("is_best_match" in frame) == (market == "spot")
    assert frame["is_buyer_maker"].tolist() == [False, True, False]


def test_spot_trades_in_microseconds(engine: Engine) -> None:
    """2025 spot trades carry microsecond times and are kept as such."""
    frame = parse_csv(trades_csv(T2025, 2, unit="us"), market="spot", data_type="trades",
                      engine=engine)  # fmt: skip
    assert frame["time"].tolist() == [US_2025, US_2025 + 1_000_000]


@pytest.mark.parametrize(
    "data",
    [b"1,2,3\n", b"1672531200000,1,1,1,1,1,1672531259999,1,1,1,1,0\n1,2\n",
     b"1672531200000,x,1,1,1,1,1672531259999,1,1,1,1,0\n",
     b"1672531200000,,1,1,1,1,1672531259999,1,1,1,1,0\n"],
)  # fmt: skip
def test_malformed_rows_rejected(engine: Engine, data: bytes) -> None:
    """Short rows, non-numeric values and empty fields raise VisionError, not garbage."""
    with pytest.raises(VisionError):
        klines(data, engine)


def test_empty_and_crlf_input(engine: Engine) -> None:
    """An empty file is an empty frame; CRLF line ends and a missing final newline are fine."""
    assert len(klines(b"", engine)) == 0
    data = kline_csv(T2023, 3).replace(b"\n", b"\r\n").rstrip()
    assert len(klines(data, engine)) == 3


def test_engines_agree() -> None:
    """The polars and pyarrow engines produce identical Arrow tables."""
    pytest.importorskip("polars")
    data = agg_trades_csv(T2023, 50, bool_style="true")
    a = parse_csv(data, market="spot", data_type="aggTrades", engine="polars")
    b = parse_csv(data, market="spot", data_type="aggTrades", engine="pyarrow")
    assert a == b and a.table.schema == b.table.schema


def test_unknown_kind_and_engine() -> None:
    """An unsupported market/data type or engine name is a VisionError."""
    with pytest.raises(VisionError, match="no CSV schema"):
        parse_csv(b"", market="spot", data_type="bookTicker")
    with pytest.raises(VisionError, match="engine"):
        available_engine("numpy")  # type: ignore[arg-type]


def test_records_are_typed_models() -> None:
    """records() yields validated pydantic models with UTC datetimes, lazily."""
    frame = klines(kline_csv(T2025, 3, unit="us"), "auto")
    first = next(frame.records())
    assert isinstance(first, Kline)
    assert first.open_time == T2025 and first.close_time.microsecond == 999_999
    assert first.number_of_trades == 1
    trades = parse_csv(trades_csv(T2023, 2), market="spot", data_type="trades")
    assert [type(t) for t in trades.records()] == [Trade, Trade]


def test_between_take_and_concat() -> None:
    """between() filters by time; concat() joins frames and reports mixed source units."""
    a = klines(kline_csv(T2023, 60), "auto")
    b = klines(kline_csv(T2025, 60, unit="us"), "auto")
    both = concat([a, b])
    assert len(both) == 120 and both.source_time_unit == "mixed"
    assert len(both.between(date(2025, 1, 1), datetime(2025, 1, 1, 0, 10))) == 10
    assert len(both.take(slice(0, 5))) == 5
    with pytest.raises(VisionError):
        concat([a, parse_csv(trades_csv(T2023, 1), market="spot", data_type="trades")])


def test_unknown_column_key_error_lists_columns() -> None:
    """frame['nope'] raises KeyError listing the real columns."""
    with pytest.raises(KeyError, match="open_time"):
        klines(kline_csv(T2023, 1), "auto")["nope"]


def test_read_archive_from_zip(tmp_path: Path) -> None:
    """read_archive() opens the zip safely and parses its CSV."""
    path = tmp_path / "k.zip"
    path.write_bytes(make_zip([("k.csv", kline_csv(T2023, 4))]))
    assert len(read_archive(path, market="spot", data_type="klines")) == 4
    with pytest.raises(VisionError, match="needs spec"):
        read_archive(path)


def test_to_csv_round_trip(tmp_path: Path) -> None:
    """to_csv() writes microsecond times and lowercase booleans that parse back identically."""
    frame = parse_csv(agg_trades_csv(T2025, 5, unit="us"), market="spot", data_type="aggTrades")
    frame.to_csv(tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_bytes()
    assert text.startswith(b"agg_trade_id,") and b",true," in text
    again = parse_csv(text, market="spot", data_type="aggTrades", engine="auto")
    for name in frame.columns:
        assert np.array_equal(frame[name], again[name])


def test_to_pandas_and_arrow() -> None:
    """to_pandas()/to_arrow() give UTC microsecond timestamps (or ints on request)."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = klines(kline_csv(T2025, 2, unit="us"), "auto")
    df = frame.to_pandas()
    assert df["open_time"].iloc[0] == pd.Timestamp("2025-01-01", tz="UTC")
    assert str(df["open_time"].dtype) == "datetime64[us, UTC]"
    assert frame.to_pandas(datetimes=False)["open_time"].iloc[0] == US_2025
    table = frame.to_arrow()
    assert str(table.schema.field("close_time").type) == "timestamp[us, tz=UTC]"
    assert table.num_rows == 2


def test_to_parquet(tmp_path: Path) -> None:
    """to_parquet() writes a file pyarrow reads back with the same row count."""
    pq = pytest.importorskip("pyarrow.parquet")
    klines(kline_csv(T2023, 7), "auto").to_parquet(tmp_path / "k.parquet")
    assert pq.read_table(tmp_path / "k.parquet").num_rows == 7


def test_missing_optional_dependency_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the package, conversions raise an ImportError saying what to install."""
    import sys

    frame = klines(kline_csv(T2023, 1), "auto")
    for module in ("pandas", "pyarrow", "polars"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(OptionalDependencyError, match="pip install pandas"):
        frame.to_pandas()
    with pytest.raises(ImportError, match=r"pepperpy-core\[vision\]"):
        frame.to_polars()


def test_parsing_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyarrow, parsing raises an ImportError naming the vision extra."""
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(OptionalDependencyError, match=r"pepperpy-core\[vision\]"):
        klines(kline_csv(T2023, 2), "pyarrow")


def test_header_only_and_bom(engine: Engine) -> None:
    """A header row with no data is an empty frame; a UTF-8 BOM before digits is ignored."""
    header = kline_csv(T2023, 0, header=True).rstrip()
    assert len(klines(header, engine, "futures/um")) == 0
    assert len(klines(b"\xef\xbb\xbf" + kline_csv(T2023, 2), engine)) == 2


@pytest.mark.parametrize("ending", [b"\n", b"\n\n\n", b"\r\n", b"\r\n\r\n", b""])
def test_header_crlf_and_trailing_blank_lines(engine: Engine, ending: bytes) -> None:
    """A header row, CRLF line ends and blank lines at the end give the same rows as a clean
    file (the engines skip the header themselves; nothing becomes an empty row)."""
    clean = klines(kline_csv(T2023, 3), engine, "futures/um")
    text = kline_csv(T2023, 3, header=True).rstrip(b"\n")
    if ending.startswith(b"\r"):
        text = text.replace(b"\n", b"\r\n")
    frame = klines(text + ending, engine, "futures/um")
    assert frame == clean


def test_quoted_field_is_an_error_not_a_value(engine: Engine) -> None:
    """The archive never quotes; a quoted number is refused rather than read as text."""
    row = b'1672531200000,"1",1,1,1,1,1672531259999,1,1,1,1,0\n'
    with pytest.raises(VisionError, match="unparsable"):
        klines(row, engine)

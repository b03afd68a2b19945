"""Every market / data type / frequency / interval of the archive: named, validated, parsed."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pepperpy_core.exceptions import ConfigurationError, VisionError
from pepperpy_core.testing.vision_server import make_zip, sample_csv, sample_symbol
from pepperpy_core.vision import (
    DATA_TYPES,
    INTERVALS,
    MONTHLY_ONLY_INTERVALS,
    SCHEMAS,
    VisionFile,
    frequencies,
    parse_csv,
    plan_range,
    read_archive,
)

UTC = timezone.utc
T2021 = datetime(2021, 6, 1, tzinfo=UTC)
T2025 = datetime(2025, 1, 1, tzinfo=UTC)
ENGINES = ["pyarrow"] + (["polars"] if importlib.util.find_spec("polars") else [])
EVERY_TYPE = sorted((m, t) for m, types in DATA_TYPES.items() for t in types)


def test_every_published_type_has_a_schema() -> None:
    """Nothing the archive publishes lacks a parser."""
    assert set(EVERY_TYPE) == set(SCHEMAS)


@pytest.mark.parametrize(("market", "data_type"), EVERY_TYPE)
def test_every_type_is_nameable_in_its_frequencies(market: str, data_type: str) -> None:
    """Each type builds paths in the frequencies it is published in and round-trips through
    from_path; a frequency it lacks is a clear error naming the field."""
    interval = "1h" if data_type.endswith(("klines", "Klines")) else None
    for frequency in ("daily", "monthly"):
        kwargs = dict(
            market=market,
            data_type=data_type,
            symbol=sample_symbol(market, data_type),
            date=date(2024, 1, 1),
            frequency=frequency,
            interval=interval,
        )
        if frequency in frequencies(market, data_type):
            spec = VisionFile(**kwargs)  # type: ignore[arg-type]
            assert VisionFile.from_path(spec.url()) == spec
            assert spec.directory.startswith(f"data/{market}/{frequency}/{data_type}/")
        else:
            with pytest.raises(ConfigurationError, match=r"^frequency: .*only"):
                VisionFile(**kwargs)  # type: ignore[arg-type]


def test_daily_and_monthly_only_types() -> None:
    """The published frequencies of the issue's table."""
    assert frequencies("futures/um", "metrics") == ("daily",)
    assert frequencies("futures/cm", "bookDepth") == ("daily",)
    assert frequencies("futures/um", "liquidationSnapshot") == ("daily",)
    assert frequencies("option", "EOHSummary") == ("daily",)
    assert frequencies("futures/um", "fundingRate") == ("monthly",)
    assert frequencies("futures/um", "bookTicker") == ("daily", "monthly")


@pytest.mark.parametrize("interval", INTERVALS)
def test_every_interval(interval: str) -> None:
    """1s is spot only; 3d/1w/1mo are monthly only; the rest exist daily and monthly."""
    for market in ("spot", "futures/um"):
        for frequency in ("daily", "monthly"):
            ok = (interval != "1s" or market == "spot") and (
                frequency == "monthly" or interval not in MONTHLY_ONLY_INTERVALS
            )
            kwargs = dict(
                market=market,
                data_type="klines",
                symbol="BTCUSDT",
                interval=interval,
                date=date(2024, 1, 1),
                frequency=frequency,
            )
            if ok:
                spec = VisionFile(**kwargs)  # type: ignore[arg-type]
                assert spec.filename.startswith(f"BTCUSDT-{interval}-2024-01")
            else:
                with pytest.raises(ConfigurationError, match=r"^interval"):
                    VisionFile(**kwargs)  # type: ignore[arg-type]


def test_coin_m_index_klines_use_the_pair() -> None:
    """COIN-M index price klines are per pair: the contract name is refused with the pair."""
    with pytest.raises(ConfigurationError, match="'BTCUSD'"):
        VisionFile(
            market="futures/cm",
            data_type="indexPriceKlines",
            symbol="BTCUSD_PERP",
            interval="1m",
            date=date(2024, 1, 1),
        )
    ok = VisionFile(
        market="futures/cm",
        data_type="markPriceKlines",
        symbol="BTCUSD_PERP",
        interval="1m",
        date=date(2024, 1, 1),
    )
    assert ok.filename == "BTCUSD_PERP-1m-2024-01-01.zip"


@pytest.mark.parametrize(
    "path",
    [
        "data/spot/daily/klines/BTCUSDT/1m/ETHUSDT-1m-2024-01-01.zip",  # other symbol
        "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-5m-2024-01-01.zip",  # other interval
        "data/spot/daily/klines/BTCUSDT/BTCUSDT-1m-2024-01-01.zip",  # no interval folder
        "data/spot/daily/trades/BTCUSDT/BTCUSDT-aggTrades-2024-01-01.zip",  # other type
        "data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-01.zip",  # monthly name, daily
        "data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2024-01-01.zip",  # and back
    ],
)
def test_from_path_rejects_contradictions(path: str) -> None:
    """A file name that contradicts its folder is refused, saying what disagrees."""
    with pytest.raises(ConfigurationError, match=r"^path: .*agrees with its folder"):
        VisionFile.from_path(path)


def test_non_ascii_symbol_is_percent_encoded() -> None:
    """A non-ASCII symbol is kept in paths and percent-encoded in URLs, both ways."""
    spec = VisionFile(
        market="spot",
        data_type="klines",
        symbol="币安人生USDT",
        interval="1d",
        date=date(2025, 10, 1),
    )
    assert spec.path.endswith("币安人生USDT/1d/币安人生USDT-1d-2025-10-01.zip")
    assert "%E5%B8%81" in spec.url() and "币" not in spec.url()
    assert VisionFile.from_path(spec.url()) == spec
    assert VisionFile.from_path(spec.path) == spec


def test_stopped_series_are_not_published_not_missing() -> None:
    """USD-M bookTicker stopped after 2024-03-31: later days are after_series_end."""
    plan = plan_range(
        date(2024, 3, 30),
        date(2024, 4, 2),
        market="futures/um",
        data_type="bookTicker",
        symbol="BTCUSDT",
        today=date(2025, 1, 1),
    )
    assert [f.stem for f in plan.files] == [
        "BTCUSDT-bookTicker-2024-03-30",
        "BTCUSDT-bookTicker-2024-03-31",
    ]
    assert plan.after_series_end == (date(2024, 4, 1), date(2024, 4, 2))
    cm = plan_range(
        date(2024, 4, 1),
        date(2024, 4, 1),
        market="futures/cm",
        data_type="bookTicker",
        symbol="BTCUSD_PERP",
        today=date(2025, 1, 1),
    )
    assert len(cm.files) == 1 and cm.after_series_end == ()


def test_plans_follow_published_frequencies() -> None:
    """Daily-only types never plan a monthly file; fundingRate plans monthly files only."""
    daily = plan_range(
        date(2024, 1, 1),
        date(2024, 2, 29),
        market="futures/um",
        data_type="metrics",
        symbol="BTCUSDT",
        today=date(2025, 1, 1),
    )
    assert len(daily.files) == 60 and {f.frequency for f in daily.files} == {"daily"}
    funding = plan_range(
        date(2024, 1, 15),
        date(2024, 2, 3),
        market="futures/um",
        data_type="fundingRate",
        symbol="BTCUSDT",
        today=date(2025, 1, 1),
    )
    assert [f.stem for f in funding.files] == [
        "BTCUSDT-fundingRate-2024-01",
        "BTCUSDT-fundingRate-2024-02",
    ]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("market", "data_type"), EVERY_TYPE)
@pytest.mark.parametrize("header", [False, True])
def test_every_type_parses_into_typed_columns(
    engine: str, market: str, data_type: str, header: bool
) -> None:
    """Each type parses, with and without a header row, into its Arrow types; times are
    timestamp[us, UTC] at the right instant; nullable fields stay null, others are filled."""
    pa = pytest.importorskip("pyarrow")
    data = sample_csv(market, data_type, T2021, 6, step=timedelta(hours=1), header=header)
    frame = parse_csv(data, market=market, data_type=data_type, engine=engine)  # type: ignore[arg-type]
    schema = SCHEMAS[(market, data_type)]
    assert len(frame) == 6 and frame.columns == schema.names
    stamp = pa.timestamp("us", tz="UTC")
    for column in schema.columns:
        arrow_type = frame.table.schema.field(column.name).type
        wanted = {
            "time": stamp,
            "text_time": stamp,
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
            "str": pa.string(),
        }[column.kind]
        assert arrow_type == wanted, column.name
        nulls = frame.table.column(column.name).null_count
        assert nulls == (2 if column.nullable else 0), column.name
    first_time = frame.table.column(schema.time_columns[0])[0].as_py()
    expect = T2021.replace(hour=0) if schema.time_columns[0] != "date" else T2021
    assert first_time == expect
    row = next(frame.records())
    assert row.model_dump()[schema.time_columns[0]] == expect


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("market", ["spot", "futures/um", "futures/cm"])
def test_units_and_boolean_spellings(engine: str, market: str) -> None:
    """ms (futures, spot before 2025) and µs (spot from 2025) times land on the same instant;
    True/False and true/false both parse."""
    for unit in ("ms", "us"):
        for style in ("True", "true"):
            data = sample_csv(market, "aggTrades", T2025, 4, unit=unit, bool_style=style)  # type: ignore[arg-type]
            frame = parse_csv(data, market=market, data_type="aggTrades", engine=engine)  # type: ignore[arg-type]
            assert frame.source_time_unit == unit
            assert frame.table.column("transact_time")[1].as_py() == T2025 + timedelta(minutes=1)
            assert frame["is_buyer_maker"].tolist() == [True, False, True, False]


def test_engines_agree_on_every_type() -> None:
    """polars and pyarrow give equal frames for every type (header, nulls, text times)."""
    pytest.importorskip("polars")
    for market, data_type in EVERY_TYPE:
        data = sample_csv(market, data_type, T2025, 9, unit="us", header=True)
        a = parse_csv(data, market=market, data_type=data_type, engine="polars")
        b = parse_csv(data, market=market, data_type=data_type, engine="pyarrow")
        assert a == b, (market, data_type)


def test_coin_m_klines_name_their_volumes() -> None:
    """COIN-M kline volumes are contracts and base asset: the columns say so."""
    data = sample_csv("futures/cm", "klines", T2021, 2)
    frame = parse_csv(data, market="futures/cm", data_type="klines")
    assert "base_asset_volume" in frame and "quote_asset_volume" not in frame
    assert "taker_buy_volume" in frame


def test_empty_field_where_not_allowed_is_an_error() -> None:
    """Only metrics/EOHSummary-style columns may be empty: elsewhere it names the column."""
    data = b"1704067200000,,0.0001\n"
    with pytest.raises(VisionError, match="funding_interval_hours"):
        parse_csv(data, market="futures/um", data_type="fundingRate")


def test_bad_text_time_is_an_error() -> None:
    """A text time that is not a time raises VisionError naming the column."""
    with pytest.raises(VisionError, match="timestamp"):
        parse_csv(b"2024-13-45 99:00:00,1,2.0,3.0\n", market="futures/um", data_type="bookDepth")


def test_non_ascii_symbol_file_parses(tmp_path: Path) -> None:
    """A zip whose name and member carry a non-ASCII symbol reads like any other."""
    spec = VisionFile(
        market="spot",
        data_type="klines",
        symbol="币安人生USDT",
        interval="1m",
        date=date(2025, 10, 1),
    )
    path = tmp_path / spec.filename
    path.write_bytes(
        make_zip([(spec.stem + ".csv", sample_csv("spot", "klines", T2025, 3, unit="us"))])
    )
    assert len(read_archive(path, spec)) == 3


def test_arrow_capsule_and_dataframes() -> None:
    """The frame is read by pyarrow, polars and pandas through __arrow_c_stream__."""
    pa = pytest.importorskip("pyarrow")
    data = sample_csv("futures/um", "metrics", T2025, 5, header=True)
    frame = parse_csv(data, market="futures/um", data_type="metrics")
    assert pa.table(frame).equals(frame.table)
    pl = pytest.importorskip("polars")
    assert pl.DataFrame(frame).shape == (5, 8)
    assert frame.to_polars().schema["create_time"] == pl.Datetime("us", "UTC")
    pytest.importorskip("pandas")
    df = frame.to_pandas()
    assert str(df["create_time"].dtype) == "datetime64[us, UTC]"
    assert df["sum_open_interest"].isna().sum() == 1

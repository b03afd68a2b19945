"""Known lines of every data type, written by hand the way the archive writes them (its own
header spelling, time units, boolean spelling, empty fields), and the exact typed values each
must parse to. A change in a schema, a unit rule or an engine shows up here as a wrong value,
not just a wrong dtype."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from typing import Any

import pytest

from pepperpy_core.vision import SCHEMAS, parse_csv

UTC = timezone.utc
ENGINES = ["pyarrow"] + (["polars"] if importlib.util.find_spec("polars") else [])


def at(*parts: int) -> datetime:
    """A UTC datetime (year, month, day, hour, minute, second, microsecond)."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


# The header rows of futures kline files: the archive calls the columns ``quote_volume``,
# ``count``, ``taker_buy_volume`` ... (our names say which asset each volume is in).
KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
)
KLINE_NAMES = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_asset_volume",
    "number_of_trades", "taker_buy_base_asset_volume", "taker_buy_quote_asset_volume", "ignore",
)  # fmt: skip
CM_KLINE_NAMES = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "base_asset_volume",
    "number_of_trades", "taker_buy_volume", "taker_buy_base_asset_volume", "ignore",
)  # fmt: skip


def rows(names: tuple[str, ...], *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(zip(names, v, strict=True)) for v in values]


# fmt: off
# (market, data_type) -> (file text, expected rows); ``None`` is an empty field.
CASES: dict[tuple[str, str], tuple[str, list[dict[str, Any]]]] = {
    # Spot: no header; True/False; milliseconds before 2025, microseconds from 2025-01-01.
    ("spot", "klines"): (
        "1704067200000,42283.58000000,42298.62000000,42261.02000000,42298.61000000,"
        "35.92724000,1704067259999,1519032.22296540,1327,21.55722000,911511.05126940,0\n",
        rows(KLINE_NAMES, (
            at(2024, 1, 1), 42283.58, 42298.62, 42261.02, 42298.61, 35.92724,
            at(2024, 1, 1, 0, 0, 59, 999000), 1519032.2229654, 1327, 21.55722,
            911511.0512694, 0.0,
        )),
    ),
    ("spot", "aggTrades"): (
        "3357326428,93576.00000000,0.00500000,4363452180,4363452183,1735689600038251,"
        "False,True\n"
        "3357326429,93575.99000000,0.01068000,4363452184,4363452184,1735689600112000,"
        "True,True\n",
        [
            {"agg_trade_id": 3357326428, "price": 93576.0, "quantity": 0.005,
             "first_trade_id": 4363452180, "last_trade_id": 4363452183,
             "transact_time": at(2025, 1, 1, 0, 0, 0, 38251), "is_buyer_maker": False,
             "is_best_match": True},
            {"agg_trade_id": 3357326429, "price": 93575.99, "quantity": 0.01068,
             "first_trade_id": 4363452184, "last_trade_id": 4363452184,
             "transact_time": at(2025, 1, 1, 0, 0, 0, 112000), "is_buyer_maker": True,
             "is_best_match": True},
        ],
    ),
    ("spot", "trades"): (
        "3355972480,42283.58000000,0.00700000,295.98506000,1704067200012,False,True\n",
        [{"id": 3355972480, "price": 42283.58, "qty": 0.007, "quote_qty": 295.98506,
          "time": at(2024, 1, 1, 0, 0, 0, 12000), "is_buyer_maker": False,
          "is_best_match": True}],
    ),
    # USD-M: a header row in the archive's spelling; true/false; milliseconds.
    ("futures/um", "klines"): (
        KLINE_HEADER
        + "1704067200000,42314.00,42335.80,42289.60,42331.90,289.641,1704067259999,"
        "12255422.53190,3154,165.060,6984220.14440,0\n",
        rows(KLINE_NAMES, (
            at(2024, 1, 1), 42314.0, 42335.8, 42289.6, 42331.9, 289.641,
            at(2024, 1, 1, 0, 0, 59, 999000), 12255422.5319, 3154, 165.06, 6984220.1444, 0.0,
        )),
    ),
    ("futures/um", "markPriceKlines"): (
        KLINE_HEADER
        + "1704067200000,42320.81765217,42341.21000000,42300.04000000,42336.79000000,0,"
        "1704067259999,0,60,0,0,0\n",
        rows(KLINE_NAMES, (
            at(2024, 1, 1), 42320.81765217, 42341.21, 42300.04, 42336.79, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 60, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/um", "indexPriceKlines"): (
        KLINE_HEADER
        + "1704067200000,42288.31234783,42306.70000000,42269.50782609,42303.97521739,0,"
        "1704067259999,0,60,0,0,0\n",
        rows(KLINE_NAMES, (
            at(2024, 1, 1), 42288.31234783, 42306.7, 42269.50782609, 42303.97521739, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 60, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/um", "premiumIndexKlines"): (
        KLINE_HEADER
        + "1704067200000,-0.00017613,0.00010235,-0.00021345,-0.00013456,0,1704067259999,0,12,"
        "0,0,0\n",
        rows(KLINE_NAMES, (
            at(2024, 1, 1), -0.00017613, 0.00010235, -0.00021345, -0.00013456, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 12, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/um", "aggTrades"): (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
        "1975416478,42314.0,0.002,4447893120,4447893121,1704067200072,false\n"
        "1975416479,42313.9,1.512,4447893122,4447893130,1704067200072,true\n",
        [
            {"agg_trade_id": 1975416478, "price": 42314.0, "quantity": 0.002,
             "first_trade_id": 4447893120, "last_trade_id": 4447893121,
             "transact_time": at(2024, 1, 1, 0, 0, 0, 72000), "is_buyer_maker": False},
            {"agg_trade_id": 1975416479, "price": 42313.9, "quantity": 1.512,
             "first_trade_id": 4447893122, "last_trade_id": 4447893130,
             "transact_time": at(2024, 1, 1, 0, 0, 0, 72000), "is_buyer_maker": True},
        ],
    ),
    ("futures/um", "trades"): (
        "id,price,qty,quote_qty,time,is_buyer_maker\n"
        "4447893120,42314.0,0.001,42.314,1704067200072,false\n",
        [{"id": 4447893120, "price": 42314.0, "qty": 0.001, "quote_qty": 42.314,
          "time": at(2024, 1, 1, 0, 0, 0, 72000), "is_buyer_maker": False}],
    ),
    ("futures/um", "bookTicker"): (
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,"
        "event_time\n"
        "3812345678901,42313.90,5.121,42314.00,1.830,1704067200002,1704067200008\n",
        [{"update_id": 3812345678901, "best_bid_price": 42313.9, "best_bid_qty": 5.121,
          "best_ask_price": 42314.0, "best_ask_qty": 1.83,
          "transaction_time": at(2024, 1, 1, 0, 0, 0, 2000),
          "event_time": at(2024, 1, 1, 0, 0, 0, 8000)}],
    ),
    ("futures/um", "bookDepth"): (
        "timestamp,percentage,depth,notional\n"
        "2024-01-01 00:00:07,-5,3542.637,146232860.9537\n"
        "2024-01-01 00:00:07,-0.20,412.153,17421388.2241\n"
        "2024-01-01 00:00:07,1.00,1011.920,42958702.0010\n",
        [
            {"timestamp": at(2024, 1, 1, 0, 0, 7), "percentage": -5.0, "depth": 3542.637,
             "notional": 146232860.9537},
            {"timestamp": at(2024, 1, 1, 0, 0, 7), "percentage": -0.2, "depth": 412.153,
             "notional": 17421388.2241},
            {"timestamp": at(2024, 1, 1, 0, 0, 7), "percentage": 1.0, "depth": 1011.92,
             "notional": 42958702.001},
        ],
    ),
    ("futures/um", "metrics"): (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,"
        "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,count_long_short_ratio,"
        "sum_taker_long_short_vol_ratio\n"
        "2024-01-01 00:05:00,BTCUSDT,79895.528,3381476188.4024,1.34735812,1.24158044,"
        "1.53183247,0.598186\n"
        "2021-12-01 00:00:00,BTCUSDT,37514.066,2137853462.0541,,,,0.6935\n",
        [
            {"create_time": at(2024, 1, 1, 0, 5), "symbol": "BTCUSDT",
             "sum_open_interest": 79895.528, "sum_open_interest_value": 3381476188.4024,
             "count_toptrader_long_short_ratio": 1.34735812,
             "sum_toptrader_long_short_ratio": 1.24158044,
             "count_long_short_ratio": 1.53183247, "sum_taker_long_short_vol_ratio": 0.598186},
            {"create_time": at(2021, 12, 1), "symbol": "BTCUSDT",
             "sum_open_interest": 37514.066, "sum_open_interest_value": 2137853462.0541,
             "count_toptrader_long_short_ratio": None, "sum_toptrader_long_short_ratio": None,
             "count_long_short_ratio": None, "sum_taker_long_short_vol_ratio": 0.6935},
        ],
    ),
    ("futures/um", "liquidationSnapshot"): (
        "time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,"
        "last_fill_quantity,accumulated_fill_quantity\n"
        "1704067338587,SELL,LIMIT,IOC,0.009,42160.64,42294.72,FILLED,0.009,0.009\n",
        [{"time": at(2024, 1, 1, 0, 2, 18, 587000), "side": "SELL", "order_type": "LIMIT",
          "time_in_force": "IOC", "original_quantity": 0.009, "price": 42160.64,
          "average_price": 42294.72, "order_status": "FILLED", "last_fill_quantity": 0.009,
          "accumulated_fill_quantity": 0.009}],
    ),
    ("futures/um", "fundingRate"): (
        "calc_time,funding_interval_hours,last_funding_rate\n"
        "1704067200001,8,0.00037409\n"
        "1704096000000,8,-0.00001200\n",
        [
            {"calc_time": at(2024, 1, 1, 0, 0, 0, 1000), "funding_interval_hours": 8,
             "last_funding_rate": 0.00037409},
            {"calc_time": at(2024, 1, 1, 8), "funding_interval_hours": 8,
             "last_funding_rate": -0.000012},
        ],
    ),
    # COIN-M: volumes in contracts and base asset; trades carry base_qty.
    ("futures/cm", "klines"): (
        KLINE_HEADER
        + "1704067200000,42331.3,42350.0,42310.1,42345.0,31425,1704067259999,74.23551234,1001,"
        "15230,35.97563001,0\n",
        rows(CM_KLINE_NAMES, (
            at(2024, 1, 1), 42331.3, 42350.0, 42310.1, 42345.0, 31425.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 74.23551234, 1001, 15230.0, 35.97563001, 0.0,
        )),
    ),
    ("futures/cm", "markPriceKlines"): (
        KLINE_HEADER + "1704067200000,42340.1,42361.5,42322.0,42350.7,0,1704067259999,0,60,0,0,0\n",
        rows(CM_KLINE_NAMES, (
            at(2024, 1, 1), 42340.1, 42361.5, 42322.0, 42350.7, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 60, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/cm", "indexPriceKlines"): (
        KLINE_HEADER + "1704067200000,42288.3,42306.7,42269.5,42303.9,0,1704067259999,0,60,0,0,0\n",
        rows(CM_KLINE_NAMES, (
            at(2024, 1, 1), 42288.3, 42306.7, 42269.5, 42303.9, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 60, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/cm", "premiumIndexKlines"): (
        KLINE_HEADER
        + "1704067200000,0.00011000,0.00020000,-0.00004000,0.00009000,0,1704067259999,0,12,"
        "0,0,0\n",
        rows(CM_KLINE_NAMES, (
            at(2024, 1, 1), 0.00011, 0.0002, -0.00004, 0.00009, 0.0,
            at(2024, 1, 1, 0, 0, 59, 999000), 0.0, 12, 0.0, 0.0, 0.0,
        )),
    ),
    ("futures/cm", "aggTrades"): (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
        "412345678,42331.3,5,591234560,591234562,1704067200123,true\n",
        [{"agg_trade_id": 412345678, "price": 42331.3, "quantity": 5.0,
          "first_trade_id": 591234560, "last_trade_id": 591234562,
          "transact_time": at(2024, 1, 1, 0, 0, 0, 123000), "is_buyer_maker": True}],
    ),
    ("futures/cm", "trades"): (
        "id,price,qty,base_qty,time,is_buyer_maker\n"
        "591234567,42318.3,2,0.00472609,1704067200123,true\n",
        [{"id": 591234567, "price": 42318.3, "qty": 2.0, "base_qty": 0.00472609,
          "time": at(2024, 1, 1, 0, 0, 0, 123000), "is_buyer_maker": True}],
    ),
    ("futures/cm", "bookTicker"): (
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,"
        "event_time\n"
        "712345678901,42331.2,120,42331.3,84,1704067200010,1704067200015\n",
        [{"update_id": 712345678901, "best_bid_price": 42331.2, "best_bid_qty": 120.0,
          "best_ask_price": 42331.3, "best_ask_qty": 84.0,
          "transaction_time": at(2024, 1, 1, 0, 0, 0, 10000),
          "event_time": at(2024, 1, 1, 0, 0, 0, 15000)}],
    ),
    ("futures/cm", "bookDepth"): (
        "timestamp,percentage,depth,notional\n"
        "2024-01-01 00:00:11,5.00,40213.000,9.8231\n",
        [{"timestamp": at(2024, 1, 1, 0, 0, 11), "percentage": 5.0, "depth": 40213.0,
          "notional": 9.8231}],
    ),
    ("futures/cm", "metrics"): (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,"
        "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,count_long_short_ratio,"
        "sum_taker_long_short_vol_ratio\n"
        "2024-01-01 00:05:00,BTCUSD_PERP,3051223,7209.8812,,,1.2281,0.8812\n",
        [{"create_time": at(2024, 1, 1, 0, 5), "symbol": "BTCUSD_PERP",
          "sum_open_interest": 3051223.0, "sum_open_interest_value": 7209.8812,
          "count_toptrader_long_short_ratio": None, "sum_toptrader_long_short_ratio": None,
          "count_long_short_ratio": 1.2281, "sum_taker_long_short_vol_ratio": 0.8812}],
    ),
    ("futures/cm", "liquidationSnapshot"): (
        "time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,"
        "last_fill_quantity,accumulated_fill_quantity\n"
        "1704067261001,BUY,LIMIT,IOC,3,42510.1,42402.2,FILLED,3,3\n",
        [{"time": at(2024, 1, 1, 0, 1, 1, 1000), "side": "BUY", "order_type": "LIMIT",
          "time_in_force": "IOC", "original_quantity": 3.0, "price": 42510.1,
          "average_price": 42402.2, "order_status": "FILLED", "last_fill_quantity": 3.0,
          "accumulated_fill_quantity": 3.0}],
    ),
    ("futures/cm", "fundingRate"): (
        "calc_time,funding_interval_hours,last_funding_rate\n1704067200000,8,0.00010000\n",
        [{"calc_time": at(2024, 1, 1), "funding_interval_hours": 8,
          "last_funding_rate": 0.0001}],
    ),
    # Options: epoch ms in BVOLIndex; EOHSummary has a text date, an hour and empty fields.
    ("option", "BVOLIndex"): (
        "calc_time,symbol,base_asset,quote_asset,index_value\n"
        "1704067200012,BTCBVOLUSDT,BTC,USDT,51.42\n",
        [{"calc_time": at(2024, 1, 1, 0, 0, 0, 12000), "symbol": "BTCBVOLUSDT",
          "base_asset": "BTC", "quote_asset": "USDT", "index_value": 51.42}],
    ),
    ("option", "EOHSummary"): (
        "date,hour,symbol,underlying,type,strike,open,high,low,close,volume_contracts,"
        "volume_usdt,best_bid_price,best_ask_price,best_bid_qty,best_ask_qty,best_buy_iv,"
        "best_sell_iv,mark_price,mark_iv,delta,gamma,vega,theta,openinterest_contracts,"
        "openinterest_usdt\n"
        "2024-01-01,3,BTC-240105-42000-C,BTCUSDT,C,42000,,,,,0,0,1050,1105,2.5,1.1,0.4512,"
        "0.4877,1077.3,0.4701,0.5521,0.00011,31.22,-88.41,12.52,529517.3\n",
        [{"date": at(2024, 1, 1), "hour": 3, "symbol": "BTC-240105-42000-C",
          "underlying": "BTCUSDT", "type": "C", "strike": 42000.0, "open": None, "high": None,
          "low": None, "close": None, "volume_contracts": 0.0, "volume_usdt": 0.0,
          "best_bid_price": 1050.0, "best_ask_price": 1105.0, "best_bid_qty": 2.5,
          "best_ask_qty": 1.1, "best_buy_iv": 0.4512, "best_sell_iv": 0.4877,
          "mark_price": 1077.3, "mark_iv": 0.4701, "delta": 0.5521, "gamma": 0.00011,
          "vega": 31.22, "theta": -88.41, "openinterest_contracts": 12.52,
          "openinterest_usdt": 529517.3}],
    ),
}
# fmt: on


def test_every_type_has_a_hand_written_case() -> None:
    """No data type of the archive goes without known lines and their expected values."""
    assert set(CASES) == set(SCHEMAS)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("market", "data_type"), sorted(CASES))
def test_known_lines_parse_to_exactly_these_values(
    engine: str, market: str, data_type: str
) -> None:
    """Each line becomes exactly the values written beside it: ids and counts as ints,
    prices as floats, the file's time unit read right (to the microsecond), text times as
    UTC, both boolean spellings, empty fields as None."""
    text, expected = CASES[(market, data_type)]
    frame = parse_csv(text.encode(), market=market, data_type=data_type, engine=engine)  # type: ignore[arg-type]
    assert frame.table.to_pylist() == expected
    for got, want in zip(frame.table.to_pylist(), expected, strict=True):
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


@pytest.mark.parametrize(("market", "data_type"), sorted(CASES))
def test_records_carry_the_same_values(market: str, data_type: str) -> None:
    """The pydantic row of each case holds the same values as the columns."""
    text, expected = CASES[(market, data_type)]
    frame = parse_csv(text.encode(), market=market, data_type=data_type)
    record = next(frame.records()).model_dump()
    assert {k: v for k, v in expected[0].items() if k in record} == {
        k: v for k, v in record.items() if k in expected[0]
    }

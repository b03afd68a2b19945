"""Column schemas of the Binance Vision CSV files, as data.

A :class:`Schema` lists the columns of one (market, data type) in file order with a kind:

* ``time``  - an epoch timestamp in the file (milliseconds, or microseconds in spot files
  since 2025-01-01), a ``timestamp[us, UTC]`` column after parsing;
* ``text_time`` - a text timestamp (``2024-01-01 00:05:00`` or ``2024-01-01``, UTC) as in
  bookDepth, metrics and EOHSummary files; also ``timestamp[us, UTC]`` after parsing;
* ``int``   - ``int64`` (ids, counts);
* ``float`` - ``float64`` (prices, quantities, volumes, ratios);
* ``bool``  - ``bool`` (``True``/``False`` in spot files, ``true``/``false`` in futures);
* ``str``   - text (sides, order types, symbols).

A column marked nullable may be empty in the file (metrics and EOHSummary have empty fields);
an empty field anywhere else is an error. Adding a data type is adding a table entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, create_model

from pepperpy_core.exceptions import VisionError
from pepperpy_core.vision.models import AggTrade, Kline, Trade

__all__ = ["KLINE_DATA_TYPES", "SCHEMAS", "Column", "ColumnKind", "Schema", "schema_for"]

ColumnKind = Literal["time", "text_time", "int", "float", "bool", "str"]

#: Data types whose files are candlesticks (their path has an interval folder).
KLINE_DATA_TYPES = frozenset(
    {"klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines"}
)
_PY_TYPES: dict[str, type] = {
    "time": dt.datetime, "text_time": dt.datetime, "int": int, "float": float, "bool": bool,
    "str": str,
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One CSV column: its name, kind (see the module docstring) and whether it may be empty."""

    name: str
    kind: ColumnKind
    nullable: bool = False

    @property
    def is_time(self) -> bool:
        """True for both timestamp kinds."""
        return self.kind in ("time", "text_time")


@dataclass(frozen=True)
class Schema:
    """The columns of one file kind, in file order, the pydantic model of one row, and the
    column whose value identifies a row (``key``; ``None``: the whole row)."""

    name: str
    columns: tuple[Column, ...]
    given_model: type[BaseModel] | None = None
    key: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in file order."""
        return tuple(c.name for c in self.columns)

    @property
    def time_columns(self) -> tuple[str, ...]:
        """Names of the timestamp columns (``timestamp[us, UTC]`` after parsing)."""
        return tuple(c.name for c in self.columns if c.is_time)

    def kind(self, name: str) -> ColumnKind:
        """The kind of column ``name``."""
        return self.column(name).kind

    def column(self, name: str) -> Column:
        """The :class:`Column` called ``name`` (KeyError if none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @cached_property
    def model(self) -> type[BaseModel]:
        """The pydantic model of one row: the documented one (:class:`Kline`, ...) or one
        built from the columns."""
        if self.given_model is not None:
            return self.given_model
        fields: dict[str, Any] = {}
        for c in self.columns:
            typ: Any = _PY_TYPES[c.kind]
            fields[c.name] = (typ | None, None) if c.nullable else (typ, ...)
        title = "".join(p[:1].upper() + p[1:] for p in self.name.replace("/", " ").split())
        return create_model(title + "Row", **fields)


def _cols(spec: str) -> tuple[Column, ...]:
    """Build columns from ``"name:kind name:kind? ..."`` (``?``: may be empty)."""
    out = []
    for item in spec.split():
        name, kind = item.split(":")
        out.append(Column(name, kind.rstrip("?"), kind.endswith("?")))  # type: ignore[arg-type]
    return tuple(out)


_KLINE_COLS = _cols(
    "open_time:time open:float high:float low:float close:float volume:float "
    "close_time:time quote_asset_volume:float number_of_trades:int "
    "taker_buy_base_asset_volume:float taker_buy_quote_asset_volume:float ignore:float"
)
#: COIN-M klines: ``volume`` and ``taker_buy_volume`` in contracts, the others in base asset.
_CM_KLINE_COLS = _cols(
    "open_time:time open:float high:float low:float close:float volume:float "
    "close_time:time base_asset_volume:float number_of_trades:int "
    "taker_buy_volume:float taker_buy_base_asset_volume:float ignore:float"
)
_KLINE = Schema("klines", _KLINE_COLS, Kline, key="open_time")
_AGG = (
    "agg_trade_id:int price:float quantity:float first_trade_id:int last_trade_id:int "
    "transact_time:time is_buyer_maker:bool"
)
_SPOT_AGG = Schema("spot aggTrades", _cols(_AGG + " is_best_match:bool"), AggTrade, "agg_trade_id")
_FUT_AGG = Schema("futures aggTrades", _cols(_AGG), AggTrade, "agg_trade_id")
_SPOT_TRADES = Schema(
    "spot trades",
    _cols(
        "id:int price:float qty:float quote_qty:float time:time is_buyer_maker:bool "
        "is_best_match:bool"
    ),
    Trade,
    "id",
)
_UM_TRADES = Schema(
    "futures/um trades",
    _cols("id:int price:float qty:float quote_qty:float time:time is_buyer_maker:bool"),
    Trade,
    "id",
)
_CM_TRADES = Schema(
    "futures/cm trades",
    _cols("id:int price:float qty:float base_qty:float time:time is_buyer_maker:bool"),
    Trade,
    "id",
)
_BOOK_TICKER = _cols(
    "update_id:int best_bid_price:float best_bid_qty:float best_ask_price:float "
    "best_ask_qty:float transaction_time:time event_time:time"
)
#: ``percentage`` is a band of the mid price: -5 to 5 with +-0.2 (written "-5" or "-5.00").
_BOOK_DEPTH = _cols("timestamp:text_time percentage:float depth:float notional:float")
_METRICS = _cols(
    "create_time:text_time symbol:str sum_open_interest:float? sum_open_interest_value:float? "
    "count_toptrader_long_short_ratio:float? sum_toptrader_long_short_ratio:float? "
    "count_long_short_ratio:float? sum_taker_long_short_vol_ratio:float?"
)
_LIQUIDATION = _cols(
    "time:time side:str order_type:str time_in_force:str original_quantity:float price:float "
    "average_price:float order_status:str last_fill_quantity:float "
    "accumulated_fill_quantity:float"
)
_FUNDING = _cols("calc_time:time funding_interval_hours:int last_funding_rate:float")


def _futures(market: str) -> dict[tuple[str, str], Schema]:
    klines = _CM_KLINE_COLS if market == "futures/cm" else _KLINE_COLS
    model = None if market == "futures/cm" else Kline
    out = {
        (market, t): Schema(f"{market} {t}", klines, model, key="open_time")
        for t in KLINE_DATA_TYPES
    }
    out[(market, "aggTrades")] = _FUT_AGG
    out[(market, "trades")] = _CM_TRADES if market == "futures/cm" else _UM_TRADES
    out[(market, "bookTicker")] = Schema(f"{market} bookTicker", _BOOK_TICKER, key="update_id")
    out[(market, "bookDepth")] = Schema(f"{market} bookDepth", _BOOK_DEPTH)
    out[(market, "metrics")] = Schema(f"{market} metrics", _METRICS, key="create_time")
    out[(market, "liquidationSnapshot")] = Schema(f"{market} liquidationSnapshot", _LIQUIDATION)
    out[(market, "fundingRate")] = Schema(f"{market} fundingRate", _FUNDING, key="calc_time")
    return out


#: Schema of every supported (market, data type).
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("spot", "klines"): _KLINE,
    ("spot", "aggTrades"): _SPOT_AGG,
    ("spot", "trades"): _SPOT_TRADES,
    **_futures("futures/um"),
    **_futures("futures/cm"),
    ("option", "BVOLIndex"): Schema(
        "option BVOLIndex",
        _cols("calc_time:time symbol:str base_asset:str quote_asset:str index_value:float"),
        key="calc_time",
    ),
    ("option", "EOHSummary"): Schema(
        "option EOHSummary",
        _cols(
            "date:text_time hour:int symbol:str underlying:str type:str strike:float "
            "open:float? high:float? low:float? close:float? volume_contracts:float? "
            "volume_usdt:float? best_bid_price:float? best_ask_price:float? best_bid_qty:float? "
            "best_ask_qty:float? best_buy_iv:float? best_sell_iv:float? mark_price:float? "
            "mark_iv:float? delta:float? gamma:float? vega:float? theta:float? "
            "openinterest_contracts:float? openinterest_usdt:float?"
        ),
    ),
}


def schema_for(market: str, data_type: str) -> Schema:
    """The schema of ``data_type`` files in ``market``; :class:`VisionError` if unsupported."""
    try:
        return SCHEMAS[(market, data_type)]
    except KeyError:
        known = ", ".join(f"{m}:{t}" for m, t in sorted(SCHEMAS))
        raise VisionError(
            f"data_type: no CSV schema for market={market!r} data_type={data_type!r}; "
            f"supported: {known}"
        ) from None

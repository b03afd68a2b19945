"""Column schemas of the Binance Vision CSV files, as data.

A :class:`Schema` lists the columns of one (market, data type) in file order with a kind:

* ``time``  - a timestamp; parsed to ``int64`` **microseconds since the Unix epoch (UTC)**,
* ``int``   - ``int64`` (ids, trade counts),
* ``float`` - ``float64`` (prices, quantities, volumes),
* ``bool``  - ``bool`` (``True``/``False`` and ``true``/``false`` both accepted).

Adding a data type is adding a table entry, not a code branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from pepperpy_core.exceptions import VisionError
from pepperpy_core.vision.models import AggTrade, Kline, Trade

__all__ = ["KLINE_DATA_TYPES", "SCHEMAS", "Column", "ColumnKind", "Schema", "schema_for"]

ColumnKind = Literal["time", "int", "float", "bool"]

#: Data types whose files are candlesticks (their path has an interval folder).
KLINE_DATA_TYPES = frozenset(
    {"klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines"}
)


@dataclass(frozen=True)
class Column:
    """One CSV column: its name and kind (see the module docstring for units)."""

    name: str
    kind: ColumnKind


@dataclass(frozen=True)
class Schema:
    """The columns of one file kind, in file order, and the pydantic model of one row."""

    name: str
    columns: tuple[Column, ...]
    model: type[BaseModel]

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in file order."""
        return tuple(c.name for c in self.columns)

    @property
    def time_columns(self) -> tuple[str, ...]:
        """Names of the timestamp columns (microseconds after parsing)."""
        return tuple(c.name for c in self.columns if c.kind == "time")

    def kind(self, name: str) -> ColumnKind:
        """The kind of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column.kind
        raise KeyError(name)


def _cols(spec: str) -> tuple[Column, ...]:
    """Build columns from ``"name:kind name:kind ..."``."""
    out = []
    for item in spec.split():
        name, kind = item.split(":")
        out.append(Column(name, kind))  # type: ignore[arg-type]
    return tuple(out)


_KLINE = Schema(
    "klines",
    _cols(
        "open_time:time open:float high:float low:float close:float volume:float "
        "close_time:time quote_asset_volume:float number_of_trades:int "
        "taker_buy_base_asset_volume:float taker_buy_quote_asset_volume:float ignore:float"
    ),
    Kline,
)
_AGG = (
    "agg_trade_id:int price:float quantity:float first_trade_id:int last_trade_id:int "
    "transact_time:time is_buyer_maker:bool"
)
_SPOT_AGG = Schema("spot aggTrades", _cols(_AGG + " is_best_match:bool"), AggTrade)
_FUT_AGG = Schema("futures aggTrades", _cols(_AGG), AggTrade)
_SPOT_TRADES = Schema(
    "spot trades",
    _cols(
        "id:int price:float qty:float quote_qty:float time:time is_buyer_maker:bool "
        "is_best_match:bool"
    ),
    Trade,
)
_UM_TRADES = Schema(
    "futures/um trades",
    _cols("id:int price:float qty:float quote_qty:float time:time is_buyer_maker:bool"),
    Trade,
)
_CM_TRADES = Schema(
    "futures/cm trades",
    _cols("id:int price:float qty:float base_qty:float time:time is_buyer_maker:bool"),
    Trade,
)

_FUTURES_KLINES = {t: _KLINE for t in KLINE_DATA_TYPES}

#: Schema of every supported (market, data type).
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("spot", "klines"): _KLINE,
    ("spot", "aggTrades"): _SPOT_AGG,
    ("spot", "trades"): _SPOT_TRADES,
    **{("futures/um", t): s for t, s in _FUTURES_KLINES.items()},
    ("futures/um", "aggTrades"): _FUT_AGG,
    ("futures/um", "trades"): _UM_TRADES,
    **{("futures/cm", t): s for t, s in _FUTURES_KLINES.items()},
    ("futures/cm", "aggTrades"): _FUT_AGG,
    ("futures/cm", "trades"): _CM_TRADES,
}


def schema_for(market: str, data_type: str) -> Schema:
    """The schema of ``data_type`` files in ``market``; :class:`VisionError` if unsupported."""
    try:
        return SCHEMAS[(market, data_type)]
    except KeyError:
        known = ", ".join(f"{m}:{t}" for m, t in sorted(SCHEMAS))
        raise VisionError(
            f"no CSV schema for market={market!r} data_type={data_type!r}; supported: {known}"
        ) from None

"""Typed records for one row of a Binance Vision file (pydantic models).

These are the "one row at a time" view; :meth:`VisionFrame.records` yields them on demand. The
columnar :class:`~pepperpy_core.vision.frame.VisionFrame` is the fast path for millions of rows.

Units: times are timezone-aware UTC ``datetime`` values with microsecond resolution; prices and
quantities are ``float`` in the quote/base asset as published (not ``Decimal``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["AggTrade", "Kline", "Trade"]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Kline(_Row):
    """One candlestick (klines, markPriceKlines, indexPriceKlines, premiumIndexKlines).

    ``open_time``/``close_time`` are UTC; volumes are in the base asset, ``quote_asset_volume``
    and ``taker_buy_quote_asset_volume`` in the quote asset. Mark/index/premium klines publish
    zeros for the volume fields."""

    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    close_time: datetime
    quote_asset_volume: float
    number_of_trades: int
    taker_buy_base_asset_volume: float
    taker_buy_quote_asset_volume: float


class AggTrade(_Row):
    """One aggregated trade. ``is_best_match`` exists in spot files only (``None`` in futures)."""

    agg_trade_id: int
    price: float
    quantity: float
    first_trade_id: int
    last_trade_id: int
    transact_time: datetime
    is_buyer_maker: bool
    is_best_match: bool | None = None


class Trade(_Row):
    """One trade. Spot and USD-M publish ``quote_qty`` (quote asset); COIN-M publishes
    ``base_qty`` (base asset) instead. ``is_best_match`` exists in spot files only."""

    id: int
    price: float
    qty: float
    quote_qty: float | None = None
    base_qty: float | None = None
    time: datetime
    is_buyer_maker: bool
    is_best_match: bool | None = None

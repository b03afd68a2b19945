"""Archive paths, file specs and range planning."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.vision import VisionFile, plan_range


def kline(day: date, **kw: object) -> VisionFile:
    args: dict[str, object] = dict(
        market="spot", data_type="klines", symbol="BTCUSDT", interval="1m", date=day
    )
    args.update(kw)
    return VisionFile(**args)  # type: ignore[arg-type]


def test_daily_kline_path_and_urls() -> None:
    """A daily kline file has the real layout, file name, URL and checksum URL."""
    spec = kline(date(2024, 1, 31))
    assert spec.filename == "BTCUSDT-1m-2024-01-31.zip"
    assert spec.path == "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-31.zip"
    assert spec.url() == "https://data.binance.vision/" + spec.path
    assert (
        spec.checksum_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/" + spec.path + ".CHECKSUM"
    )


def test_monthly_and_non_kline_names() -> None:
    """Monthly files drop the day; non-kline files name the data type and have no interval."""
    monthly = kline(date(2024, 2, 17), frequency="monthly", market="futures/um")
    assert monthly.date == date(2024, 2, 1)
    assert monthly.path == "data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip"
    assert monthly.last_day == date(2024, 2, 29) and len(monthly.days()) == 29
    trades = VisionFile(market="futures/cm", data_type="aggTrades", symbol="btcusd_perp",
                        date=date(2024, 1, 1))  # fmt: skip
    assert trades.path == (
        "data/futures/cm/daily/aggTrades/BTCUSD_PERP/BTCUSD_PERP-aggTrades-2024-01-01.zip"
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"market": "margin"}, "market"),
        ({"frequency": "weekly"}, "frequency"),
        ({"data_type": "markPriceKlines"}, "data_type"),  # futures only
        ({"interval": "2m"}, "interval"),
        ({"interval": None}, "interval"),
        ({"interval": "1s", "market": "futures/um"}, "interval"),
        ({"interval": "1w"}, "interval"),  # monthly only
        ({"symbol": "BTC/USDT"}, "symbol"),
        ({"date": "2024-01-01"}, "date"),
        ({"data_type": "trades"}, "interval"),  # interval given for a non-kline type
    ],
)
def test_invalid_specs_name_the_field(kw: dict[str, object], field: str) -> None:
    """Each invalid combination raises ConfigurationError (a ValueError) naming the field."""
    with pytest.raises(ConfigurationError, match=rf"^{field}:"):
        kline(date(2024, 1, 1), **kw)


def test_valid_edge_specs() -> None:
    """1s is fine on spot, 1w on monthly, 1d on daily; datetimes become dates."""
    assert kline(date(2024, 1, 1), interval="1s").interval == "1s"
    assert kline(date(2024, 1, 1), interval="1w", frequency="monthly").stem == "BTCUSDT-1w-2024-01"
    assert kline(datetime(2024, 1, 1, 15), interval="1d").date == date(2024, 1, 1)


def test_base_url_must_be_http() -> None:
    """A base that is not an http(s) URL is a ConfigurationError naming 'base'."""
    with pytest.raises(ConfigurationError, match=r"^base:"):
        kline(date(2024, 1, 1)).url("ftp://mirror")


def test_from_path_round_trips() -> None:
    """Paths and URLs (zip or checksum) parse back into the same spec."""
    for spec in (
        kline(date(2024, 1, 2)),
        kline(date(2024, 1, 1), frequency="monthly", interval="1mo"),
        VisionFile(market="spot", data_type="trades", symbol="ETHBTC", date=date(2020, 5, 6)),
    ):
        assert VisionFile.from_path(spec.url()) == spec
        assert VisionFile.from_path(spec.path + ".CHECKSUM") == spec
    with pytest.raises(ConfigurationError, match=r"^path:"):
        VisionFile.from_path("data/spot/daily/klines/BTCUSDT/1m/readme.txt")


def plan(start: date, end: date, **kw: object) -> list[str]:
    args: dict[str, object] = dict(market="spot", data_type="klines", symbol="BTCUSDT",
                                   interval="1m", today=date(2024, 6, 15))  # fmt: skip
    args.update(kw)
    return [f.stem for f in plan_range(start, end, **args).files]  # type: ignore[arg-type]


def test_plan_prefers_monthly_for_whole_completed_months() -> None:
    """Whole months inside the range are monthly files; the partial edges are daily files."""
    stems = plan(date(2024, 1, 30), date(2024, 4, 2))
    assert stems == [
        "BTCUSDT-1m-2024-01-30", "BTCUSDT-1m-2024-01-31", "BTCUSDT-1m-2024-02",
        "BTCUSDT-1m-2024-03", "BTCUSDT-1m-2024-04-01", "BTCUSDT-1m-2024-04-02",
    ]  # fmt: skip


def test_plan_daily_when_month_not_over_or_not_preferred() -> None:
    """The current month stays daily; prefer_monthly=False gives only daily files."""
    stems = plan(date(2024, 5, 31), date(2024, 6, 30))
    assert stems[0] == "BTCUSDT-1m-2024-05-31" and stems[-1] == "BTCUSDT-1m-2024-06-14"
    assert len(stems) == 15
    assert len(plan(date(2024, 2, 1), date(2024, 2, 29), prefer_monthly=False)) == 29


def test_plan_reports_days_not_yet_published() -> None:
    """Days from today on are not planned but listed as not yet published."""
    result = plan_range(date(2024, 6, 13), date(2024, 6, 16), market="spot", data_type="trades",
                        symbol="BTCUSDT", today=date(2024, 6, 15))  # fmt: skip
    assert [f.date.day for f in result.files] == [13, 14]
    assert result.not_yet_published == (date(2024, 6, 15), date(2024, 6, 16))
    assert result.days == [date(2024, 6, 13), date(2024, 6, 14)]


def test_plan_monthly_only_interval_takes_touched_months() -> None:
    """A 1w interval plans the monthly file of every completed month the range touches."""
    result = plan_range(date(2024, 1, 20), date(2024, 6, 3), market="spot", data_type="klines",
                        symbol="BTCUSDT", interval="1w", today=date(2024, 6, 15))  # fmt: skip
    assert [f.stem for f in result.files] == [f"BTCUSDT-1w-2024-0{m}" for m in range(1, 6)]
    assert result.not_yet_published == (date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3))


def test_plan_rejects_reversed_range() -> None:
    """start after end is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match=r"^start:"):
        plan(date(2024, 2, 2), date(2024, 2, 1))


def test_monthly_falls_back_to_daily_files() -> None:
    """A monthly spec expands to the daily specs of the same days."""
    daily = kline(date(2023, 2, 1), frequency="monthly").daily_files()
    assert len(daily) == 28 and daily[-1].stem == "BTCUSDT-1m-2023-02-28"

"""Where files live in the Binance Vision archive, and which files cover a date range.

Layout (``base`` defaults to https://data.binance.vision)::

    {base}/data/{market}/{daily|monthly}/{data_type}/{SYMBOL}/[{interval}/]{file}.zip[.CHECKSUM]

with ``{file}`` = ``SYMBOL-INTERVAL-YYYY-MM-DD`` (daily klines), ``SYMBOL-INTERVAL-YYYY-MM``
(monthly klines), or ``SYMBOL-{data_type}-YYYY-MM[-DD]`` for the other data types.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.vision.columns import KLINE_DATA_TYPES

__all__ = [
    "DAILY_ONLY_TYPES",
    "DEFAULT_BASE_URL",
    "INTERVALS",
    "INTERVAL_LENGTH",
    "MARKETS",
    "MONTHLY_ONLY_INTERVALS",
    "MONTHLY_ONLY_TYPES",
    "SERIES_END",
    "RangePlan",
    "VisionFile",
    "frequencies",
    "plan_range",
]

DEFAULT_BASE_URL = "https://data.binance.vision"
Frequency = Literal["daily", "monthly"]

#: Markets (the path segment after ``data/``).
MARKETS = ("spot", "futures/um", "futures/cm", "option")
_FUTURES_TYPES = frozenset(
    KLINE_DATA_TYPES
    | {"aggTrades", "trades", "bookTicker", "bookDepth", "metrics", "liquidationSnapshot",
       "fundingRate"}
)  # fmt: skip
#: Data types published per market.
DATA_TYPES: dict[str, frozenset[str]] = {
    "spot": frozenset({"klines", "aggTrades", "trades"}),
    "futures/um": _FUTURES_TYPES,
    "futures/cm": _FUTURES_TYPES,
    "option": frozenset({"BVOLIndex", "EOHSummary"}),
}
#: Data types published as daily files only.
DAILY_ONLY_TYPES = frozenset(
    {"bookDepth", "metrics", "liquidationSnapshot", "BVOLIndex", "EOHSummary"}
)
#: Data types published as monthly files only.
MONTHLY_ONLY_TYPES = frozenset({"fundingRate"})
#: Series that stopped: (market, data type) -> the last day published. Days after it are
#: "not published", not missing.
SERIES_END: dict[tuple[str, str], dt.date] = {
    ("futures/um", "bookTicker"): dt.date(2024, 3, 31),
    ("futures/um", "liquidationSnapshot"): dt.date(2024, 3, 31),
}
#: Every kline interval, in increasing length.
INTERVALS = (
    "1s",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1mo",
)
#: Intervals published as monthly files only.
MONTHLY_ONLY_INTERVALS = frozenset({"3d", "1w", "1mo"})
#: The length of each fixed interval (3d, 1w and 1mo are calendar-aligned, not listed).
INTERVAL_LENGTH: dict[str, timedelta] = {
    "1s": timedelta(seconds=1), "1m": timedelta(minutes=1), "3m": timedelta(minutes=3),
    "5m": timedelta(minutes=5), "15m": timedelta(minutes=15), "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1), "2h": timedelta(hours=2), "4h": timedelta(hours=4),
    "6h": timedelta(hours=6), "8h": timedelta(hours=8), "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
}  # fmt: skip
_SPOT_ONLY_INTERVALS = frozenset({"1s"})
# Letters of any script (the archive has non-ASCII symbols), digits, '_' and '-'.
_SYMBOL = re.compile(r"^[^\W_][\w\-]*$")


def frequencies(market: str, data_type: str) -> tuple[Frequency, ...]:
    """The frequencies ``data_type`` files of ``market`` are published in."""
    del market  # the same for every market today; kept so that a table entry can differ
    if data_type in DAILY_ONLY_TYPES:
        return ("daily",)
    if data_type in MONTHLY_ONLY_TYPES:
        return ("monthly",)
    return ("daily", "monthly")


def _fail(name: str, value: object, expected: str) -> ConfigurationError:
    return ConfigurationError(f"{name}: {value!r} is not valid; expected {expected}")


@dataclass(frozen=True, kw_only=True)
class VisionFile:
    """One archive file: ``market``, ``data_type``, ``symbol``, ``date`` (any day of the month
    for monthly files; stored as the 1st), ``frequency`` and, for kline types, ``interval``.

    Invalid combinations raise :class:`ConfigurationError` naming the field."""

    market: str
    data_type: str
    symbol: str
    date: dt.date
    frequency: Frequency = "daily"
    interval: str | None = None

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise _fail("market", self.market, f"one of {', '.join(MARKETS)}")
        if self.frequency not in ("daily", "monthly"):
            raise _fail("frequency", self.frequency, "'daily' or 'monthly'")
        if self.data_type not in DATA_TYPES[self.market]:
            allowed = ", ".join(sorted(DATA_TYPES[self.market]))
            raise _fail("data_type", self.data_type, f"for {self.market} one of {allowed}")
        if self.frequency not in frequencies(self.market, self.data_type):
            only = frequencies(self.market, self.data_type)[0]
            raise _fail(
                "frequency", self.frequency, f"{only!r} ({self.data_type} is published {only} only)"
            )
        symbol = str(self.symbol).upper()
        if not _SYMBOL.match(symbol):
            raise _fail("symbol", self.symbol, "letters, digits, '_' or '-' (e.g. BTCUSDT)")
        if self.market == "futures/cm" and self.data_type == "indexPriceKlines" and "_" in symbol:
            pair = symbol.split("_", 1)[0]
            raise _fail(
                "symbol", self.symbol,
                f"the pair {pair!r}: COIN-M index price klines are published per pair, "
                "not per contract",
            )  # fmt: skip
        object.__setattr__(self, "symbol", symbol)
        self._check_interval()
        object.__setattr__(self, "date", self._normalise_date(self.date))

    def _check_interval(self) -> None:
        if not self.is_kline:
            if self.interval is not None:
                raise _fail("interval", self.interval, f"None for data_type {self.data_type}")
            return
        if self.interval not in INTERVALS:
            raise _fail("interval", self.interval, f"one of {', '.join(INTERVALS)}")
        if self.interval in _SPOT_ONLY_INTERVALS and self.market != "spot":
            raise _fail("interval", self.interval, "an interval other than 1s (1s is spot only)")
        if self.interval in MONTHLY_ONLY_INTERVALS and self.frequency != "monthly":
            raise _fail(
                "interval", self.interval, "frequency='monthly' (3d/1w/1mo are monthly only)"
            )

    def _normalise_date(self, value: object) -> dt.date:
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            raise _fail("date", value, "a datetime.date")
        return value.replace(day=1) if self.frequency == "monthly" else value

    # -- naming -------------------------------------------------------------------------------

    @property
    def is_kline(self) -> bool:
        """True for klines and mark/index/premium index klines (their path has an interval)."""
        return self.data_type in KLINE_DATA_TYPES

    @property
    def directory(self) -> str:
        """The folder of this file, relative to the base URL, ending in ``/``."""
        parts = ["data", self.market, self.frequency, self.data_type, self.symbol]
        if self.interval:
            parts.append(self.interval)
        return "/".join(parts) + "/"

    @property
    def stem(self) -> str:
        """The file name without ``.zip``, e.g. ``BTCUSDT-1m-2024-01-31``."""
        when = self.date.strftime("%Y-%m-%d" if self.frequency == "daily" else "%Y-%m")
        kind = self.interval if self.is_kline else self.data_type
        return f"{self.symbol}-{kind}-{when}"

    @property
    def filename(self) -> str:
        """The zip's file name, e.g. ``BTCUSDT-1m-2024-01-31.zip``."""
        return self.stem + ".zip"

    @property
    def checksum_filename(self) -> str:
        """The companion checksum file name (``<filename>.CHECKSUM``)."""
        return self.filename + ".CHECKSUM"

    @property
    def path(self) -> str:
        """The zip's path relative to the base URL, starting with ``data/`` (not encoded: a
        non-ASCII symbol stays as it is, for local file names)."""
        return self.directory + self.filename

    def url(self, base: str = DEFAULT_BASE_URL) -> str:
        """The zip's absolute URL under ``base`` (a mirror or a local test server); the path
        is percent-encoded (non-ASCII symbols)."""
        return _join(base, quote(self.path, safe="/"))

    def checksum_url(self, base: str = DEFAULT_BASE_URL) -> str:
        """The ``.CHECKSUM`` file's absolute URL under ``base``."""
        return _join(base, quote(self.path + ".CHECKSUM", safe="/"))

    @property
    def series_end(self) -> dt.date | None:
        """The last day this series was published, for series that stopped (else None)."""
        return SERIES_END.get((self.market, self.data_type))

    # -- coverage -----------------------------------------------------------------------------

    @property
    def first_day(self) -> dt.date:
        """The first day the file covers."""
        return self.date

    @property
    def last_day(self) -> dt.date:
        """The last day the file covers (inclusive)."""
        if self.frequency == "daily":
            return self.date
        return self.date.replace(day=calendar.monthrange(self.date.year, self.date.month)[1])

    def days(self) -> list[dt.date]:
        """Every day the file covers, in order."""
        return list(_days(self.first_day, self.last_day))

    def daily_files(self) -> list[VisionFile]:
        """The daily files covering the same days (a fallback while a monthly file is not
        yet published). Raises for monthly-only intervals and types."""
        return [self.with_date(d, frequency="daily") for d in self.days()]

    def with_date(self, day: dt.date, *, frequency: Frequency | None = None) -> VisionFile:
        """The same kind of file for another ``day`` (and optionally another frequency)."""
        return VisionFile(
            market=self.market,
            data_type=self.data_type,
            symbol=self.symbol,
            date=day,
            frequency=frequency or self.frequency,
            interval=self.interval,
        )

    @classmethod
    def from_path(cls, path: str) -> VisionFile:
        """Parse an archive path or URL (``.../data/spot/daily/klines/BTCUSDT/1m/...zip``)."""
        return _parse_path(path)


def _join(base: str, path: str) -> str:
    if not base.startswith(("http://", "https://")):
        raise _fail("base", base, "an http:// or https:// URL")
    return base.rstrip("/") + "/" + path


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


_PATH = re.compile(
    r"data/(?P<market>spot|futures/um|futures/cm|option)/(?P<freq>daily|monthly)/"
    r"(?P<type>[A-Za-z]+)/(?P<symbol>[^/]+)/(?:(?P<interval>[0-9a-z]+)/)?"
    r"(?P<file>[^/]+)-(?P<kind>[A-Za-z0-9]+)-(?P<date>\d{4}-\d{2}(?:-\d{2})?)\.zip"
    r"(?:\.CHECKSUM)?$"
)


def _parse_path(path: str) -> VisionFile:
    text_path = unquote(urlsplit(path).path if "://" in path else path)
    match = _PATH.search(text_path)
    if not match:
        raise _fail("path", path, "a Binance Vision archive path (data/<market>/...zip)")
    freq = match["freq"]
    contradiction = _contradiction(match)
    if contradiction:
        raise _fail("path", path, f"a file name that agrees with its folder ({contradiction})")
    text = match["date"] + ("-01" if freq == "monthly" else "")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise _fail("path", path, "a valid date in the file name") from None
    return VisionFile(
        market=match["market"],
        data_type=match["type"],
        symbol=match["symbol"],
        date=day,
        frequency=freq,  # type: ignore[arg-type]
        interval=match["interval"],
    )


def _contradiction(match: re.Match[str]) -> str | None:
    """Why the file name disagrees with its folders, or None."""
    if match["file"] != match["symbol"]:
        return f"symbol {match['file']!r} in the name, {match['symbol']!r} in the folder"
    is_kline = match["type"] in KLINE_DATA_TYPES
    if is_kline and match["interval"] is None:
        return f"{match['type']} files sit in an interval folder"
    wanted = match["interval"] if is_kline else match["type"]
    if match["kind"] != wanted:
        return f"{match['kind']!r} in the name, {wanted!r} in the folder"
    daily = len(match["date"]) == 10
    if daily != (match["freq"] == "daily"):
        shape = "YYYY-MM-DD" if match["freq"] == "daily" else "YYYY-MM"
        return f"{match['freq']} files are dated {shape}, not {match['date']}"
    return None


# -- range planning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RangePlan:
    """The files covering a range: ``files`` in date order (monthly files where whole months
    are asked for) and ``not_yet_published``: requested days from ``today`` on, which the
    archive cannot have yet (daily files appear the next day)."""

    files: tuple[VisionFile, ...]
    not_yet_published: tuple[dt.date, ...] = field(default=())
    #: Requested days after the series stopped (see :data:`SERIES_END`): never published.
    after_series_end: tuple[dt.date, ...] = field(default=())

    @property
    def days(self) -> list[dt.date]:
        """Every day covered by ``files``."""
        return [d for f in self.files for d in f.days()]


def plan_range(
    start: dt.date,
    end: dt.date,
    *,
    market: str,
    data_type: str,
    symbol: str,
    interval: str | None = None,
    today: dt.date | None = None,
    prefer_monthly: bool = True,
) -> RangePlan:
    """Plan the files for the days ``start`` to ``end`` inclusive.

    A calendar month that lies wholly inside the range and ended before ``today`` (default:
    the current UTC date) is one monthly file; other days are daily files. Days from ``today``
    on are left out and listed in ``not_yet_published``. Monthly-only intervals (3d, 1w, 1mo)
    and types (fundingRate) get the monthly file of every month touched, so the rows may
    extend past the range (use :meth:`VisionFrame.between`); daily-only types (bookDepth,
    metrics, liquidationSnapshot, options) get daily files only. Days after a stopped series'
    last day are listed in ``after_series_end``."""
    if start > end:
        raise ConfigurationError(f"start: {start} is after end {end}")
    today = today or datetime.now(timezone.utc).date()
    monthly_only = interval in MONTHLY_ONLY_INTERVALS or data_type in MONTHLY_ONLY_TYPES
    template = VisionFile(
        market=market,
        data_type=data_type,
        symbol=symbol,
        date=start,
        frequency="monthly" if monthly_only else "daily",
        interval=interval,
    )
    ended: tuple[dt.date, ...] = ()
    stop = template.series_end
    if stop is not None and end > stop:
        ended = tuple(_days(max(start, stop + timedelta(days=1)), end))
        if start > stop:
            return RangePlan((), (), ended)
        end = stop
    if monthly_only:
        plan = _monthly_touched(template, start, end, today)
        return RangePlan(plan.files, plan.not_yet_published, ended)
    last = min(end, today - timedelta(days=1))
    pending = tuple(_days(max(start, today), end))
    monthly = prefer_monthly and "monthly" in frequencies(market, data_type)
    return RangePlan(tuple(_mixed(template, start, last, today, monthly)), pending, ended)


def _monthly_touched(
    template: VisionFile, start: dt.date, end: dt.date, today: dt.date
) -> RangePlan:
    files: list[VisionFile] = []
    pending: list[dt.date] = []
    month = template.with_date(start)
    while month.first_day <= end:
        if month.last_day < today:
            files.append(month)
        else:
            pending.extend(d for d in month.days() if start <= d <= end)
        month = month.with_date(month.last_day + timedelta(days=1))
    return RangePlan(tuple(files), tuple(pending))


def _mixed(
    template: VisionFile, start: dt.date, last: dt.date, today: dt.date, prefer_monthly: bool
) -> Iterator[VisionFile]:
    day = start
    while day <= last:
        if prefer_monthly and day.day == 1:
            month = template.with_date(day, frequency="monthly")
            if month.last_day <= last and month.last_day < today:
                yield month
                day = month.last_day + timedelta(days=1)
                continue
        yield template.with_date(day)
        day += timedelta(days=1)

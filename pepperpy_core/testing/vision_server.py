"""A local Binance Vision archive for tests: generated files in the real layout, with
``.CHECKSUM`` companions, served over HTTP on 127.0.0.1 with an S3-style listing.

    root = tmp_path / "vision"
    sample = build_sample_archive(root)
    async with VisionArchiveServer(root) as server:
        url = sample.spot_ms[0].url(server.base_url)       # a real file
        listing = listing_url("data/spot/", base=server.listing_url)

Files are served with ``Content-Length`` and (unless ``range_requests=False``) ``Range``
support; absent files answer 404 like the real archive. ``server.requests`` records every
request path; ``server.override(path, ...)`` makes the next request(s) answer differently.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Literal
from xml.sax.saxutils import escape

from aiohttp import web

from pepperpy_core.testing.server import LocalServer
from pepperpy_core.vision.checksum import sha256_bytes
from pepperpy_core.vision.paths import VisionFile

__all__ = [
    "SampleArchive",
    "VisionArchiveServer",
    "agg_trades_csv",
    "build_sample_archive",
    "kline_csv",
    "make_zip",
    "sample_csv",
    "sample_symbol",
    "trades_csv",
    "write_archive_file",
    "write_sample_file",
]

TimeUnit = Literal["ms", "us"]
_UNIT = {"ms": 1_000, "us": 1_000_000}
_HOUR = timedelta(hours=1)
_KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore"
)


def _stamp(moment: datetime, unit: TimeUnit) -> int:
    """``moment`` (UTC) as an integer count of ``unit`` since the epoch."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (moment - epoch) // timedelta(microseconds=1) * _UNIT[unit] // 1_000_000


def kline_csv(
    start: datetime,
    rows: int,
    *,
    interval: timedelta = timedelta(minutes=1),
    unit: TimeUnit = "ms",
    header: bool = False,
) -> bytes:
    """Deterministic kline rows from ``start`` (UTC), one per ``interval``; times in ``unit``.
    Row ``i`` has open ``100 + i/100``, ``number_of_trades`` ``i + 1``."""
    step = _stamp(start + interval, unit) - _stamp(start, unit)
    first = _stamp(start, unit)
    lines = [_KLINE_HEADER] if header else []
    for i in range(rows):
        t = first + i * step
        o = 100 + i / 100
        lines.append(
            f"{t},{o:.8f},{o + 1:.8f},{o - 1:.8f},{o + 0.5:.8f},{1.5:.8f},{t + step - 1},"
            f"{150 + i:.8f},{i + 1},{0.75:.8f},{75 + i / 2:.8f},0"
        )
    return ("\n".join(lines) + "\n").encode()


def _bools(style: str) -> tuple[str, str]:
    return ("True", "False") if style == "True" else ("true", "false")


def agg_trades_csv(
    start: datetime,
    rows: int,
    *,
    unit: TimeUnit = "ms",
    best_match: bool = True,
    bool_style: Literal["True", "true"] = "True",
    header: bool = False,
) -> bytes:
    """Aggregated trades one second apart; ``is_buyer_maker`` alternates (row 0 true).
    ``best_match=False`` drops the spot-only ``is_best_match`` column (futures layout)."""
    yes, no = _bools(bool_style)
    names = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
    lines = [names + (",is_best_match" if best_match else "")] if header else []
    first = _stamp(start, unit)
    for i in range(rows):
        row = f"{1000 + i},{20000 + i / 10:.2f},{0.001 * (i + 1):.5f},{2000 + 2 * i},{2001 + 2 * i}"
        row += f",{first + i * _UNIT[unit]},{yes if i % 2 == 0 else no}"
        lines.append(row + (f",{yes}" if best_match else ""))
    return ("\n".join(lines) + "\n").encode()


def trades_csv(
    start: datetime,
    rows: int,
    *,
    unit: TimeUnit = "ms",
    layout: Literal["spot", "futures/um", "futures/cm"] = "spot",
    bool_style: Literal["True", "true"] = "True",
    header: bool = False,
) -> bytes:
    """Trades one second apart in the ``layout`` of that market (COIN-M has ``base_qty``, only
    spot has ``is_best_match``); ``is_buyer_maker`` alternates (row 0 false)."""
    yes, no = _bools(bool_style)
    third = "base_qty" if layout == "futures/cm" else "quote_qty"
    spot = layout == "spot"
    names = f"id,price,qty,{third},time,is_buyer_maker" + (",is_best_match" if spot else "")
    lines = [names] if header else []
    first = _stamp(start, unit)
    for i in range(rows):
        price, qty = 30000 + i, 0.01 * (i + 1)
        row = f"{5000 + i},{price:.2f},{qty:.4f},{price * qty:.6f},{first + i * _UNIT[unit]}"
        row += f",{no if i % 2 == 0 else yes}"
        lines.append(row + (f",{yes}" if spot else ""))
    return ("\n".join(lines) + "\n").encode()


def sample_csv(
    market: str,
    data_type: str,
    start: datetime,
    rows: int,
    *,
    step: timedelta = timedelta(minutes=1),
    unit: TimeUnit = "ms",
    header: bool = False,
    bool_style: Literal["True", "true"] | None = None,
    empty_every: int = 3,
) -> bytes:
    """Rows in the real column layout of any ``market``/``data_type`` (see
    :data:`~pepperpy_core.vision.columns.SCHEMAS`), one per ``step`` from ``start``: epoch
    times in ``unit``, text times as the archive writes them, ``int`` columns ``i + 1``,
    floats ``100 + i/100`` (nullable ones empty on every ``empty_every``-th row), booleans
    alternating in ``bool_style`` (default: ``True`` for spot, ``true`` elsewhere), text
    columns ``BUY``/``SELL``. Kline types delegate to :func:`kline_csv`."""
    from pepperpy_core.vision.columns import KLINE_DATA_TYPES, schema_for

    if data_type in KLINE_DATA_TYPES:
        return kline_csv(start, rows, interval=step, unit=unit, header=header)
    schema = schema_for(market, data_type)
    yes, no = _bools(bool_style or ("True" if market == "spot" else "true"))
    lines = [",".join(schema.names)] if header else []
    for i in range(rows):
        moment = start + i * step
        fields = []
        for c in schema.columns:
            if c.nullable and empty_every and i % empty_every == empty_every - 1:
                fields.append("")
            elif c.kind == "time":
                fields.append(str(_stamp(moment, unit)))
            elif c.kind == "text_time":
                fmt = "%Y-%m-%d" if c.name == "date" else "%Y-%m-%d %H:%M:%S"
                fields.append(moment.strftime(fmt))
            elif c.kind == "int":
                fields.append(str(i + 1))
            elif c.kind == "float":
                fields.append(f"{100 + i / 100:.8f}")
            elif c.kind == "bool":
                fields.append(yes if i % 2 == 0 else no)
            else:
                fields.append("BUY" if i % 2 == 0 else "SELL")
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


def make_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deflated zip holding ``members`` (name, content) - names are written verbatim."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buffer.getvalue()


def write_archive_file(
    root: Path,
    spec: VisionFile,
    csv_bytes: bytes,
    *,
    member_name: str | None = None,
    checksum: Literal["good", "wrong", "none"] = "good",
    truncate: bool = False,
    trailing_newline: bool = True,
) -> Path:
    """Write ``spec``'s zip (holding ``csv_bytes`` as ``member_name``, default
    ``<stem>.csv``) and its ``.CHECKSUM`` under ``root`` in the archive layout. ``truncate``
    cuts the zip in half after hashing (so the checksum names the intact file)."""
    body = make_zip([(member_name or spec.stem + ".csv", csv_bytes)])
    target = root / spec.path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = sha256_bytes(body) if checksum == "good" else "0" * 64
    target.write_bytes(body[: len(body) // 2] if truncate else body)
    if checksum != "none":
        line = f"{digest}  {spec.filename}" + ("\n" if trailing_newline else "")
        (root / (spec.path + ".CHECKSUM")).write_text(line)
    return target


def sample_symbol(market: str, data_type: str) -> str:
    """A symbol the archive publishes ``market``/``data_type`` under: ``BTCUSDT``, the
    ``BTCUSD_PERP`` contract on COIN-M (the ``BTCUSD`` pair for its index price klines) and
    ``BTCBVOLUSDT`` for the options' volatility index."""
    if market == "option":
        return "BTCBVOLUSDT" if data_type == "BVOLIndex" else "BTCUSDT"
    if market == "futures/cm":
        return "BTCUSD" if data_type == "indexPriceKlines" else "BTCUSD_PERP"
    return "BTCUSDT"


def write_sample_file(
    root: Path,
    spec: VisionFile,
    *,
    step: timedelta | None = None,
    unit: TimeUnit = "ms",
    header: bool | None = None,
) -> tuple[Path, int]:
    """Write ``spec`` (any market, type and frequency) with :func:`sample_csv` rows every
    ``step`` from the file's first day over its days (default: the kline interval - 3d and 1w
    counted from that day, 1mo one row - else one hour), and its
    ``.CHECKSUM``. Futures and options files get a header row unless ``header=False``; spot
    files none. Returns the zip's path and the number of rows written."""
    from pepperpy_core.vision.paths import INTERVAL_LENGTH

    days = spec.last_day - spec.first_day + timedelta(days=1)
    if step is None:
        lengths = {**INTERVAL_LENGTH, "3d": timedelta(days=3), "1w": timedelta(weeks=1)}
        step = days if spec.interval == "1mo" else lengths.get(spec.interval or "", _HOUR)
    span = days // step
    start = _midnight(spec.first_day)
    with_header = spec.market != "spot" if header is None else header
    csv = sample_csv(
        spec.market, spec.data_type, start, span, step=step, unit=unit, header=with_header
    )
    return write_archive_file(root, spec, csv), span


@dataclass
class SampleArchive:
    """The files :func:`build_sample_archive` wrote, by case (each a :class:`VisionFile`)."""

    spot_ms: list[VisionFile] = field(default_factory=list)
    spot_us: list[VisionFile] = field(default_factory=list)
    spot_monthly: VisionFile | None = None
    futures_header: VisionFile | None = None
    futures_no_header: VisionFile | None = None
    agg_trades: dict[str, VisionFile] = field(default_factory=dict)
    trades: dict[str, VisionFile] = field(default_factory=dict)
    missing: VisionFile | None = None
    wrong_checksum: VisionFile | None = None
    traversal: VisionFile | None = None
    truncated: VisionFile | None = None


def _kline(market: str, day: date, frequency: Literal["daily", "monthly"] = "daily") -> VisionFile:
    symbol = "BTCUSDT"
    return VisionFile(
        market=market, data_type="klines", symbol=symbol, interval="1m", date=day,
        frequency=frequency,
    )  # fmt: skip


def _trade_spec(market: str, data_type: str, day: date) -> VisionFile:
    symbol = "BTCUSD_PERP" if market == "futures/cm" else "BTCUSDT"
    return VisionFile(market=market, data_type=data_type, symbol=symbol, date=day)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def build_sample_archive(root: Path, *, trade_rows: int = 200) -> SampleArchive:
    """Write every sample case (see this module's docstring) under ``root`` and describe them.

    Spot BTCUSDT 1m klines: 2023-01-01/02 in ms (1440 rows each), 2023-01-03 missing (404),
    2023-01-04 wrong checksum, 2023-01-05 a ``../`` member, 2023-01-06 truncated zip, month
    2023-02 as a monthly file (ms), 2025-01-01/02 in µs. USD-M klines 2024-01-01 with a header
    row and 2021-06-01 without. aggTrades and trades (2024-01-01) for spot (``True``), USD-M
    and COIN-M (``true``, header row), plus spot trades on 2025-01-01 in µs."""
    s = SampleArchive()
    for day in (date(2023, 1, 1), date(2023, 1, 2)):
        s.spot_ms.append(_kline("spot", day))
        write_archive_file(root, s.spot_ms[-1], kline_csv(_midnight(day), 1440))
    s.missing = _kline("spot", date(2023, 1, 3))
    _write_faults(root, s)
    s.spot_monthly = _kline("spot", date(2023, 2, 1), "monthly")
    write_archive_file(root, s.spot_monthly, kline_csv(_midnight(date(2023, 2, 1)), 28 * 1440))
    for day in (date(2025, 1, 1), date(2025, 1, 2)):
        s.spot_us.append(_kline("spot", day))
        write_archive_file(root, s.spot_us[-1], kline_csv(_midnight(day), 1440, unit="us"))
    s.futures_header = _kline("futures/um", date(2024, 1, 1))
    csv = kline_csv(_midnight(date(2024, 1, 1)), 1440, header=True)
    write_archive_file(root, s.futures_header, csv)
    s.futures_no_header = _kline("futures/um", date(2021, 6, 1))
    write_archive_file(root, s.futures_no_header, kline_csv(_midnight(date(2021, 6, 1)), 1440))
    _write_trades(root, s, trade_rows)
    return s


def _write_faults(root: Path, s: SampleArchive) -> None:
    rows = kline_csv(_midnight(date(2023, 1, 4)), 1440)
    s.wrong_checksum = _kline("spot", date(2023, 1, 4))
    write_archive_file(root, s.wrong_checksum, rows, checksum="wrong")
    s.traversal = _kline("spot", date(2023, 1, 5))
    write_archive_file(root, s.traversal, rows, member_name="../../evil.csv")
    s.truncated = _kline("spot", date(2023, 1, 6))
    write_archive_file(root, s.truncated, rows, truncate=True, trailing_newline=False)


def _write_trades(root: Path, s: SampleArchive, n: int) -> None:
    day = date(2024, 1, 1)
    t0 = _midnight(day)
    s.agg_trades["spot"] = _trade_spec("spot", "aggTrades", day)
    write_archive_file(root, s.agg_trades["spot"], agg_trades_csv(t0, n))
    for market in ("futures/um", "futures/cm"):
        s.agg_trades[market] = _trade_spec(market, "aggTrades", day)
        csv = agg_trades_csv(t0, n, best_match=False, bool_style="true", header=True)
        write_archive_file(root, s.agg_trades[market], csv)
    s.trades["spot"] = _trade_spec("spot", "trades", day)
    write_archive_file(root, s.trades["spot"], trades_csv(t0, n))
    for market in ("futures/um", "futures/cm"):
        s.trades[market] = _trade_spec(market, "trades", day)
        csv = trades_csv(t0, n, layout=market, bool_style="true", header=True)  # type: ignore[arg-type]
        write_archive_file(root, s.trades[market], csv)
    s.trades["spot-us"] = _trade_spec("spot", "trades", date(2025, 1, 1))
    write_archive_file(
        root, s.trades["spot-us"], trades_csv(_midnight(date(2025, 1, 1)), n, unit="us")
    )


# -- the server -------------------------------------------------------------------------------


@dataclass
class _Override:
    status: int
    body: bytes
    times: int


class VisionArchiveServer:
    """Serves ``root`` (a tree in the archive layout) on 127.0.0.1 at an ephemeral port.

    ``base_url`` is the archive base (files at ``{base_url}/data/...``); ``listing_url`` is
    the S3-style listing (``?prefix=&delimiter=/&marker=``), ``page_size`` keys per page.
    ``next_marker=False`` omits ``NextMarker`` (clients must continue after the last key)."""

    def __init__(
        self,
        root: Path,
        *,
        page_size: int = 1000,
        next_marker: bool = True,
        range_requests: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.page_size = page_size
        self.next_marker = next_marker
        self.range_requests = range_requests
        self.requests: list[str] = []
        self._overrides: dict[str, _Override] = {}
        app = web.Application()
        app.router.add_get("/", self._listing)  # S3 lists at the bucket root: /?prefix=...
        app.router.add_get("/listing", self._listing)
        app.router.add_get("/data/{tail:.*}", self._file)
        self._server = LocalServer(app)

    @property
    def base_url(self) -> str:
        """The archive base URL (pass as ``base=`` to :meth:`VisionFile.url`)."""
        return self._server.base_url

    @property
    def listing_url(self) -> str:
        """The listing endpoint (pass as ``base=`` to ``listing_url()``); the bucket root, as
        on S3, so a manager pointed at ``base_url`` lists here by itself."""
        return self._server.url("/")

    def override(self, path: str, *, status: int = 200, body: bytes = b"", times: int = 1) -> None:
        """Answer the next ``times`` requests for ``path`` (relative, ``data/...``) with
        ``status`` and ``body`` instead of the file (e.g. a corrupt zip, then the real one)."""
        self._overrides[path.lstrip("/")] = _Override(status, body, times)

    def count(self, path: str) -> int:
        """How many requests ``path`` (relative, ``data/...``) received."""
        return self.requests.count(path.lstrip("/"))

    async def __aenter__(self) -> VisionArchiveServer:
        await self._server.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._server.stop()

    async def _file(self, request: web.Request) -> web.StreamResponse:
        rel = request.path.lstrip("/")
        self.requests.append(rel)
        special = self._overrides.get(rel)
        if special is not None and special.times > 0:
            special.times -= 1
            return web.Response(status=special.status, body=special.body)
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return web.Response(status=404, text="<Error><Code>NoSuchKey</Code></Error>")
        if self.range_requests or rel.endswith(".CHECKSUM"):
            return web.FileResponse(target)  # ETag, Last-Modified, 304 and Range
        return web.Response(body=target.read_bytes(), content_type="application/octet-stream")

    def _keys(self) -> list[str]:
        base = self.root
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())

    async def _listing(self, request: web.Request) -> web.Response:
        self.requests.append("?" + request.query_string)  # listing pages, recorded as "?..."
        prefix = request.query.get("prefix", "")
        delimiter = request.query.get("delimiter", "")
        marker = request.query.get("marker", "")
        limit = min(int(request.query.get("max-keys", self.page_size)), self.page_size)
        items: list[tuple[str, bool]] = []  # (key or common prefix, is_prefix)
        for key in self._keys():
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                folder = prefix + rest.split(delimiter, 1)[0] + delimiter
                if not items or items[-1][0] != folder:
                    items.append((folder, True))
            else:
                items.append((key, False))
        items = [item for item in items if item[0] > marker]
        page, truncated = items[:limit], len(items) > limit
        xml = self._listing_xml(prefix, marker, page, truncated)
        return web.Response(body=xml.encode(), content_type="application/xml")

    def _listing_xml(
        self, prefix: str, marker: str, page: list[tuple[str, bool]], truncated: bool
    ) -> str:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            f"<Name>data.binance.vision</Name><Prefix>{escape(prefix)}</Prefix>",
            f"<Marker>{escape(marker)}</Marker><MaxKeys>{self.page_size}</MaxKeys>",
            "<Delimiter>/</Delimiter>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        ]
        if truncated and self.next_marker and page:
            parts.append(f"<NextMarker>{escape(page[-1][0])}</NextMarker>")
        for name, is_prefix in page:
            if is_prefix:
                parts.append(f"<CommonPrefixes><Prefix>{escape(name)}</Prefix></CommonPrefixes>")
            else:
                size = (self.root / name).stat().st_size
                parts.append(
                    f"<Contents><Key>{escape(name)}</Key>"
                    f"<LastModified>2024-01-02T03:04:05.000Z</LastModified>"
                    f'<ETag>"0"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass>'
                    "</Contents>"
                )
        parts.append("</ListBucketResult>")
        return "".join(parts)

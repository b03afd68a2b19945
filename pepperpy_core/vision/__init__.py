"""Binance Vision (data.binance.vision): archive paths, range plans, checksums, safe zips and
fast typed parsing. This package is pure (no network I/O); downloading is built on top.

    spec = VisionFile(market="spot", data_type="klines", symbol="BTCUSDT",
                      interval="1m", date=date(2024, 1, 1))
    spec.url()            # https://data.binance.vision/data/spot/daily/klines/BTCUSDT/1m/...
    frame = read_archive(zip_path, spec)   # VisionFrame: Arrow columns (the vision extra)

``import pepperpy_core.vision`` needs neither numpy nor pyarrow; parsing needs the ``vision``
extra (pyarrow, polars, numpy).
"""

from pepperpy_core.vision.archive import (
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_SIZE,
    check_member_name,
    check_member_size,
    csv_member,
    read_single_csv,
    safe_extract,
)
from pepperpy_core.vision.checksum import (
    parse_checksum,
    sha256_bytes,
    sha256_file,
    verify_checksum,
)
from pepperpy_core.vision.columns import KLINE_DATA_TYPES, SCHEMAS, Column, Schema, schema_for
from pepperpy_core.vision.frame import TIME_UNIT, VisionFrame, concat
from pepperpy_core.vision.listing import (
    DEFAULT_LISTING_URL,
    ListingEntry,
    ListingPage,
    listing_prefix,
    listing_url,
    parse_listing,
)
from pepperpy_core.vision.models import AggTrade, Kline, Trade
from pepperpy_core.vision.parse import available_engine, parse_csv, read_archive
from pepperpy_core.vision.paths import (
    DAILY_ONLY_TYPES,
    DATA_TYPES,
    DEFAULT_BASE_URL,
    INTERVAL_LENGTH,
    INTERVALS,
    MARKETS,
    MONTHLY_ONLY_INTERVALS,
    MONTHLY_ONLY_TYPES,
    SERIES_END,
    RangePlan,
    VisionFile,
    frequencies,
    plan_range,
)
from pepperpy_core.vision.quality import (
    Disagreement,
    FileQuality,
    QualityReport,
    check_file,
    compare_monthly_daily,
    drop_duplicates,
)

__all__ = [
    "DAILY_ONLY_TYPES",
    "DATA_TYPES",
    "DEFAULT_BASE_URL",
    "DEFAULT_LISTING_URL",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_SIZE",
    "INTERVALS",
    "INTERVAL_LENGTH",
    "KLINE_DATA_TYPES",
    "MARKETS",
    "MONTHLY_ONLY_INTERVALS",
    "MONTHLY_ONLY_TYPES",
    "SCHEMAS",
    "SERIES_END",
    "TIME_UNIT",
    "AggTrade",
    "Column",
    "Disagreement",
    "FileQuality",
    "Kline",
    "ListingEntry",
    "ListingPage",
    "QualityReport",
    "RangePlan",
    "Schema",
    "Trade",
    "VisionFile",
    "VisionFrame",
    "available_engine",
    "check_file",
    "check_member_name",
    "check_member_size",
    "compare_monthly_daily",
    "concat",
    "csv_member",
    "drop_duplicates",
    "frequencies",
    "listing_prefix",
    "listing_url",
    "parse_checksum",
    "parse_csv",
    "parse_listing",
    "plan_range",
    "read_archive",
    "read_single_csv",
    "safe_extract",
    "schema_for",
    "sha256_bytes",
    "sha256_file",
    "verify_checksum",
]

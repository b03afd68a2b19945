"""The archive's S3 bucket listing (what exists), as URLs to fetch and XML to parse.

The listing is S3's ``ListObjects`` (v1): ``?delimiter=/&prefix=data/.../`` returns up to 1000
``Contents`` (files) and ``CommonPrefixes`` (sub-folders) per page; when ``IsTruncated`` is
true, the next page is fetched with ``marker=`` set to ``NextMarker`` (or, when absent, the last
key or prefix of the page). Fetching is the caller's job; this module is pure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from pepperpy_core.exceptions import VisionError

__all__ = [
    "DEFAULT_LISTING_URL",
    "ListingEntry",
    "ListingPage",
    "listing_prefix",
    "listing_url",
    "parse_listing",
]

#: The S3 endpoint that lists data.binance.vision.
DEFAULT_LISTING_URL = "https://s3-ap-northeast-1.amazonaws.com/data.binance.vision"


def listing_prefix(
    market: str,
    data_type: str | None = None,
    symbol: str | None = None,
    *,
    frequency: str = "daily",
    interval: str | None = None,
) -> str:
    """The folder prefix to list, e.g. ``data/spot/daily/klines/BTCUSDT/1m/``; stop early
    (no ``symbol``) to list symbols, or no ``data_type`` to list data types."""
    parts = ["data", market, frequency]
    for part in (data_type, symbol and symbol.upper(), interval):
        if not part:
            break
        parts.append(part)
    return "/".join(parts) + "/"


def listing_url(
    prefix: str,
    *,
    base: str = DEFAULT_LISTING_URL,
    marker: str | None = None,
    delimiter: str = "/",
    max_keys: int | None = None,
) -> str:
    """The URL of one listing page under ``base`` (``marker``: continue after that key)."""
    query: dict[str, str] = {"delimiter": delimiter, "prefix": prefix}
    if marker:
        query["marker"] = marker
    if max_keys is not None:
        query["max-keys"] = str(max_keys)
    return f"{base.rstrip('/')}?{urlencode(query, safe='/')}"


@dataclass(frozen=True)
class ListingEntry:
    """One listed object: ``key`` (path in the bucket), ``size`` in bytes, ``last_modified``
    (UTC, ``None`` if absent)."""

    key: str
    size: int
    last_modified: datetime | None = None

    @property
    def name(self) -> str:
        """The last path segment (the file name)."""
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ListingPage:
    """One parsed listing page."""

    prefix: str
    entries: tuple[ListingEntry, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_marker: str | None

    @property
    def continue_after(self) -> str | None:
        """The ``marker`` for the next page, or ``None`` when this page is the last."""
        if not self.is_truncated:
            return None
        if self.next_marker:
            return self.next_marker
        candidates = [e.key for e in self.entries] + list(self.common_prefixes)
        if not candidates:
            raise VisionError("listing page is truncated but names no key to continue after")
        return max(candidates)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def _entry(element: ET.Element) -> ListingEntry:
    key = _child_text(element, "Key") or ""
    stamp = _child_text(element, "LastModified")
    modified = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    return ListingEntry(key, int(_child_text(element, "Size") or 0), modified)


def parse_listing(body: bytes | str) -> ListingPage:
    """Parse one S3 ``ListBucketResult`` XML page (with or without the S3 namespace)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise VisionError(f"listing is not valid XML: {exc}") from None
    if _local(root.tag) != "ListBucketResult":
        raise VisionError(f"listing root is {_local(root.tag)!r}, expected 'ListBucketResult'")
    try:
        entries = tuple(_entry(e) for e in root if _local(e.tag) == "Contents")
    except ValueError as exc:
        raise VisionError(f"listing has a bad Size or LastModified: {exc}") from None
    prefixes = tuple(
        _child_text(e, "Prefix") or "" for e in root if _local(e.tag) == "CommonPrefixes"
    )
    truncated = (_child_text(root, "IsTruncated") or "false").strip().lower() == "true"
    return ListingPage(
        prefix=_child_text(root, "Prefix") or "",
        entries=entries,
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_marker=_child_text(root, "NextMarker") or None,
    )

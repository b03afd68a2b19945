"""S3 listing URLs and ListBucketResult parsing (pure, no server)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pepperpy_core.exceptions import VisionError
from pepperpy_core.vision import listing_prefix, listing_url, parse_listing

REAL_STYLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>data.binance.vision</Name><Prefix>data/spot/daily/klines/BTCUSDT/1m/</Prefix>
<Marker></Marker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
<Contents><Key>data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2017-08-17.zip</Key>
<LastModified>2022-11-03T01:18:06.000Z</LastModified><ETag>"x"</ETag><Size>45012</Size>
<StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2017-08-17.zip.CHECKSUM</Key>
<LastModified>2022-11-03T01:18:06.000Z</LastModified><ETag>"y"</ETag><Size>105</Size>
<StorageClass>STANDARD</StorageClass></Contents>
</ListBucketResult>"""


def test_listing_url_and_prefix() -> None:
    """The URL carries delimiter, prefix (slashes kept) and marker; prefixes stop early."""
    prefix = listing_prefix("spot", "klines", "btcusdt", interval="1m")
    assert prefix == "data/spot/daily/klines/BTCUSDT/1m/"
    assert listing_url(prefix) == (
        "https://s3-ap-northeast-1.amazonaws.com/data.binance.vision"
        "?delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/1m/"
    )
    url = listing_url("data/", base="http://127.0.0.1:1/listing", marker="a b", max_keys=5)
    assert url == "http://127.0.0.1:1/listing?delimiter=/&prefix=data/&marker=a+b&max-keys=5"
    assert listing_prefix("futures/um", frequency="monthly") == "data/futures/um/monthly/"


def test_parse_real_style_page_continues_after_last_key() -> None:
    """A namespaced truncated page without NextMarker continues after its last key."""
    page = parse_listing(REAL_STYLE)
    assert page.prefix == "data/spot/daily/klines/BTCUSDT/1m/"
    assert [e.size for e in page.entries] == [45012, 105]
    assert page.entries[0].name == "BTCUSDT-1m-2017-08-17.zip"
    assert page.entries[0].last_modified == datetime(2022, 11, 3, 1, 18, 6, tzinfo=timezone.utc)
    assert page.is_truncated and page.next_marker is None
    assert page.continue_after == page.entries[1].key


def test_parse_plain_page_with_prefixes_and_next_marker() -> None:
    """Without namespace: common prefixes parsed, NextMarker preferred, last page stops."""
    body = (
        "<ListBucketResult><Prefix>data/</Prefix><IsTruncated>true</IsTruncated>"
        "<NextMarker>data/spot/</NextMarker><CommonPrefixes><Prefix>data/option/</Prefix>"
        "</CommonPrefixes><CommonPrefixes><Prefix>data/spot/</Prefix></CommonPrefixes>"
        "</ListBucketResult>"
    )
    page = parse_listing(body)
    assert page.common_prefixes == ("data/option/", "data/spot/")
    assert page.continue_after == "data/spot/"
    last = parse_listing("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
    assert last.continue_after is None and last.entries == ()


@pytest.mark.parametrize(
    "body",
    [b"<oops", b"<Error><Code>AccessDenied</Code></Error>",
     b"<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>",
     b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"],
)  # fmt: skip
def test_bad_listings_raise(body: bytes) -> None:
    """Invalid XML, an S3 error document, a bad size, or truncation with no key raise."""
    with pytest.raises(VisionError):
        parse_listing(body).continue_after  # noqa: B018

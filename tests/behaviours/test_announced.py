"""read_announced: the quotas a server announces in its headers, read by one pure function
that runs on every response of a rate-limited client."""

from __future__ import annotations

import time

import pytest
from multidict import CIMultiDict

from pepperpy_core.behaviours.rate_limit.announced import Announced, read_announced


def test_no_rate_limit_headers_announce_nothing() -> None:
    """The usual answer: nothing announced."""
    headers = CIMultiDict({"Content-Type": "application/json", "Content-Length": "27"})
    assert read_announced(headers) == []


@pytest.mark.parametrize("prefix", ["X-RateLimit-", "RateLimit-"])
def test_remaining_limit_reset_families(prefix: str) -> None:
    """Both spellings of remaining/limit/reset, case-insensitively."""
    headers = CIMultiDict({f"{prefix}Remaining": "7", f"{prefix}Limit": "100",
                           f"{prefix}Reset": "21"})
    assert read_announced(headers) == [Announced(remaining=7, limit=100, reset=21.0)]


def test_a_unix_time_reset_is_read_as_seconds_from_now() -> None:
    """GitHub sends the reset as a point in time."""
    headers = CIMultiDict({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset":
                           str(int(time.time()) + 30)})
    (fact,) = read_announced(headers)
    assert fact.remaining == 0 and fact.reset is not None and 25 <= fact.reset <= 31


def test_ietf_fields_with_their_policy() -> None:
    """The IETF draft's ``RateLimit`` and ``RateLimit-Policy``."""
    headers = CIMultiDict({"RateLimit": '"minute";r=7;t=21',
                           "RateLimit-Policy": '"minute";q=100;w=60'})
    assert read_announced(headers) == [Announced(remaining=7, limit=100, window=60.0, reset=21.0)]


def test_binance_used_weight() -> None:
    """``X-MBX-USED-WEIGHT-1M``: weight used in the current minute, reset within 60 s."""
    (fact,) = read_announced(CIMultiDict({"X-MBX-USED-WEIGHT-1M": "1180"}))
    assert (fact.used, fact.window) == (1180, 60.0)
    assert fact.reset is not None and 0 < fact.reset <= 60


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", ""])
def test_malformed_values_are_skipped_not_fatal(value: str) -> None:
    """A header that is not a non-negative number announces nothing (never an error)."""
    headers = CIMultiDict({"X-RateLimit-Remaining": value, "X-MBX-USED-WEIGHT-1M": value})
    assert read_announced(headers) == []

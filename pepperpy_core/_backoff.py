"""Backoff and Retry-After arithmetic shared by the HTTP retry layer, WebSocket reconnects and
downloads. Pure functions: no clock, no sleeping."""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

__all__ = ["full_jitter", "parse_retry_after"]


def full_jitter(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: bool = True,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)``
    capped at ``cap``, and with full jitter a uniform draw in ``[0, that)`` (AWS's recipe, which
    spreads synchronized clients apart)."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(ceiling * random()) if jitter else float(ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP-date; None if absent or
    unparseable. A date in the past gives 0."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = now or datetime.now(timezone.utc)
        return max(0.0, (when - current).total_seconds())
    if seconds != seconds or seconds < 0:  # NaN or negative: ignore the header
        return None
    return seconds

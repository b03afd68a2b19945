"""Limits the server announces in its answers, read into :class:`Announced` facts (pure: no
I/O, no state).

Read by :func:`read_announced`, the default ``RateLimit(from_headers=...)``:

- IETF ``RateLimit-Policy`` / ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers):
  ``RateLimit-Policy: "minute";q=100;w=60`` and ``RateLimit: "minute";r=7;t=21``;
- ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (the draft's earlier form) and the common
  ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (a reset above 10^9 is read as a Unix
  time, as GitHub sends it);
- Binance's ``X-MBX-USED-WEIGHT-1M``: weight used in the current calendar minute.

Another API: pass ``from_headers=`` a function ``headers -> list[Announced]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Announced", "HeaderReader", "read_announced"]


@dataclass(frozen=True)
class Announced:
    """What one answer says about one quota. Every field is optional:

    - ``remaining``: units still allowed; ``used``: units already spent;
    - ``limit``: the quota's size; ``window``: its length in seconds;
    - ``reset``: seconds from now until the spent units are given back.

    The limiter matches it to its own rate with the same ``window`` (or, with no window, the
    same ``limit``, or its only rate), then counts at least ``used`` (or ``max_requests -
    remaining``) as spent. ``remaining == 0`` with a ``reset`` pauses the key until then.
    """

    remaining: int | None = None
    used: int | None = None
    limit: int | None = None
    window: float | None = None
    reset: float | None = None


HeaderReader = Callable[[Mapping[str, str]], Sequence[Announced]]

_UNIX_TIME = 1e9  # a "reset" larger than this is a point in time, not a number of seconds


#: The two "remaining / limit / reset" header families, spelled out once.
_FAMILIES = (
    ("x-ratelimit-remaining", "x-ratelimit-limit", "x-ratelimit-reset"),
    ("ratelimit-remaining", "ratelimit-limit", "ratelimit-reset"),
)


def read_announced(headers: Mapping[str, str]) -> list[Announced]:
    """Every quota the headers of one answer announce. Usually none: then it costs four
    lookups and nothing else (it runs on every response of a rate-limited client)."""
    found: list[Announced] = []
    get = headers.get
    ietf = get("ratelimit")
    if ietf is not None:
        found.extend(_ietf(ietf, get("ratelimit-policy")))
    for remaining_name, limit_name, reset_name in _FAMILIES:
        text = get(remaining_name)
        if text is not None and (remaining := _int(text)) is not None:
            found.append(Announced(
                remaining=remaining, limit=_int(get(limit_name)), reset=_reset(get(reset_name)),
            ))
    text = get("x-mbx-used-weight-1m")
    if text is not None and (used := _int(text)) is not None:
        # Binance counts per calendar minute of its clock (we trust ours)
        found.append(Announced(used=used, window=60.0, reset=60.0 - time.time() % 60.0))
    return found


def _ietf(fields: str, policies: str | None) -> list[Announced]:
    quota: dict[str, dict[str, str]] = {}
    for name, params in _items(policies or ""):
        quota[name] = params
    found = []
    for name, params in _items(fields):
        policy = quota.get(name, {})
        remaining = _int(params.get("r"))
        if remaining is None:
            continue
        window = _float(policy.get("w"))
        found.append(Announced(
            remaining=remaining, limit=_int(policy.get("q")), window=window,
            reset=_float(params.get("t")),
        ))
    return found


def _items(value: str) -> list[tuple[str, dict[str, str]]]:
    """A Structured-Fields list of ``name;key=value;...`` items, read leniently (a malformed
    item is skipped rather than failing the response)."""
    items = []
    for item in value.split(","):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        params = {}
        for part in parts[1:]:
            key, _, val = part.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        items.append((parts[0].strip('"'), params))
    return items


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None


def _reset(value: str | None) -> float | None:
    seconds = _float(value)
    if seconds is not None and seconds > _UNIX_TIME:
        seconds = max(0.0, seconds - time.time())
    return seconds


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

import string
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
    if ietf is None and get("x-ratelimit-remaining") is None and (
        get("ratelimit-remaining") is None and get("x-mbx-used-weight-1m") is None
    ):
        return found  # the usual answer: nothing announced
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


# --------------------------------------------------------------------------- the IETF fields

_REQUESTS = "requests"  # the quota unit the limiter counts (the draft's default ``qu``)


def _ietf(field: str, policy_field: str | None) -> list[Announced]:
    """``RateLimit`` with its ``RateLimit-Policy``, in the draft's current form (a list of named
    items: ``"name";r=..;t=..`` and ``"name";q=..;w=..``) or its -07 form (a dictionary
    ``limit=.., remaining=.., reset=..`` with policies ``quota;w=..``)."""
    items = _sf_list(field)
    policies = _sf_list(policy_field or "")
    if items and all(isinstance(value, tuple) for value, _ in items):
        return _ietf_dictionary(items, policies)
    by_name = {value: params for value, params in policies if isinstance(value, str)}
    found = []
    for value, params in items:
        remaining = _number(params.get("r"))
        if remaining is None:
            continue
        policy = by_name.get(value, {}) if isinstance(value, str) else {}
        reset = _number(params.get("t"))
        if policy.get("qu", _REQUESTS) != _REQUESTS:
            # another unit (bytes, concurrent requests): only "none left" is ours to follow
            if remaining == 0 and reset:
                found.append(Announced(remaining=0, reset=reset))
            continue
        quota = _number(policy.get("q"))
        found.append(Announced(
            remaining=int(remaining), limit=None if quota is None else int(quota),
            window=_number(policy.get("w")), reset=reset,
        ))
    return found


def _ietf_dictionary(items: list[_Item], policies: list[_Item]) -> list[Announced]:
    members: dict[object, float | None] = {}
    for value, _ in items:
        if isinstance(value, tuple):
            members[value[0]] = _number(value[1])
    remaining = members.get("remaining")
    if remaining is None:
        return []
    limit = members.get("limit")
    window = next((_number(params.get("w")) for quota, params in policies
                   if limit is not None and quota == limit), None)
    return [Announced(remaining=int(remaining), limit=None if limit is None else int(limit),
                      window=window, reset=members.get("reset"))]


# A Structured Fields list (RFC 9651), read leniently: a member that does not parse is skipped
# (up to the next comma) rather than failing the answer. Items are (bare value, parameters);
# an inner list is kept as a Python list of its values.
# A dictionary member (``name=value``, the draft-07 form) comes through as a (name, value) pair.
_Item = tuple[object, dict[str, object]]
_TOKEN_START = frozenset(string.ascii_letters + "*")
_TCHAR = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_KEY_START = frozenset(string.ascii_lowercase + "*")
_KEY_CHAR = _KEY_START | frozenset(string.digits + "_-.")


class _Malformed(ValueError):
    pass


def _sf_list(text: str) -> list[_Item]:
    """The members of a Structured Fields list, each ``(value, {param: value})``."""
    items: list[_Item] = []
    pos, end = 0, len(text)
    while pos < end:
        pos = _skip(text, pos, " \t")
        if pos >= end:
            break
        try:
            item, pos = _member(text, pos)
            pos = _skip(text, pos, " \t")
            if pos < end and text[pos] != ",":
                raise _Malformed
            items.append(item)
        except _Malformed:
            pos = _next_comma(text, pos)
        pos += 1  # past the comma
    return items


def _member(text: str, pos: int) -> tuple[_Item, int]:
    if text[pos] == "(":
        values: list[object] = []
        pos += 1
        while True:
            pos = _skip(text, pos, " ")
            if pos >= len(text):
                raise _Malformed
            if text[pos] == ")":
                pos += 1
                break
            (value, _), pos = _item(text, pos)
            values.append(value)
        params, pos = _params(text, pos)
        return (values, params), pos
    value, pos = _bare(text, pos)
    if isinstance(value, str) and text[pos:pos + 1] == "=":  # a dictionary member
        inner, pos = _bare(text, pos + 1)
        value = (value, inner)
    params, pos = _params(text, pos)
    return (value, params), pos


def _item(text: str, pos: int) -> tuple[_Item, int]:
    value, pos = _bare(text, pos)
    params, pos = _params(text, pos)
    return (value, params), pos


def _params(text: str, pos: int) -> tuple[dict[str, object], int]:
    params: dict[str, object] = {}
    while _skip(text, pos, " ") < len(text) and text[_skip(text, pos, " ")] == ";":
        pos = _skip(text, pos, " ")  # (lenient: RFC 9651 allows no space before ";")
        pos = _skip(text, pos + 1, " ")
        start = pos
        if pos >= len(text) or text[pos] not in _KEY_START:
            raise _Malformed
        while pos < len(text) and text[pos] in _KEY_CHAR:
            pos += 1
        key = text[start:pos]
        value: object = True
        if pos < len(text) and text[pos] == "=":
            value, pos = _bare(text, pos + 1)
        params[key] = value
    return params, pos


def _bare(text: str, pos: int) -> tuple[object, int]:
    if pos >= len(text):
        raise _Malformed
    char = text[pos]
    if char == '"':
        return _string(text, pos + 1)
    if char == "-" or char.isdigit():
        return _numeric(text, pos)
    if char == ":":
        close = text.find(":", pos + 1)
        if close < 0:
            raise _Malformed
        return text[pos + 1:close].encode(), close + 1
    if char == "?" and text[pos + 1:pos + 2] in ("0", "1"):
        return text[pos + 1] == "1", pos + 2
    if char in _TOKEN_START:
        start = pos
        while pos < len(text) and text[pos] in _TCHAR:
            pos += 1
        return text[start:pos], pos
    raise _Malformed


def _string(text: str, pos: int) -> tuple[str, int]:
    out = []
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            if text[pos + 1:pos + 2] not in ('"', "\\"):
                raise _Malformed
            out.append(text[pos + 1])
            pos += 2
        elif char == '"':
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise _Malformed


def _numeric(text: str, pos: int) -> tuple[int | float, int]:
    start = pos
    if text[pos] == "-":
        pos += 1
    while pos < len(text) and (text[pos].isdigit() or text[pos] == "."):
        pos += 1
    raw = text[start:pos]
    try:
        return (float(raw) if "." in raw else int(raw)), pos
    except ValueError:
        raise _Malformed from None


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _next_comma(text: str, pos: int) -> int:
    """The next comma outside a string (or the end)."""
    quoted = False
    while pos < len(text):
        char = text[pos]
        if quoted and char == "\\":
            pos += 1
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return pos
        pos += 1
    return pos


# --------------------------------------------------------------------------- numbers


def _number(value: object) -> float | None:
    """A non-negative finite number from a parsed value or header text, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if 0 <= number < float("inf") else None


def _int(value: str | None) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _reset(value: str | None) -> float | None:
    seconds = _number(value)
    if seconds is not None and seconds > _UNIX_TIME:
        seconds = max(0.0, seconds - time.time())
    return seconds

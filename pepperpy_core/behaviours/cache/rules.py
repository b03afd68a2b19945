"""RFC 9111 rules as pure functions: ``Cache-Control`` parsing, delta-seconds and HTTP dates,
the cache key, which headers are stored, and how long a response stays fresh. No I/O, no state.

Header fields that may repeat (``Cache-Control``, ``Vary``, ``Connection``) are read as one
list: every line joined with commas, as RFC 9110 section 5.3 says a recipient may combine them.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from multidict import MultiMapping, istr

from pepperpy_core.http.models import Request

if TYPE_CHECKING:
    from pepperpy_core.behaviours.cache.policy import CachePolicy

__all__ = [
    "CACHEABLE_STATUSES",
    "ERROR_STATUSES",
    "HEURISTIC_STATUSES",
    "byte_range",
    "cache_key",
    "parse_cache_control",
    "parse_http_date",
]

#: Statuses a cache may store and give a heuristic lifetime without explicit freshness
#: (RFC 9110 section 15.1), less 206 (this cache does not combine ranges).
HEURISTIC_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
#: Kept for callers of the earlier name: the heuristically cacheable statuses.
CACHEABLE_STATUSES = HEURISTIC_STATUSES
#: Statuses for which a stale entry with ``stale-if-error`` is served instead.
ERROR_STATUSES = frozenset({500, 502, 503, 504})
#: Never stored (RFC 9110 section 7.6.1 and RFC 9111 section 3.1), nor ``Age`` (recomputed).
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "te", "transfer-encoding", "upgrade", "proxy-connection",
    "proxy-authenticate", "proxy-authentication-info", "proxy-authorization", "trailer", "age",
})
#: Methods that do not change the resource (RFC 9110 section 9.2.1); any other invalidates.
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: The largest delta-seconds kept (RFC 9111 section 1.2.2): 2^31.
_MAX_DELTA = 2_147_483_648
#: A heuristic lifetime is this share of the time since ``Last-Modified`` (RFC 9111 4.2.2).
HEURISTIC_FRACTION = 0.1
# Case-insensitive names made once: a lookup with them skips lower-casing the name each time.
_CACHE_CONTROL = istr("Cache-Control")
_AUTHORIZATION = istr("Authorization")
_VARY = istr("Vary")
_ETAG = istr("ETag")
_LAST_MODIFIED = istr("Last-Modified")
_EXPIRES = istr("Expires")
_AGE = istr("Age")
_DATE = istr("Date")
_PRAGMA = istr("Pragma")
_IF_NONE_MATCH = istr("If-None-Match")
_IF_MODIFIED_SINCE = istr("If-Modified-Since")
_RANGE_HEADER = istr("Range")
_NO_DIRECTIVES: Mapping[str, str | None] = MappingProxyType({})

# One directive: a token name, then optionally "=" and a token or a quoted string.
_DIRECTIVE = re.compile(
    r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*"
    r'(?:=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?\s*(?:,|$)'
)


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """``Cache-Control`` directives, names lower-cased (``{"max-age": "60", "no-cache": None}``).

    Commas inside a quoted argument do not split (``private="a, b"``); a directive given twice
    keeps its first value (RFC 9111 section 4.2.1). Pass every line joined with ", "."""
    directives: dict[str, str | None] = {}
    if not value:
        return directives
    position, end = 0, len(value)
    while position < end:
        match = _DIRECTIVE.match(value, position)
        if match is None or match.end() == position:
            cut = value.find(",", position)  # unparseable: skip to the next member
            if cut < 0:
                break
            position = cut + 1
            continue
        position = match.end()
        name, arg = match.group(1).lower(), match.group(2)
        if arg is not None and arg.startswith('"'):
            arg = re.sub(r"\\(.)", r"\1", arg[1:-1])
        directives.setdefault(name, arg)
    return directives


def delta_seconds(value: str | None) -> int | None:
    """A delta-seconds value (digits only, capped at 2^31), or None when it is not one."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        return None
    return min(int(value), _MAX_DELTA)


def first_member(value: str | None) -> str | None:
    """The first member of a comma-separated header value (``Age: 7200, 0`` is 7200)."""
    if value is None:
        return None
    return value.split(",", 1)[0].strip()


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d.lower() for d in calendar.day_abbr}
_LONG_DAYS = {d.lower() for d in calendar.day_name}
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
_IMF = re.compile(r"([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) " + _TIME + r" (GMT)", re.I)
_RFC850 = re.compile(r"([A-Za-z]{6,9}), (\d{2})-([A-Za-z]{3})-(\d{2}) " + _TIME + " (GMT)", re.I)
_ASCTIME = re.compile(r"([A-Za-z]{3}) ([A-Za-z]{3}) ([ \d]\d) " + _TIME + r" (\d{4})")


def parse_http_date(value: str | None, *, now: float | None = None) -> float | None:
    """An HTTP-date (RFC 9110 section 5.6.7) as a POSIX timestamp, or None when invalid.

    Accepts IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) and the two obsolete forms, RFC 850
    (``Sunday, 06-Nov-94 08:49:37 GMT``; a two-digit year more than 50 years ahead is taken in
    the past century) and asctime (``Sun Nov  6 08:49:37 1994``). Names are matched ignoring
    case; any zone but GMT, a two-digit year in IMF-fixdate, a wrong separator, doubled spaces
    or several lines joined make it invalid."""
    if not value:
        return None
    text = value.strip()
    if match := _IMF.fullmatch(text):
        day_name, day, month, year, hh, mm, ss, _ = match.groups()
        if day_name.lower() not in _DAYS:
            return None
    elif match := _RFC850.fullmatch(text):
        day_name, day, month, year, hh, mm, ss, _ = match.groups()
        if day_name.lower() not in _LONG_DAYS:
            return None
        year = _full_year(int(year), now)
    elif match := _ASCTIME.fullmatch(text):
        day_name, month, day, hh, mm, ss, year = match.groups()
        if day_name.lower() not in _DAYS:
            return None
    else:
        return None
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    try:
        parts = (int(year), number, int(day), int(hh), int(mm), int(ss))
    except ValueError:
        return None
    if not (1 <= parts[2] <= 31 and parts[3] < 24 and parts[4] < 60 and parts[5] <= 60):
        return None
    return float(calendar.timegm((*parts, 0, 0, 0)))


def _full_year(two_digits: int, now: float | None) -> str:
    this_year = time.gmtime(now).tm_year
    year = this_year - this_year % 100 + two_digits
    if year > this_year + 50:
        year -= 100
    return str(year)


def cache_key(request: Request, *, shared: bool = False) -> str:
    """The entry's key: method and URL, plus SHA-256 digests of the ``Authorization`` header
    (private caches only: a shared cache serves an authorised answer that RFC 9111 section
    3.5 lets it store to everyone) and (POST) the body; neither credentials nor bodies are
    ever stored in a key."""
    key = f"{request.method} {request.url}"
    if not shared:
        auth = request.header_view.get(_AUTHORIZATION)
        if auth:
            key += " auth:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    if request.method == "POST":
        body = request.body if isinstance(request.body, bytes) else b""
        key += " body:" + hashlib.sha256(body).hexdigest()
    return key


def _joined(headers: MultiMapping[str], name: str) -> str | None:
    values = headers.getall(name, [])
    if not values:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)


def vary_value(headers: MultiMapping[str], name: str) -> str | None:
    """A request header as ``Vary`` compares it: every line, list members stripped of the
    spaces around them (``" 1, 2 "`` equals ``"1,2"``); None when absent."""
    values = headers.getall(name, None)
    if values is None:
        return None
    return ",".join(m.strip() for line in values for m in line.split(","))


def header_list(headers: MultiMapping[str], name: str) -> list[str]:
    """The members of a list header over all its lines, stripped, empty members dropped."""
    return [m.strip() for line in headers.getall(name, []) for m in line.split(",") if m.strip()]


def response_directives(headers: MultiMapping[str]) -> dict[str, str | None]:
    """A response's ``Cache-Control`` directives, from all its lines."""
    return parse_cache_control(_joined(headers, _CACHE_CONTROL))


def request_directives(headers: MultiMapping[str]) -> Mapping[str, str | None]:
    """A request's ``Cache-Control`` directives over all its lines; ``Pragma: no-cache`` counts
    as ``no-cache`` when there is no ``Cache-Control`` (RFC 9111 section 5.4)."""
    control = headers.get(_CACHE_CONTROL)
    if control is None:  # the common case, in two lookups
        if _PRAGMA in headers and "no-cache" in (
            v.lower() for v in header_list(headers, _PRAGMA)
        ):
            return {"no-cache": None}
        return _NO_DIRECTIVES
    return parse_cache_control(_joined(headers, _CACHE_CONTROL))


_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.I)


def byte_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range ``Range: bytes=a-b`` (or ``a-``, ``-n``) asks of a body of ``size``
    bytes, as (first, last) inclusive; None for several ranges, another unit, or a range this
    body cannot satisfy (the whole answer is then sent, as RFC 9110 section 14.2 allows)."""
    match = _RANGE.fullmatch(value) if value else None
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        return None
    return start, end


def _stored_headers(headers: MultiMapping[str]) -> tuple[tuple[str, str], ...]:
    """The header lines to store: less hop-by-hop fields and those ``Connection`` names."""
    dropped = _HOP_BY_HOP
    named = header_list(headers, "Connection")
    if named:
        dropped = dropped | {n.lower() for n in named}
    return tuple((k, v) for k, v in headers.items() if k.lower() not in dropped)


def _explicit_lifetime(
    headers: MultiMapping[str], directives: Mapping[str, str | None], shared: bool, now: float
) -> float | None:
    """Seconds fresh from the response's own headers (``s-maxage`` in a shared cache, then
    ``max-age``, then ``Expires`` minus ``Date``), or None when they say nothing. An invalid
    value is stale (0), never a reason to fall back on a default."""
    if shared and "s-maxage" in directives:
        s_maxage = delta_seconds(directives["s-maxage"])
        return float(s_maxage) if s_maxage is not None else 0.0
    if "max-age" in directives:
        max_age = delta_seconds(directives["max-age"])
        return float(max_age) if max_age is not None else 0.0
    if _EXPIRES in headers:
        expires = parse_http_date(_joined(headers, _EXPIRES), now=now)
        if expires is None:  # an invalid Expires means "already expired"
            return 0.0
        date = parse_http_date(headers.get(_DATE), now=now)
        return max(0.0, expires - (date if date is not None else now))
    return None


def _lifetime(
    headers: MultiMapping[str], directives: Mapping[str, str | None], status: int,
    policy: CachePolicy, now: float,
) -> float | None:
    """Seconds fresh (RFC 9111 section 4.2.1): explicit headers first; without them, for a
    heuristically cacheable status (or ``public``), ``policy.ttl`` when the response has no
    ``Cache-Control`` at all, else 10 % of the time since ``Last-Modified`` (capped at
    ``policy.heuristic_max``). None when nothing gives a lifetime."""
    if "no-cache" in directives:  # qualified or not: always revalidate
        return 0.0
    explicit = _explicit_lifetime(headers, directives, policy.shared, now)
    if explicit is not None:
        return explicit
    if status not in HEURISTIC_STATUSES and "public" not in directives:
        return None
    if policy.ttl is not None and status in (200, 203) and _CACHE_CONTROL not in headers:
        return policy.ttl
    if policy.heuristic_max:
        modified = parse_http_date(headers.get(_LAST_MODIFIED), now=now)
        if modified is not None:
            date = parse_http_date(headers.get(_DATE), now=now)
            since = (date if date is not None else now) - modified
            if since > 0:
                return min(since * HEURISTIC_FRACTION, policy.heuristic_max)
    return None


def _stale_allowance(directives: Mapping[str, str | None], policy: CachePolicy) -> float | None:
    if _must_revalidate(directives, policy):
        return None
    if "stale-if-error" in directives:
        allowance = delta_seconds(directives["stale-if-error"])
        return float(allowance) if allowance is not None else None
    return policy.stale_if_error


def _must_revalidate(directives: Mapping[str, str | None], policy: CachePolicy) -> bool:
    """Whether a stale entry must never be served without revalidation."""
    if "must-revalidate" in directives:
        return True
    return policy.shared and ("proxy-revalidate" in directives or "s-maxage" in directives)

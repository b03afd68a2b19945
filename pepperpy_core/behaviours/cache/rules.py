"""RFC 9111 rules as pure functions: ``Cache-Control`` parsing, delta-seconds and HTTP dates,
the cache key, which headers are stored, and how long a response stays fresh. No I/O, no state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from multidict import MultiMapping, istr

from pepperpy_core.http.models import Request

if TYPE_CHECKING:
    from pepperpy_core.behaviours.cache.policy import CachePolicy

__all__ = ["CACHEABLE_STATUSES", "ERROR_STATUSES", "cache_key", "parse_cache_control"]

#: Statuses a cache may store without explicit freshness (RFC 9110 §15.1), plus validators.
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
#: Statuses for which a stale entry with ``stale-if-error`` is served instead.
ERROR_STATUSES = frozenset({500, 502, 503, 504})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "age"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Case-insensitive names made once: a lookup with them skips lower-casing the name each time.
_CACHE_CONTROL = istr("Cache-Control")
_AUTHORIZATION = istr("Authorization")
_VARY = istr("Vary")
_ETAG = istr("ETag")
_LAST_MODIFIED = istr("Last-Modified")
_EXPIRES = istr("Expires")
_AGE = istr("Age")
_NO_DIRECTIVES: Mapping[str, str | None] = MappingProxyType({})


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """``Cache-Control`` directives, names lower-cased (``{"max-age": "60", "no-cache": None}``)."""
    directives: dict[str, str | None] = {}
    if not value:
        return directives
    for part in value.split(","):
        name, eq, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"') if eq else None
    return directives


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(int(value))) if value is not None else None
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def cache_key(request: Request) -> str:
    """The entry's key: method and URL, plus SHA-256 digests of the ``Authorization`` header
    and (POST) the body, so neither credentials nor bodies are ever stored in a key."""
    key = f"{request.method} {request.url}"
    auth = request.header_view.get(_AUTHORIZATION)
    if auth:
        key += " auth:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    if request.method == "POST":
        body = request.body if isinstance(request.body, bytes) else b""
        key += " body:" + hashlib.sha256(body).hexdigest()
    return key


def _joined(headers: MultiMapping[str], name: str) -> str | None:
    values = headers.getall(name, [])
    return ", ".join(values) if values else None


def _stored_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP)


def _lifetime(
    headers: Mapping[str, str], directives: Mapping[str, str | None], status: int,
    policy: CachePolicy, now: float,
) -> float | None:
    """Seconds fresh (RFC 9111 §4.2.1), ``ttl`` for a bare 200/203, or None if unknown."""
    if "no-cache" in directives:
        return 0.0
    max_age = _seconds(directives.get("max-age")) if "max-age" in directives else None
    if max_age is not None:
        return max_age
    if _EXPIRES in headers:
        expires = _http_date(headers.get(_EXPIRES))
        if expires is None:  # an invalid Expires means "already expired"
            return 0.0
        date = _http_date(headers.get("date")) or now
        return max(0.0, expires - date)
    if policy.ttl is not None and status in (200, 203):
        return policy.ttl
    return None


def _stale_allowance(directives: Mapping[str, str | None], policy: CachePolicy) -> float | None:
    if "must-revalidate" in directives or "proxy-revalidate" in directives:
        return None
    if "stale-if-error" in directives:
        return _seconds(directives["stale-if-error"])
    return policy.stale_if_error

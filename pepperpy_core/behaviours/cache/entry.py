"""A stored response (:class:`CacheEntry`), how one is made from a response, how a 304
refreshes it, and how a client's own conditional request is judged against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.rules import (
    _AGE,
    _AUTHORIZATION,
    _CACHE_CONTROL,
    _ETAG,
    _EXPIRES,
    _HOP_BY_HOP,
    _LAST_MODIFIED,
    _RANGE_HEADER,
    _VARY,
    HEURISTIC_STATUSES,
    _lifetime,
    _must_revalidate,
    _stale_allowance,
    _stored_headers,
    byte_range,
    delta_seconds,
    first_member,
    header_list,
    parse_http_date,
    response_directives,
    vary_value,
)
from pepperpy_core.http.models import Request, Response

__all__ = ["CacheEntry", "make_entry", "refreshed"]

#: Final statuses RFC 9110 defines: ``must-understand`` lets only these be stored.
_UNDERSTOOD = frozenset({
    200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405,
    406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502,
    503, 504, 505,
})
#: Headers a 304 answer to a client's conditional request carries (RFC 9110 section 15.4.5).
_NOT_MODIFIED_HEADERS = ("cache-control", "content-location", "date", "etag", "expires", "vary",
                         "last-modified")


@dataclass
class CacheEntry:
    """One stored response and what is needed to judge its freshness. Times are wall-clock
    seconds (``time.time()``), so an entry persisted in SQLite stays meaningful after a restart.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    url: str
    reason: str
    stored_at: float
    lifetime: float  # seconds fresh after storing (0: always revalidate)
    initial_age: float = 0.0  # the Age the response already had
    vary: tuple[tuple[str, str | None], ...] = ()
    stale_if_error: float | None = None
    #: Digests of the other ``Vary`` variants stored beside this one (see ``variant_key``).
    variants: tuple[str, ...] = ()
    _proxy: CIMultiDictProxy[str] | None = field(default=None, repr=False, compare=False)
    _directives: dict[str, str | None] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Approximate bytes held (body plus headers)."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200

    @property
    def header_map(self) -> CIMultiDictProxy[str]:
        if self._proxy is None:
            self._proxy = CIMultiDictProxy(CIMultiDict(self.headers))
        return self._proxy

    @property
    def directives(self) -> Mapping[str, str | None]:
        """The stored ``Cache-Control`` directives."""
        if self._directives is None:
            self._directives = response_directives(self.header_map)
        return self._directives

    def age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.initial_age + now - self.stored_at < self.lifetime

    def staleness(self, now: float) -> float:
        """Seconds past expiry (negative while fresh)."""
        return self.age(now) - self.lifetime

    def usable_on_error(self, now: float) -> bool:
        """Whether ``stale-if-error`` lets this entry stand in for a failure now."""
        return self.stale_if_error is not None and self.staleness(now) <= self.stale_if_error

    def revalidate_window(self, policy: CachePolicy) -> float | None:
        """Seconds past expiry ``stale-while-revalidate`` lets it be served while refreshed."""
        if "stale-while-revalidate" not in self.directives or _must_revalidate(
            self.directives, policy
        ):
            return None
        window = delta_seconds(self.directives["stale-while-revalidate"])
        return float(window) if window is not None else None

    def matches(self, request: Request) -> bool:
        """Whether the request's ``Vary`` headers equal those stored."""
        if not self.vary:
            return True
        return all(vary_value(request.header_view, name) == value for name, value in self.vary)

    def validators(self) -> dict[str, str]:
        """Conditional-request headers that revalidate this entry."""
        found: dict[str, str] = {}
        etag = self.header_map.get("etag")
        if etag:
            found["If-None-Match"] = etag
        modified = self.header_map.get("last-modified")
        if modified:
            found["If-Modified-Since"] = modified
        return found

    def not_modified_for(self, request: Request) -> bool | None:
        """For a request carrying its own ``If-None-Match`` / ``If-Modified-Since``: whether
        this (fresh) entry lets the cache answer 304 (RFC 9110 section 13.1); None when the
        request is not conditional."""
        headers = request.header_view
        if request.method not in ("GET", "HEAD") or self.status != 200:
            return None
        if "if-none-match" in headers:
            return _etag_matches(header_list(headers, "If-None-Match"),
                                 self.header_map.get("etag"))
        since_value = headers.get("if-modified-since")
        if since_value is None:
            return None
        since = parse_http_date(since_value)
        if since is None:
            return False
        stamp = parse_http_date(self.header_map.get("last-modified")) or parse_http_date(
            self.header_map.get("date")
        )
        return stamp is not None and stamp <= since

    def to_response(self, request: Request, now: float, how: str) -> Response:
        """A live-looking :class:`Response` for ``request``, tagged ``from_cache``; a 206 with
        the slice asked for when the request has a single byte ``Range`` (and a matching
        ``If-Range``, if any) and this is a stored 200."""
        headers = self.header_map.copy()  # a copy of the parsed headers: cheaper than anew
        resident = now - self.stored_at
        headers["Age"] = str(int(self.initial_age + (resident if resident > 0 else 0.0)))
        status, reason, body = self.status, self.reason, self.body
        if _RANGE_HEADER in request.header_view and status == 200:
            span = self._range_for(request)
            if span is not None:
                first, last = span
                status, reason, body = 206, "Partial Content", body[first:last + 1]
                headers["Content-Range"] = f"bytes {first}-{last}/{len(self.body)}"
                headers.popall("Content-Length", None)
        response = Response._received(
            status, CIMultiDictProxy(headers), self.url, reason, request, None
        )
        response._body = body
        response.metadata = {"from_cache": True, "cache": how, "attempts": 0}
        return response

    def _range_for(self, request: Request) -> tuple[int, int] | None:
        condition = request.header_view.get("if-range")
        if condition is not None:
            condition = condition.strip()
            known = (self.header_map.get("etag"), self.header_map.get("last-modified"))
            if condition.startswith("W/") or condition not in known:
                return None  # If-Range names another version (or a weak tag): the whole answer
        return byte_range(request.header_view.get("range"), len(self.body))

    def to_not_modified(self, request: Request, now: float) -> Response:
        """A 304 for a client's conditional request this entry satisfies, tagged ``hit``."""
        headers: CIMultiDict[str] = CIMultiDict(
            (k, v) for k, v in self.headers if k.lower() in _NOT_MODIFIED_HEADERS
        )
        headers["Age"] = str(int(self.age(now)))
        response = Response._received(
            304, CIMultiDictProxy(headers), self.url, "Not Modified", request, None
        )
        response._body = b""
        response.metadata = {"from_cache": True, "cache": "hit", "attempts": 0}
        return response


def _etag_matches(wanted: list[str], etag: str | None) -> bool:
    """Weak comparison of ``If-None-Match`` members with the stored ``ETag``."""
    if etag is None:
        return "*" in wanted
    opaque = etag.strip().removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == opaque for tag in wanted)


def _storable(
    request: Request, response: Response, directives: Mapping[str, str | None],
    policy: CachePolicy,
) -> bool:
    """Whether RFC 9111 section 3 lets this response be stored at all."""
    status = response.status
    if status < 200 or status in (206, 304) or response.is_streaming:
        return False
    if "must-understand" in directives:
        if status not in _UNDERSTOOD:
            return False
    elif "no-store" in directives:
        return False
    if "*" in header_list(response.headers, _VARY):
        return False
    if policy.shared:
        if "private" in directives:
            return False
        if _AUTHORIZATION in request.header_view and not (
            "public" in directives or "must-revalidate" in directives
            or "s-maxage" in directives
        ):
            return False
    headers = response.headers
    return (
        status in HEURISTIC_STATUSES or "max-age" in directives or "public" in directives
        or (policy.shared and "s-maxage" in directives)
        or (not policy.shared and "private" in directives) or _EXPIRES in headers
    )


def make_entry(
    request: Request, response: Response, policy: CachePolicy, now: float
) -> CacheEntry | None:
    """The entry to store for ``response``, or None when it must not (or cannot) be stored."""
    headers = response.headers
    if (policy.ttl is None or response.status not in (200, 203)) and not (
        _CACHE_CONTROL in headers or _EXPIRES in headers or _LAST_MODIFIED in headers
        or _ETAG in headers
    ):
        return None  # no lifetime and no validator: what most API answers look like
    directives = response_directives(headers)
    if not _storable(request, response, directives, policy):
        return None
    lifetime = _lifetime(headers, directives, response.status, policy, now)
    has_validator = _ETAG in headers or _LAST_MODIFIED in headers
    if lifetime is None or lifetime == 0:
        if not has_validator:
            return None  # nothing says how long it stays fresh, nothing to revalidate it with
        lifetime = 0.0
    vary_names = header_list(headers, _VARY)
    return CacheEntry(
        status=response.status,
        headers=_stored_headers(headers),
        body=response.content,
        url=response.url or request.url,
        reason=response.reason,
        stored_at=now,
        lifetime=lifetime,
        initial_age=_initial_age(headers),
        vary=tuple((name.lower(), vary_value(request.header_view, name)) for name in vary_names),
        stale_if_error=_stale_allowance(directives, policy),
    )


def _initial_age(headers: MultiMapping[str]) -> float:
    """The ``Age`` the response arrived with: the first member of the first line; an invalid
    one is ignored."""
    age = delta_seconds(first_member(headers.get(_AGE)))
    return float(age) if age is not None else 0.0


def refreshed(entry: CacheEntry, response: Response, policy: CachePolicy, now: float) -> CacheEntry:
    """``entry`` updated by a 304: the new headers replace the stored ones (RFC 9111 §4.3.4)."""
    merged = CIMultiDict(entry.headers)
    update = _stored_headers(response.headers)
    for name in {k.lower() for k, _ in update}:
        if name in _HOP_BY_HOP or name in ("content-length", "content-encoding"):
            continue
        merged.popall(name, None)
        for key, value in update:
            if key.lower() == name:
                merged.add(key, value)
    directives = response_directives(merged)
    lifetime = _lifetime(merged, directives, entry.status, policy, now)
    return replace(
        entry, headers=tuple(merged.items()), stored_at=now, lifetime=lifetime or 0.0,
        initial_age=_initial_age(response.headers),
        stale_if_error=_stale_allowance(directives, policy), _proxy=None, _directives=None,
    )

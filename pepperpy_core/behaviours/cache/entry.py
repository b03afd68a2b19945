"""A stored response (:class:`CacheEntry`), how one is made from a response, and how a 304
refreshes it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from multidict import CIMultiDict, CIMultiDictProxy

from pepperpy_core.behaviours.cache.policy import CachePolicy
from pepperpy_core.behaviours.cache.rules import (
    _AGE,
    _CACHE_CONTROL,
    _ETAG,
    _EXPIRES,
    _HOP_BY_HOP,
    _LAST_MODIFIED,
    _VARY,
    CACHEABLE_STATUSES,
    _joined,
    _lifetime,
    _seconds,
    _stale_allowance,
    _stored_headers,
    parse_cache_control,
)
from pepperpy_core.http.models import Request, Response

__all__ = ["CacheEntry", "make_entry", "refreshed"]


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
    _proxy: CIMultiDictProxy[str] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Approximate bytes held (body plus headers)."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200

    @property
    def header_map(self) -> CIMultiDictProxy[str]:
        if self._proxy is None:
            self._proxy = CIMultiDictProxy(CIMultiDict(self.headers))
        return self._proxy

    def age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.initial_age + now - self.stored_at < self.lifetime

    def usable_on_error(self, now: float) -> bool:
        """Whether ``stale-if-error`` lets this entry stand in for a failure now."""
        return self.stale_if_error is not None and (
            self.age(now) - self.lifetime <= self.stale_if_error
        )

    def matches(self, request: Request) -> bool:
        """Whether the request's ``Vary`` headers equal those stored."""
        if not self.vary:
            return True
        return all(_joined(request.header_view, name) == value for name, value in self.vary)

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

    def to_response(self, request: Request, now: float, how: str) -> Response:
        """A live-looking :class:`Response` for ``request``, tagged ``from_cache``."""
        headers = self.header_map.copy()  # a copy of the parsed headers: cheaper than anew
        headers["Age"] = str(int(self.age(now)))
        response = Response._received(
            self.status, CIMultiDictProxy(headers), self.url, self.reason, request, None
        )
        response._body = self.body
        response.metadata = {"from_cache": True, "cache": how, "attempts": 0}
        return response


def make_entry(
    request: Request, response: Response, policy: CachePolicy, now: float
) -> CacheEntry | None:
    """The entry to store for ``response``, or None when it must not (or cannot) be stored."""
    if response.status not in CACHEABLE_STATUSES or response.is_streaming:
        return None
    headers = response.headers
    control = headers.get(_CACHE_CONTROL)
    if control is None and (
        (policy.ttl is None or response.status not in (200, 203))
        and _EXPIRES not in headers and _ETAG not in headers and _LAST_MODIFIED not in headers
    ):
        return None  # nothing says how long it stays fresh, nothing to revalidate it with
    directives = parse_cache_control(control) if control else {}
    if "no-store" in directives:
        return None
    vary = headers.get(_VARY)
    vary_names = [v.strip() for v in vary.split(",") if v.strip()] if vary else []
    if "*" in vary_names:
        return None
    lifetime = _lifetime(headers, directives, response.status, policy, now)
    has_validator = _ETAG in headers or _LAST_MODIFIED in headers
    if lifetime is None or (lifetime == 0 and not has_validator):
        if not has_validator:
            return None
        lifetime = 0.0
    return CacheEntry(
        status=response.status,
        headers=_stored_headers(headers.items()),
        body=response.content,
        url=response.url or request.url,
        reason=response.reason,
        stored_at=now,
        lifetime=lifetime,
        initial_age=_seconds(headers.get(_AGE)) or 0.0,
        vary=tuple((name.lower(), _joined(request.header_view, name)) for name in vary_names),
        stale_if_error=_stale_allowance(directives, policy),
    )


def refreshed(entry: CacheEntry, response: Response, policy: CachePolicy, now: float) -> CacheEntry:
    """``entry`` updated by a 304: the new headers replace the stored ones (RFC 9111 §4.3.4)."""
    merged = CIMultiDict(entry.headers)
    for name in {k.lower() for k in response.headers}:
        if name in _HOP_BY_HOP or name in ("content-length", "content-encoding"):
            continue
        merged.popall(name, None)
        for value in response.headers.getall(name):
            merged.add(name, value)
    directives = parse_cache_control(merged.get("cache-control"))
    lifetime = _lifetime(merged, directives, entry.status, policy, now)
    return replace(
        entry, headers=tuple(merged.items()), stored_at=now, lifetime=lifetime or 0.0,
        initial_age=_seconds(response.headers.get("age")) or 0.0,
        stale_if_error=_stale_allowance(directives, policy), _proxy=None,
    )

"""The cache policy: what is stored, for how long, and which requests it applies to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pepperpy_core.behaviours.cache.rules import _CACHE_CONTROL, parse_cache_control
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.models import Request

__all__ = ["CachePolicy"]


@dataclass(frozen=True)
class CachePolicy:
    """What the cache stores and for how long. Immutable; ``policy.with_(ttl=60)`` copies.

    - ``ttl``: seconds a 200/203 response with no freshness information of its own (no
      ``max-age``, no ``Expires``) stays fresh; ``None``: such responses are only stored when
      they carry a validator (``ETag``/``Last-Modified``), and then always revalidated.
      Explicit headers always win over ``ttl``.
    - ``methods``: methods whose responses are cached (GET and HEAD).
    - ``cache_post``: also cache POST, with a digest of the body in the key (opt-in; also per
      request with ``cache=True``).
    - ``stale_if_error``: seconds past expiry a stored response may stand in for a failed
      request (connection error or 500/502/503/504) when the response itself did not say
      (``stale-if-error=N`` in its ``Cache-Control`` wins); ``None``: only when it says so.
    - ``collapse``: identical concurrent misses share one network request.
    """

    ttl: float | None = None
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    cache_post: bool = False
    stale_if_error: float | None = None
    collapse: bool = True

    def __post_init__(self) -> None:
        if self.ttl is not None and self.ttl < 0:
            raise ConfigurationError(f"CachePolicy.ttl must be >= 0 seconds or None: {self.ttl}")
        if self.stale_if_error is not None and self.stale_if_error < 0:
            raise ConfigurationError("CachePolicy.stale_if_error must be >= 0 seconds or None")
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    def with_(self, **changes: Any) -> CachePolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def applies_to(
        self, request: Request, directives: Mapping[str, str | None] | None = None
    ) -> bool:
        """Whether this request may be answered from, or stored in, the cache
        (``directives``: its ``Cache-Control``, when the caller has parsed it already)."""
        wanted = request.extensions.get("cache") if request.extensions else None
        if wanted is False or request.stream or request.files:
            return False
        if directives is None:
            directives = parse_cache_control(request.header_view.get(_CACHE_CONTROL))
        if "no-store" in directives:
            return False
        if request.method == "POST":
            body_is_bytes = request.body is None or isinstance(request.body, bytes)
            return (self.cache_post or wanted is True) and body_is_bytes
        return request.method in self.methods

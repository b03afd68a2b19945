"""The cache policy: what is stored, for how long, and which requests it applies to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pepperpy_core.behaviours.cache.rules import request_directives
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.models import Request

__all__ = ["CachePolicy"]


@dataclass(frozen=True)
class CachePolicy:
    """What the cache stores and for how long. Immutable; ``policy.with_(ttl=60)`` copies.

    - ``ttl``: a heuristic lifetime, in seconds, for a 200/203 response that carries no
      freshness information at all: no ``Cache-Control`` line (so no ``no-store``,
      ``no-cache``, ``private`` or ``max-age``) and no ``Expires``. A response that carries
      ``Cache-Control`` is never given ``ttl``. ``None``: such responses get RFC 9111's own
      heuristic instead (10 % of the time since ``Last-Modified``) or, without one, are stored
      only when they carry a validator (``ETag``), and then always revalidated.
    - ``heuristic_max``: the cap, in seconds, of that 10 % heuristic (a day); ``None`` turns
      the heuristic off.
    - ``shared``: behave as a shared cache in front of many users (RFC 9111): ``s-maxage``
      wins over ``max-age`` and forbids serving stale, ``private`` answers are not stored, and
      an answer to a request with ``Authorization`` is stored only when it says ``public``,
      ``must-revalidate`` or ``s-maxage`` (and is then served to every user). ``False`` (the
      default): a private cache for one user, keyed by the ``Authorization`` digest too.
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
    shared: bool = False
    heuristic_max: float | None = 86_400.0

    def __post_init__(self) -> None:
        if self.ttl is not None and self.ttl < 0:
            raise ConfigurationError(f"CachePolicy.ttl must be >= 0 seconds or None: {self.ttl}")
        if self.stale_if_error is not None and self.stale_if_error < 0:
            raise ConfigurationError("CachePolicy.stale_if_error must be >= 0 seconds or None")
        if self.heuristic_max is not None and self.heuristic_max < 0:
            raise ConfigurationError("CachePolicy.heuristic_max must be >= 0 seconds or None")
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
            directives = request_directives(request.header_view)
        if "no-store" in directives:
            return False
        if request.method == "POST":
            body_is_bytes = request.body is None or isinstance(request.body, bytes)
            return (self.cache_post or wanted is True) and body_is_bytes
        return request.method in self.methods

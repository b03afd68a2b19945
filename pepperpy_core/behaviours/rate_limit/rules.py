"""The pure rules of the rate limit: :class:`Rate` and the immutable :class:`RateLimit` policy
(several rates, a key, wait or raise, weights). No I/O, no clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from pepperpy_core.behaviours.rate_limit.announced import Announced, HeaderReader, read_announced
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.models import Request

__all__ = ["KeyFunc", "Rate", "RateLimit"]  # Announced: see announced.py

KeyFunc = Callable[[Request], str]


@dataclass(frozen=True)
class Rate:
    """At most ``max_requests`` units of weight in any ``window`` seconds."""

    max_requests: int
    window: float

    def __post_init__(self) -> None:
        if isinstance(self.max_requests, bool) or self.max_requests < 1:
            raise ConfigurationError(f"Rate.max_requests must be >= 1, got {self.max_requests}")
        if self.window <= 0:
            raise ConfigurationError(f"Rate.window must be > 0 seconds, got {self.window}")

    def __str__(self) -> str:
        return f"{self.max_requests}/{self.window:g}s"


@dataclass(frozen=True)
class RateLimit:
    """A client-side rate limit. Immutable; ``limit.with_(per="host")`` makes a changed copy.

    - ``rates``: one or more :class:`Rate` (or ``(max_requests, window)`` pairs), all enforced
      together, e.g. ``[(10, 1.0), (1200, 60.0)]``.
    - ``per``: ``"global"`` (one budget for every request), ``"host"`` (one per scheme+host+port)
      or a function ``request -> key``.
    - ``on_limit``: ``"wait"`` (default) sleeps until a token is free; ``"raise"`` raises
      :class:`~pepperpy_core.RateLimitError` with ``retry_after`` instead.
    - ``max_wait``: seconds one request may wait in total; past it ``RateLimitError`` is raised
      (``None``: no bound).
    - ``pause_statuses``: a response with one of these statuses and a ``Retry-After`` header
      pauses the whole key, for every task sharing the limiter, for that long (capped at
      ``pause_max`` seconds).
    - ``from_headers``: reads the limits the server announces in each answer (IETF
      ``RateLimit``, ``X-RateLimit-*``, Binance's used weight: :func:`read_announced`, the
      default) so the count follows the server's and requests slow down before a 429; a
      function ``headers -> list[Announced]`` for another API, ``None`` to ignore them.
    """

    rates: tuple[Rate, ...]
    per: Literal["global", "host"] | KeyFunc = "global"
    on_limit: Literal["wait", "raise"] = "wait"
    max_wait: float | None = None
    pause_statuses: frozenset[int] = frozenset({429, 503})
    pause_max: float = 300.0
    default_weight: int = field(default=1)
    from_headers: HeaderReader | None = read_announced

    def __post_init__(self) -> None:
        rates = _normalise_rates(self.rates)
        if not rates:
            raise ConfigurationError("RateLimit needs at least one rate")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "pause_statuses", frozenset(self.pause_statuses))
        if self.on_limit not in ("wait", "raise"):
            raise ConfigurationError(f"RateLimit.on_limit must be 'wait' or 'raise', got "
                                     f"{self.on_limit!r}")
        if not (callable(self.per) or self.per in ("global", "host")):
            raise ConfigurationError("RateLimit.per must be 'global', 'host' or a function")
        if self.max_wait is not None and self.max_wait < 0:
            raise ConfigurationError("RateLimit.max_wait must be >= 0 seconds or None")
        self._checked_weight(self.default_weight)
        if self.from_headers is not None and not callable(self.from_headers):
            raise ConfigurationError("RateLimit.from_headers must be a function or None")

    @classmethod
    def of(cls, *rates: Rate | tuple[int, float], **options: Any) -> RateLimit:
        """``RateLimit.of((10, 1.0), (1200, 60.0), per="host")``: several rates at once."""
        return cls(rates=tuple(_as_rate(r) for r in rates), **options)

    @classmethod
    def per_window(cls, max_requests: int, window: float, **options: Any) -> RateLimit:
        """The simplest shape: ``max_requests`` per ``window`` seconds."""
        return cls(rates=(Rate(max_requests, window),), **options)

    def with_(self, **changes: Any) -> RateLimit:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def key_for(self, request: Request) -> str:
        """The budget this request draws from."""
        if callable(self.per):
            return self.per(request)
        if self.per == "global":
            return "*"
        parts = urlsplit(request.url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"

    def weight_of(self, request: Request) -> int:
        """The request's weight (``weight=`` per request, else ``default_weight``)."""
        return self._checked_weight(request.extensions.get("weight", self.default_weight))

    def rate_for(self, announced: Announced) -> Rate | None:
        """The rate of ours an announcement speaks of: the one with its window; with no window,
        the one with its limit, else our only rate; None if none fits."""
        if announced.window is not None:
            return next((r for r in self.rates if abs(r.window - announced.window) < 1e-6), None)
        if announced.limit is not None:
            same = next((r for r in self.rates if r.max_requests == announced.limit), None)
            if same is not None:
                return same
        return self.rates[0] if len(self.rates) == 1 else None

    def _checked_weight(self, weight: Any) -> int:
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ConfigurationError(f"weight must be an int >= 1, got {weight!r}")
        too_heavy = [r for r in self.rates if weight > r.max_requests]
        if too_heavy:
            raise ConfigurationError(
                f"weight {weight} can never pass the rate {too_heavy[0]} (max_requests too low)"
            )
        return weight


def _normalise_rates(value: Any) -> tuple[Rate, ...]:
    """A Rate, one ``(max_requests, window)`` pair, or an iterable of either."""
    if isinstance(value, Rate):
        return (value,)
    items = tuple(value)
    if len(items) == 2 and all(isinstance(x, (int, float)) for x in items):
        return (_as_rate(items),)
    return tuple(_as_rate(x) for x in items)


def _as_rate(value: Any) -> Rate:
    if isinstance(value, Rate):
        return value
    max_requests, window = value
    return Rate(int(max_requests), float(window))


"""The rate limit on a client class: :class:`RateLimitMixin` and the ready-made
:class:`RateLimitedClient`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from typing_extensions import Unpack

from pepperpy_core.behaviours._mixin import TimedMixin
from pepperpy_core.behaviours.options import RateLimitedClientForwards
from pepperpy_core.behaviours.rate_limit.layer import RateLimitMiddleware
from pepperpy_core.behaviours.rate_limit.rules import RateLimit
from pepperpy_core.behaviours.rate_limit.store import RateLimitStore
from pepperpy_core.config import check_number
from pepperpy_core.http.chain import Middleware
from pepperpy_core.http.client import HttpClient

__all__ = ["RateLimitMixin", "RateLimitedClient"]


class RateLimitMixin(TimedMixin):
    """Adds a rate-limit layer to a client class.

    ``rate_limit=`` (a :class:`RateLimit`, or a list of them for e.g. per-host plus global)
    overrides the class attribute ``rate_limit``; ``rate_limit_store=`` shares counts between
    clients (default: a fresh in-memory store per client).
    """

    rate_limit: RateLimit | Sequence[RateLimit] | None = None

    def __init__(
        self,
        *args: Any,
        rate_limit: RateLimit | Sequence[RateLimit] | None = None,
        rate_limit_store: RateLimitStore | None = None,
        **kwargs: Any,
    ) -> None:
        if rate_limit is not None:
            self.rate_limit = rate_limit
        self._rate_limit_store = rate_limit_store
        super().__init__(*args, **kwargs)

    def _default_layers(self) -> list[Middleware]:
        limits = self.rate_limit
        if limits is None:
            return super()._default_layers()
        store = self._rate_limit_store
        layers: list[Middleware] = [
            RateLimitMiddleware(
                limit, store=store, clock=self._clock_or(time.monotonic),
                sleep=self._sleep_or_default(),
            )
            for limit in ([limits] if isinstance(limits, RateLimit) else limits)
        ]
        return [*super()._default_layers(), *layers]


# --------------------------------------------------------------------------- the ready-made class


class RateLimitedClient(RateLimitMixin, HttpClient):
    """``RateLimitedClient(max_requests=100, window=60.0)``: an HttpClient that sends at most
    ``max_requests`` per ``window`` seconds. It waits for a free slot by default;
    ``raise_on_limit=True`` raises ``RateLimitError`` instead. Every other keyword is
    :class:`HttpClient`'s."""

    def __init__(
        self,
        max_requests: int = 100,
        window: float = 60.0,
        *,
        raise_on_limit: bool = False,
        max_wait: float | None = None,
        per: Literal["global", "host"] = "global",
        rate_limit: RateLimit | Sequence[RateLimit] | None = None,
        rate_limit_store: RateLimitStore | None = None,
        **kwargs: Unpack[RateLimitedClientForwards],
    ) -> None:
        owner = type(self).__name__
        check_number(owner, "max_requests", max_requests, wanted="an int", integer=True)
        check_number(owner, "window", window, wanted="a number of seconds")
        self.max_requests = max_requests
        self.window = window
        super().__init__(
            rate_limit=rate_limit or RateLimit.per_window(
                max_requests, window, on_limit="raise" if raise_on_limit else "wait",
                max_wait=max_wait, per=per,
            ),
            rate_limit_store=rate_limit_store, **kwargs,
        )

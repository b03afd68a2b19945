"""The ready-made :class:`RateLimitedClient`: an HttpClient with a rate-limit layer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Literal, cast

from typing_extensions import Unpack

from pepperpy_core._signature import given_beyond_defaults
from pepperpy_core.behaviours.options import RateLimitedClientForwards
from pepperpy_core.behaviours.rate_limit.layer import RateLimitMiddleware
from pepperpy_core.behaviours.rate_limit.rules import RateLimit
from pepperpy_core.behaviours.rate_limit.store import RateLimitStore
from pepperpy_core.config import ClientOptions, check_number
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.http.chain import Middleware
from pepperpy_core.http.client import HttpClient

__all__ = ["RateLimitedClient"]


class RateLimitedClient(HttpClient):
    """``RateLimitedClient(max_requests=100, window=60.0)``: an HttpClient that sends at most
    ``max_requests`` per ``window`` seconds. It waits for a free slot by default (at most
    ``max_wait`` seconds, None: as long as it takes); ``raise_on_limit=True`` raises
    ``RateLimitError`` instead. ``per="host"`` counts each host apart.

    ``rate_limit=`` (a :class:`RateLimit`, or a list of them for e.g. per-host plus global)
    replaces all of those; ``rate_limit_store=`` shares counts between clients (default: a
    fresh in-memory store per client). Every other keyword is :class:`HttpClient`'s, or that
    of another ready-made class it is combined with (``class Api(CachedClient,
    RateLimitedClient)``).

    A subclass may set the class attribute ``rate_limit`` in place of ``max_requests``,
    ``window`` and the rest; ``rate_limit=`` still replaces it per instance.
    """

    #: The limits of every instance of a subclass; None (the default): one built from
    #: ``max_requests`` and ``window``. On an instance: the limits in force.
    rate_limit: RateLimit | Sequence[RateLimit] | None = None

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
        if rate_limit is None:
            rate_limit = type(self).rate_limit
            given = {"max_requests": max_requests, "window": window,
                     "raise_on_limit": raise_on_limit, "max_wait": max_wait, "per": per}
            if rate_limit is not None and given_beyond_defaults(
                RateLimitedClient.__init__, given
            ):
                raise ConfigurationError(
                    f"{owner}(max_requests=..., window=...): {owner} sets the class attribute "
                    f"rate_limit; pass rate_limit=RateLimit.of(...) to replace it"
                )
        self._set_up_rate_limit(rate_limit or RateLimit.per_window(
            max_requests, window, on_limit="raise" if raise_on_limit else "wait",
            max_wait=max_wait, per=per,
        ), rate_limit_store)
        # The next class may be another ready-made one, which takes its own keywords.
        super().__init__(**cast("ClientOptions", kwargs))

    def _set_up_rate_limit(
        self, limits: RateLimit | Sequence[RateLimit] | None, store: RateLimitStore | None
    ) -> None:
        """Keep what :meth:`_default_layers` builds the layers from (``limits`` None: none)."""
        self.rate_limit = limits
        self._rate_limit_store = store

    def _default_layers(self) -> list[Middleware]:
        layers = super()._default_layers()
        limits = self.rate_limit
        if limits is None:
            return layers
        clock = self._behaviour_clock or time.monotonic
        sleep = self._behaviour_sleep or asyncio.sleep
        return [*layers, *(
            RateLimitMiddleware(limit, store=self._rate_limit_store, clock=clock, sleep=sleep)
            for limit in ([limits] if isinstance(limits, RateLimit) else limits)
        )]

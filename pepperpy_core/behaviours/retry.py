"""``RetryMixin``: a client class's own default retry policy. The policy and the layer live in
:mod:`pepperpy_core.http.retry` (the plain client needs them); they are re-exported here."""

from __future__ import annotations

import time
from typing import ClassVar

from pepperpy_core.behaviours._mixin import TimedMixin
from pepperpy_core.http.chain import Middleware
from pepperpy_core.http.retry import RetryMiddleware, RetryPolicy

__all__ = ["RetryMiddleware", "RetryMixin", "RetryPolicy"]


class RetryMixin(TimedMixin):
    """Gives a client class its own default retry policy through the class attribute
    ``retry_policy``; an explicit ``retries=`` argument to the constructor still wins. The
    retry layer is the one every :class:`~pepperpy_core.HttpClient` has, here made to use the
    client's injected ``clock=`` and ``sleep=``."""

    retry_policy: ClassVar[RetryPolicy | int | None] = RetryPolicy()

    def _default_layers(self) -> list[Middleware]:
        layers = super()._default_layers()
        if self._behaviour_clock is None and self._behaviour_sleep is None:
            return layers
        return [
            RetryMiddleware(
                layer.policy, sleep=self._sleep_or_default(),
                clock=self._clock_or(time.monotonic),
            )
            if isinstance(layer, RetryMiddleware) else layer
            for layer in layers
        ]

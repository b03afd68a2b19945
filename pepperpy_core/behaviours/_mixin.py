"""The one base every behaviour mixin shares: reading the client's injected time.

Mixins take their own keyword arguments, keep them, and pass the rest on with ``super()``;
``HttpClient`` itself takes ``clock=`` and ``sleep=``, which each mixin's ``_default_layers()``
reads through :meth:`TimedMixin._clock_or` and :meth:`TimedMixin._sleep_or_default`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

__all__ = ["Clock", "Sleep", "TimedMixin"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]

if TYPE_CHECKING:
    from pepperpy_core.http.client import HttpClient

    _Base = HttpClient
else:
    _Base = object


class TimedMixin(_Base):
    """The client's ``clock=`` (seconds, a time source) and ``sleep=`` (an async sleep) for the
    behaviour layers; ``None`` means each layer's natural default (real time)."""

    _behaviour_clock: Clock | None = None
    _behaviour_sleep: Sleep | None = None

    def _clock_or(self, default: Clock) -> Clock:
        return self._behaviour_clock or default

    def _sleep_or_default(self) -> Sleep:
        return self._behaviour_sleep or asyncio.sleep

"""The one base every behaviour mixin shares: injected time, and cooperative construction.

Mixins take their own keyword arguments, keep them, and pass the rest on with ``super()``.
Because they all derive from :class:`TimedMixin`, Python's MRO places it after every mixin and
just before ``HttpClient``, so ``clock=`` and ``sleep=`` are consumed once, whatever order the
bases were written in, and each mixin's ``_default_layers()`` can read them.
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
    """Accepts ``clock=`` (seconds, a time source) and ``sleep=`` (an async sleep) for the
    behaviour layers; ``None`` means each layer's natural default (real time)."""

    _behaviour_clock: Clock | None = None
    _behaviour_sleep: Sleep | None = None

    def __init__(
        self, *args: Any, clock: Clock | None = None, sleep: Sleep | None = None, **kwargs: Any
    ) -> None:
        self._behaviour_clock = clock
        self._behaviour_sleep = sleep
        super().__init__(*args, **kwargs)

    def _clock_or(self, default: Clock) -> Clock:
        return self._behaviour_clock or default

    def _sleep_or_default(self) -> Sleep:
        return self._behaviour_sleep or asyncio.sleep

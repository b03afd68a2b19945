"""Retry: the policy and the layer live in :mod:`pepperpy_core.http.retry` (the plain client
needs them) and are re-exported here. Every :class:`~pepperpy_core.HttpClient` has the retry
layer; a subclass gives itself its own default policy with the class attribute
``retry_policy`` (an explicit ``retries=`` argument still wins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pepperpy_core._lazy import deprecated_names
from pepperpy_core.http.retry import RetryMiddleware, RetryPolicy

__all__ = ["RetryMiddleware", "RetryPolicy"]

if not TYPE_CHECKING:  # the deprecated RetryMixin, for one release
    __getattr__ = deprecated_names(__name__, ("RetryMixin",))

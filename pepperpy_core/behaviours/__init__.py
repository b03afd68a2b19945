"""Behaviours built on the HTTP client's chain: retry, rate limit, cache, metrics."""

from pepperpy_core.behaviours.retry import RetryMiddleware, RetryMixin, RetryPolicy

__all__ = ["RetryMiddleware", "RetryMixin", "RetryPolicy"]

"""What every transport does at the end of one exchange: the per-attempt debug event, and
handing a redirect to the client, which follows it with credential hygiene.

The aiohttp transport, the one on the hot path, does this inside its own ``send`` rather than
under a wrapper coroutine of the client's: one coroutine frame fewer on every request (see
``docs/design.md``, the hot path). Any transport without a ``redirect_handler`` attribute (the
httpx one, a custom one) is wrapped by the client's ``_send_with_redirects`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["REDIRECT_STATUSES", "RedirectHandler", "log_attempt"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: ``(request, redirect response) -> final response``: the client's redirect follower.
RedirectHandler = Callable[[Request, Response], Awaitable[Response]]

_log = get_logger("pepperpy_core.http")


def log_attempt(request: Request, response: Response | None = None, **extra: Any) -> None:
    """The per-attempt debug event (callers build it only when debug events are emitted)."""
    if response is not None:
        extra["status"] = response.status
        extra["elapsed_ms"] = round(response.elapsed_s * 1000, 2)
    _log.debug(
        "http.attempt", method=request.method, url=redact_url(request.url),
        attempt=request.metadata.get("attempt", 1), **extra,
    )

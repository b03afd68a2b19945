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
from urllib.parse import urlsplit

from pepperpy_core._redact import is_secret_name, redact_text
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = [
    "CREDENTIAL_HEADERS",
    "REDIRECT_STATUSES",
    "RedirectHandler",
    "debug_enabled",
    "log_attempt",
    "origin",
    "origin_root",
    "safe_error_text",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers dropped on a redirect to another origin (and never kept as session defaults).
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, the port made explicit (RFC 6454)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def origin_root(url: str) -> str:
    """``scheme://host[:port]/`` of ``url`` (no user info, path or query)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/"


def safe_error_text(exc: BaseException, request: Request) -> str:
    """Another library's error text with this request's secrets taken out: the values of its
    credential and secret-named headers, its URL's user info and secret query values."""
    text = str(exc)
    if not text:
        return type(exc).__name__
    secrets: list[str] = []
    for name, value in request.header_view.items():
        if is_secret_name(name):
            secrets.append(value)
            secrets.extend(value.split()[1:])  # "Bearer <token>": the token alone too
    parts = urlsplit(request.url)
    if parts.password:
        secrets.append(parts.password)
    if parts.username:
        secrets.append(parts.username)
    if parts.query:
        for pair in parts.query.split("&"):
            name, _, value = pair.partition("=")
            if value and is_secret_name(name):
                secrets.append(value)
    return redact_text(text, secrets)

#: ``(request, redirect response) -> final response``: the client's redirect follower.
RedirectHandler = Callable[[Request, Response], Awaitable[Response]]

_log = get_logger("pepperpy_core.http")
#: Whether the per-attempt debug event is emitted (``pepperpy_core.http`` at DEBUG).
debug_enabled = _log.debug_enabled


def log_attempt(request: Request, response: Response | None = None, **extra: Any) -> None:
    """The per-attempt debug event (callers build it only when debug events are emitted)."""
    if response is not None:
        extra["status"] = response.status
        extra["elapsed_ms"] = round(response.elapsed_s * 1000, 2)
    _log.debug(
        "http.attempt", method=request.method, url=redact_url(request.url),
        attempt=request.metadata.get("attempt", 1), **extra,
    )

"""The pepperpy-core exception tree.

Every error the library raises derives from :class:`PepperPyError`, so one ``except`` clause
catches them all; no caller ever needs to import aiohttp or websockets to catch ours::

    PepperPyError
    +-- ConfigurationError            (also ValueError)   bad argument or setting
    |   +-- InvalidURLError                               relative URL without base_url, bad scheme
    |   +-- ArgumentTypeError         (also TypeError)    an argument of the wrong type
    +-- ClientClosedError             (also RuntimeError) use after close()
    +-- HTTPError                                         anything about one HTTP exchange
    |   +-- TransportError                                the request did not get a response
    |   |   +-- ConnectionError       (also builtins.ConnectionError)
    |   |   +-- TimeoutError          (also builtins.TimeoutError)
    |   |   +-- TooManyRedirectsError
    |   +-- HTTPStatusError                               raise_for_status() on a 4xx/5xx
    |   +-- ResponseTooLargeError                         buffered body over max_body_size
    |   +-- DecodingError             (also ValueError)   .json() on a body that is not JSON
    +-- RateLimitError = RateLimitException               limit hit (client side or persistent 429)
    +-- WebSocketError
    |   +-- WebSocketConnectionError  (also ConnectionError above)
    |   +-- WebSocketClosedError                          send/receive on a closed socket
    |   |   +-- WebSocketHandshakeError                   handshake refused (status)
    |   |   +-- WebSocketDisconnectedError                open socket lost (code, reason)
    |   +-- WebSocketDecodeError      (also ValueError)   text message that is not JSON
    |   +-- WebSocketOutboxFullError                      no room to keep a frame for replay
    |   +-- MessageTooLargeError
    +-- DownloadException = DownloadError
    |   +-- DownloadStalledException                      progress below the minimum speed
    |   +-- ChecksumMismatchError
    +-- VisionError                                       Binance Vision archive problems
    |   +-- VisionDataNotFoundError                       no file for that day/month (404)
    |   +-- UnsafeArchiveError                            zip member escaping the target
    +-- ProbeError                                        a connectivity probe found its target down
    +-- OptionalDependencyError       (also ImportError)  an optional extra is not installed

Errors carry context as attributes: ``request``, ``response``, ``retry_after``, ``attempts``.
The older names are the same class, not copies:
``RateLimitException is RateLimitError`` and ``DownloadException is DownloadError``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pepperpy_core.http.models import Request, Response

__all__ = [
    "ArgumentTypeError",
    "BodyNotReplayableError",
    "ChecksumMismatchError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionError",
    "DecodingError",
    "DownloadError",
    "DownloadException",
    "DownloadStalledException",
    "HTTPError",
    "HTTPStatusError",
    "InvalidURLError",
    "MessageTooLargeError",
    "OptionalDependencyError",
    "PepperPyError",
    "ProbeError",
    "RateLimitError",
    "RateLimitException",
    "ResponseTooLargeError",
    "TimeoutError",
    "TooManyRedirectsError",
    "TransportError",
    "UnsafeArchiveError",
    "VisionDataNotFoundError",
    "VisionError",
    "WebSocketClosedError",
    "WebSocketConnectionError",
    "WebSocketDecodeError",
    "WebSocketDisconnectedError",
    "WebSocketError",
    "WebSocketHandshakeError",
    "WebSocketOutboxFullError",
]


class PepperPyError(Exception):
    """Root of every error raised by pepperpy-core."""

    def __init__(
        self,
        message: str = "",
        *,
        request: Request | None = None,
        response: Response | None = None,
        attempts: int | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.response = response
        self.attempts = attempts
        self.context = context

    def __str__(self) -> str:
        return self.message


class ConfigurationError(PepperPyError, ValueError):
    """An argument or setting is invalid; the message names it."""


class InvalidURLError(ConfigurationError):
    """A URL cannot be used: relative without ``base_url``, bad scheme, no host, a control
    character, a malformed IPv6 literal."""


class ArgumentTypeError(ConfigurationError, TypeError):
    """An argument has the wrong type (for example ``headers=[(k, v)]``); the message names
    it. Also a built-in ``TypeError``."""


class ClientClosedError(PepperPyError, RuntimeError):
    """The client (HTTP or WebSocket) was used after ``close()``."""


class HTTPError(PepperPyError):
    """Base of the errors about one HTTP exchange."""


class TransportError(HTTPError):
    """The request did not produce a response (network-level failure)."""

    #: True when the failure happened before any byte of the request was sent, so any method is
    #: safe to retry.
    request_sent: bool = True


class ConnectionError(TransportError, builtins.ConnectionError):  # deliberate: also the built-in
    """Could not connect, or the connection broke. Also a built-in ``ConnectionError``."""


class TimeoutError(TransportError, builtins.TimeoutError):  # deliberate: also the built-in
    """A connect, read or total timeout expired. Also a built-in ``TimeoutError``."""


class TooManyRedirectsError(TransportError):
    """More redirects than ``max_redirects`` were followed. Final: never retried."""


class BodyNotReplayableError(HTTPError):
    """A retry or redirect needs the request body again, but it was a one-shot stream (a
    non-seekable file or an async iterator) already sent; pass bytes, a path or a seekable file
    to allow it."""


class HTTPStatusError(HTTPError):
    """The server answered with a 4xx or 5xx status (from ``raise_for_status()``)."""

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status


class ResponseTooLargeError(HTTPError):
    """A buffered response body is larger than the client's ``max_body_size``."""


class DecodingError(HTTPError, ValueError):
    """A body could not be decoded as asked (for example ``.json()`` on HTML)."""


class RateLimitError(PepperPyError):
    """A rate limit was hit: raised by the client-side limiter in raising mode, or when a server
    keeps answering 429 past the retries. ``retry_after`` is the suggested wait in seconds."""

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


#: Another name for :class:`RateLimitError` (the same class), for code that uses it.
RateLimitException = RateLimitError


class WebSocketError(PepperPyError):
    """Base of the WebSocket errors."""


class WebSocketConnectionError(WebSocketError, ConnectionError):
    """A WebSocket could not connect, or its connection was lost."""


class WebSocketClosedError(WebSocketError, ClientClosedError):
    """A WebSocket was used after ``close()`` (or while disconnected, when not waiting)."""


class MessageTooLargeError(WebSocketError):
    """A WebSocket message exceeded ``max_size``."""


class WebSocketHandshakeError(WebSocketConnectionError):
    """The server refused the WebSocket opening handshake; ``status`` is its HTTP status (or
    None when the answer was not valid HTTP)."""

    def __init__(self, message: str = "", *, status: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status


class WebSocketDisconnectedError(WebSocketConnectionError):
    """An open WebSocket was lost: closed by the server (``code``/``reason`` from its close
    frame) or broken (``code`` is 1006, no close frame)."""

    def __init__(
        self, message: str = "", *, code: int | None = None, reason: str = "", **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.code = code
        self.reason = reason


class WebSocketOutboxFullError(WebSocketError):
    """A WebSocket's outbox (frames kept until a pong acknowledges them) is full and its
    policy is to raise, or waiting for room took longer than ``send_wait``."""


class WebSocketDecodeError(WebSocketError, ValueError):
    """A text message was not valid JSON; ``data`` holds the raw text."""

    def __init__(self, message: str = "", *, data: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.data = data


class DownloadError(PepperPyError):
    """A download failed; ``url`` and ``path`` say which."""

    def __init__(
        self,
        message: str = "",
        *,
        url: str | None = None,
        path: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.url = url
        self.path = path


#: Another name for :class:`DownloadError` (the same class), for code that uses it.
DownloadException = DownloadError


class DownloadStalledException(DownloadError):
    """Download speed stayed below the minimum for longer than the stall window."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not match the expected checksum."""

    def __init__(
        self, message: str = "", *, expected: str = "", actual: str = "", **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.expected = expected
        self.actual = actual


class VisionError(PepperPyError):
    """A Binance Vision archive problem (bad layout, bad zip, unknown data type)."""


class VisionDataNotFoundError(VisionError):
    """The archive has no file for the requested day or month (the server answered 404)."""


class UnsafeArchiveError(VisionError):
    """A zip member name would escape the extraction folder (path traversal)."""


class ProbeError(PepperPyError):
    """A connectivity probe found its target down or answering wrongly (an unexpected HTTP
    status, a captive portal's login page); ``target`` names the probe."""

    def __init__(self, message: str = "", *, target: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.target = target


class OptionalDependencyError(PepperPyError, ImportError):
    """A feature needs an optional package that is not installed; the message names the extra
    to install (for example ``pip install 'pepperpy-core[dataframes]'``)."""

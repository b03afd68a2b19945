"""The pepperpy-core exception tree.

Every error the library raises derives from :class:`PepperPyError`, so one ``except`` clause
catches them all; no caller ever needs to import aiohttp or websockets to catch ours. Where
callers are used to catching a built-in, ours is one too (shown as "also"). A test
(``tests/test_exceptions.py``) checks that this drawing is the code's hierarchy::

    PepperPyError
    +-- ConfigurationError            (also ValueError)   bad argument or setting
    |   +-- InvalidURLError                               relative URL without base_url, bad scheme
    |   +-- ArgumentTypeError         (also TypeError)    an argument of the wrong type
    +-- ClientClosedError             (also RuntimeError) use after close()
    +-- HTTPError                                         anything about one HTTP exchange
    |   +-- TransportError                                the request did not get a response
    |   |   +-- ConnectionError       (also builtins.ConnectionError)
    |   |   +-- TimeoutError          (also builtins.TimeoutError)
    |   +-- TooManyRedirectsError                         more than max_redirects; final
    |   +-- BodyNotReplayableError                        a one-shot body needed again
    |   +-- HTTPStatusError                               raise_for_status() on a 4xx/5xx
    |   +-- ResponseTooLargeError                         buffered body over max_body_size
    |   +-- DecodingError             (also ValueError)   .json() on a body that is not JSON
    |   +-- ResponseNotReadError      (also RuntimeError) body used before read(), or twice
    +-- RateLimitError = RateLimitException               limit hit (client side or persistent 429)
    +-- WebSocketError
    |   +-- WebSocketConnectionError  (also builtins.ConnectionError) cannot connect, lost
    |   |   +-- WebSocketHandshakeError                   handshake refused (status)
    |   |   +-- WebSocketDisconnectedError                open socket lost (code, reason)
    |   +-- WebSocketClosedError      (also ClientClosedError) send/receive after close()
    |   +-- WebSocketDecodeError      (also ValueError)   text message that is not JSON
    |   +-- WebSocketOutboxFullError                      no room to keep a frame for replay
    |   +-- MessageTooLargeError                          a message over max_size
    +-- DownloadError = DownloadException
    |   +-- DownloadStalledException                      progress below the minimum speed
    |   +-- ChecksumMismatchError
    +-- VisionError                                       Binance Vision archive problems
    |   +-- VisionDataNotFoundError                       no file for that day/month (404)
    |   +-- UnsafeArchiveError                            zip member escaping the target
    +-- ProbeError                                        a connectivity probe found its target down
    +-- OptionalDependencyError       (also ImportError)  an optional extra is not installed

Errors carry context as attributes: ``request``, ``response``, ``attempts`` on every error, and
the keywords each class documents (``retry_after``, ``status``, ``code``, ``url``...). The
keywords are explicit: a misspelled one is a ``TypeError``. The older names are the same
class, not copies: ``RateLimitException is RateLimitError`` and ``DownloadException is
DownloadError``.

``ConnectionError`` and ``TimeoutError`` shadow the built-ins: they are importable by name
(``from pepperpy_core import ConnectionError``) but left out of ``__all__``, so a star import
does not change what ``except ConnectionError`` catches in your module (ours are subclasses of
the built-ins, so catching the built-in catches ours too).

An error pickles (for ``multiprocessing`` and ``concurrent.futures``) with its message and plain
attributes; ``request`` and ``response`` stay behind, as they hold live connections.

Besides this tree, a call can raise what any Python call can: a ``TypeError`` for a wrong call
(an unknown keyword, a missing argument), and ``asyncio.CancelledError`` when cancelled.
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
from typing import TYPE_CHECKING, Any, TypedDict

from typing_extensions import Unpack

if TYPE_CHECKING:
    from pepperpy_core.http.models import Request, Response

__all__ = [
    "ArgumentTypeError",
    "BodyNotReplayableError",
    "ChecksumMismatchError",
    "ClientClosedError",
    "ConfigurationError",
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
    "ResponseNotReadError",
    "ResponseTooLargeError",
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


class ErrorContext(TypedDict, total=False):
    """The context every error takes as keywords (see :class:`PepperPyError`)."""

    request: Request | None
    response: Response | None
    attempts: int | None


class PepperPyError(Exception):
    """Root of every error raised by pepperpy-core."""

    def __init__(
        self,
        message: str = "",
        *,
        request: Request | None = None,
        response: Response | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.response = response
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the message, then the plain attributes; request and response hold live
        # connections and client state, so they do not travel.
        state = {**self.__dict__, "request": None, "response": None}
        return type(self), (self.message,), state


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


class TooManyRedirectsError(HTTPError):
    """More redirects than ``max_redirects`` were followed. Final: never retried."""


class BodyNotReplayableError(HTTPError):
    """A retry or redirect needs the request body again, but it was a one-shot stream (a
    non-seekable file or an async iterator) already sent; pass bytes, a path or a seekable file
    to allow it."""


class HTTPStatusError(HTTPError):
    """The server answered with a 4xx or 5xx status (from ``raise_for_status()``);
    ``status`` is that status."""

    def __init__(self, message: str = "", **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        response = context.get("response")
        self.status: int | None = None if response is None else response.status


class ResponseTooLargeError(HTTPError):
    """A buffered response body is larger than the client's ``max_body_size``."""


class DecodingError(HTTPError, ValueError):
    """A body could not be decoded as asked (for example ``.json()`` on HTML)."""


class ResponseNotReadError(HTTPError, RuntimeError):
    """A response body was used in a way its state does not allow: ``.content`` before
    ``await response.read()``, or a stream iterated a second time. Also a ``RuntimeError``."""


class RateLimitError(PepperPyError):
    """A rate limit was hit: raised by the client-side limiter in raising mode, or when a server
    keeps answering 429 past the retries. ``retry_after`` is the suggested wait in seconds."""

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: float | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


#: Another name for :class:`RateLimitError` (the same class), for code that uses it.
RateLimitException = RateLimitError


class WebSocketError(PepperPyError):
    """Base of the WebSocket errors."""


class WebSocketConnectionError(WebSocketError, builtins.ConnectionError):
    """A WebSocket could not connect, or its connection was lost. Also a built-in
    ``ConnectionError``; not an :class:`HTTPError`."""


class WebSocketClosedError(WebSocketError, ClientClosedError):
    """A WebSocket was used after ``close()`` (or while disconnected, when not waiting)."""


class MessageTooLargeError(WebSocketError):
    """A WebSocket message exceeded ``max_size``."""


class WebSocketHandshakeError(WebSocketConnectionError):
    """The server refused the WebSocket opening handshake; ``status`` is its HTTP status (or
    None when the answer was not valid HTTP)."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.status = status


class WebSocketDisconnectedError(WebSocketConnectionError):
    """An open WebSocket was lost: closed by the server (``code``/``reason`` from its close
    frame) or broken (``code`` is 1006, no close frame)."""

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        reason: str = "",
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.code = code
        self.reason = reason


class WebSocketOutboxFullError(WebSocketError):
    """A WebSocket's outbox (frames kept until a pong acknowledges them) is full and its
    policy is to raise, or waiting for room took longer than ``send_wait``."""


class WebSocketDecodeError(WebSocketError, ValueError):
    """A text message was not valid JSON; ``data`` holds the raw text."""

    def __init__(
        self,
        message: str = "",
        *,
        data: str = "",
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.data = data


class DownloadError(PepperPyError):
    """A download failed; ``url`` and ``path`` say which."""

    def __init__(
        self,
        message: str = "",
        *,
        url: str | None = None,
        path: str | os.PathLike[str] | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.url = url
        self.path = path


#: Another name for :class:`DownloadError` (the same class), for code that uses it.
DownloadException = DownloadError


class DownloadStalledException(DownloadError):
    """Download speed stayed below the minimum for longer than the stall window."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not match the expected checksum."""

    def __init__(
        self,
        message: str = "",
        *,
        expected: str = "",
        actual: str = "",
        url: str | None = None,
        path: str | os.PathLike[str] | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, url=url, path=path, **context)
        self.expected = expected
        self.actual = actual


class VisionError(PepperPyError):
    """A Binance Vision archive problem (bad layout, bad zip, unknown data type)."""


class VisionDataNotFoundError(VisionError):
    """The archive has no file for the requested day or month (the server answered 404);
    ``url`` and ``date`` say which."""

    def __init__(
        self,
        message: str = "",
        *,
        url: str | None = None,
        date: dt.date | None = None,
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.url = url
        self.date = date


class UnsafeArchiveError(VisionError):
    """A zip member name would escape the extraction folder (path traversal)."""


class ProbeError(PepperPyError):
    """A connectivity probe found its target down or answering wrongly (an unexpected HTTP
    status, a captive portal's login page); ``target`` names the probe."""

    def __init__(
        self,
        message: str = "",
        *,
        target: str = "",
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, **context)
        self.target = target


class OptionalDependencyError(PepperPyError, ImportError):
    """A feature needs an optional package that is not installed; the message names the extra
    to install (for example ``pip install 'pepperpy-core[dataframes]'``)."""

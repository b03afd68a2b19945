"""The project's own request and response types.

Nothing above the transport sees an aiohttp or httpx object: a cache can hand back a stored
:class:`Response`, a retry can discard one, and either backend fits behind the same seam.
"""

from __future__ import annotations

import json as _json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Union

from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

from pepperpy_core.exceptions import (
    ArgumentTypeError,
    DecodingError,
    HTTPStatusError,
    ResponseNotReadError,
    ResponseTooLargeError,
)
from pepperpy_core.http._body import OneShotBody, SeekableBody, stream_body
from pepperpy_core.logging import redact_url

__all__ = ["FilePart", "Headers", "Request", "Response", "Timeout"]

#: Case-insensitive, multi-valued header mapping (``headers["content-type"]`` works).
Headers = CIMultiDictProxy[str]

FileSource = Union[bytes, str, "os.PathLike[str]", IO[bytes]]


@dataclass(frozen=True)
class Timeout:
    """Timeouts in seconds. ``total`` bounds the whole exchange, ``connect`` the connection set-up
    (including waiting for a pooled connection), ``read`` the gap between two received chunks.
    ``None`` disables one part; the client's defaults are never all unlimited."""

    total: float | None = 30.0
    connect: float | None = 10.0
    read: float | None = 30.0

    @classmethod
    def of(cls, value: float | Timeout | None, base: Timeout | None = None) -> Timeout:
        """A Timeout from a number (the total, other parts capped by it), a Timeout, or None."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        base = base or cls()
        cap = float(value)
        return cls(
            total=cap,
            connect=min(cap, base.connect) if base.connect is not None else cap,
            read=min(cap, base.read) if base.read is not None else cap,
        )


@dataclass(frozen=True)
class FilePart:
    """One file of a multipart upload. ``source`` is bytes, a path, or a binary file object;
    paths and file objects are streamed, never read whole into memory."""

    source: FileSource
    filename: str | None = None
    content_type: str = "application/octet-stream"
    _stream: SeekableBody | OneShotBody | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # A file object follows data='s rules: a seekable one is sent again from the offset it
        # had here, a non-seekable one only once.
        if hasattr(self.source, "read"):
            object.__setattr__(self, "_stream", stream_body(self.source))

    def file_object(self) -> Any:
        """The file object to send now (a seekable one rewound to where it started).
        Raises :class:`BodyNotReplayableError` for a one-shot file already sent."""
        assert self._stream is not None, "file_object() is for file-object sources"
        return self._stream.take()

    @property
    def one_shot(self) -> bool:
        """Whether this part can be sent only once (a non-seekable file object)."""
        return isinstance(self._stream, OneShotBody)

    @property
    def replayable(self) -> bool:
        """Whether the part can be sent (again)."""
        return self._stream is None or self._stream.replayable

    @classmethod
    def of(cls, name: str, value: Any) -> FilePart:
        """Normalise the forms ``files=`` accepts: a FilePart, bytes, a path, a file object, or a
        tuple ``(filename, source[, content_type])``."""
        if isinstance(value, FilePart):
            return value
        if isinstance(value, tuple):
            filename, source, *rest = value
            return cls(source, filename, rest[0] if rest else "application/octet-stream")
        if isinstance(value, (bytes, bytearray)):
            return cls(bytes(value), name)
        if isinstance(value, (str, os.PathLike)):
            return cls(value, Path(value).name)
        if hasattr(value, "read"):
            raw_name = getattr(value, "name", None)
            return cls(value, Path(raw_name).name if isinstance(raw_name, str) else name)
        raise ArgumentTypeError(
            f"files[{name!r}]: expected bytes, a path or a binary file object"
        )


class Request:
    """One HTTP request as it travels down the chain.

    ``url`` is absolute with the query already merged. ``body`` is bytes (JSON and raw data are
    encoded up front), a form mapping, or None; ``files`` are multipart parts. ``extensions``
    carries per-request options for layers (``cache``, ``retries``, ``weight``...); ``metadata``
    is where layers record what they did (``attempt``...).

    ``headers`` is this request's own mutable mapping. A request built by a client starts out
    sharing the client's default headers and copies them the first time ``headers`` is read, so
    a request nobody looks at costs no copy, and changing one request never changes another.
    """

    __slots__ = (
        "_headers",
        "_shared",
        "body",
        "extensions",
        "files",
        "metadata",
        "method",
        "stream",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | Mapping[str, Any] | None = None,
        files: Mapping[str, FilePart] | None = None,
        timeout: Timeout | None = None,
        stream: bool = False,
        extensions: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self._headers: CIMultiDict[str] = (
            headers if type(headers) is CIMultiDict else CIMultiDict(headers or {})
        )
        self._shared = False
        self.body = body
        self.files = files
        self.timeout = timeout if timeout is not None else _DEFAULT_TIMEOUT
        self.stream = stream
        self.extensions = extensions if extensions is not None else {}
        self.metadata = metadata if metadata is not None else {}

    @classmethod
    def _with_shared_headers(
        cls, method: str, url: str, headers: CIMultiDict[str], timeout: Timeout
    ) -> Request:
        """A body-less request sharing ``headers`` (copied on first read of ``.headers``): the
        client's way to build the common request cheaply."""
        # Slots set directly rather than through __init__: this runs for nearly every request,
        # and __init__'s conversions cost about a fifth of building the whole request.
        self = cls.__new__(cls)
        self.method = method
        self.url = url
        self._headers = headers
        self._shared = True
        self.body = None
        self.files = None
        self.timeout = timeout
        self.stream = False
        self.extensions = {}
        self.metadata = {}
        return self

    @property
    def headers(self) -> CIMultiDict[str]:
        """The request's headers (case-insensitive, multi-valued, mutable)."""
        if self._shared:
            self._headers = CIMultiDict(self._headers)
            self._shared = False
        return self._headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = value if type(value) is CIMultiDict else CIMultiDict(value)
        self._shared = False

    @property
    def header_view(self) -> MultiMapping[str]:
        """The headers, read-only: what a layer that only looks at them should use, since it
        costs no copy of headers the request still shares with its client."""
        return self._headers

    def __repr__(self) -> str:
        return f"<Request {self.method} {redact_url(self.url)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _REQUEST_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def copy_with(self, **changes: Any) -> Request:
        """A shallow copy with some fields replaced; headers and dicts are copied, not shared."""
        data: dict[str, Any] = {name: getattr(self, name) for name in _REQUEST_FIELDS}
        data["headers"] = CIMultiDict(self._headers)
        data["extensions"] = dict(self.extensions)
        data["metadata"] = dict(self.metadata)
        data.update(changes)
        return Request(**data)


_DEFAULT_TIMEOUT = Timeout()
_REQUEST_FIELDS = (
    "method", "url", "headers", "body", "files", "timeout", "stream", "extensions", "metadata"
)


class ByteStream:
    """An unread response body: chunks from the transport plus a way to release the connection."""

    def __init__(
        self,
        chunks: Callable[[int], AsyncIterator[bytes]],
        release: Callable[[], Awaitable[None]],
    ) -> None:
        self._chunks = chunks
        self._release = release
        self.consumed = False

    def iter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        self.consumed = True
        return self._chunks(chunk_size)

    async def aclose(self) -> None:
        await self._release()


class Response:
    """An HTTP response: the same type whether it came from the network or from a cache.

    ``headers`` is case-insensitive; ``elapsed`` is the time to the response headers (or to the
    full body when buffered); ``metadata`` holds facts layers added (``attempts``,
    ``from_cache``, ``rate_limit_wait_s``...).
    """

    __slots__ = (
        "_body",
        "_max_body_size",
        "_stream",
        "elapsed_s",
        "headers",
        "metadata",
        "reason",
        "request",
        "status",
        "url",
    )

    def __init__(
        self,
        status: int,
        *,
        headers: Headers | Mapping[str, str] | None = None,
        body: bytes | None = None,
        url: str = "",
        reason: str = "",
        request: Request | None = None,
        elapsed: timedelta | float = 0.0,
        stream: ByteStream | None = None,
        metadata: dict[str, Any] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        self.status = status
        if isinstance(headers, CIMultiDictProxy):
            self.headers: Headers = headers
        else:
            self.headers = CIMultiDictProxy(CIMultiDict(headers or {}))
        self._body = body
        self._stream = stream
        self._max_body_size = max_body_size
        self.url = url
        self.reason = reason
        self.request = request
        #: Seconds to the response headers (or the buffered body); ``elapsed`` as a timedelta.
        self.elapsed_s: float = (
            elapsed.total_seconds() if isinstance(elapsed, timedelta) else float(elapsed)
        )
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}

    @classmethod
    def _received(
        cls, status: int, headers: Headers, url: str, reason: str, request: Request,
        max_body_size: int | None,
    ) -> Response:
        """A transport's way to wrap what arrived: the same object as the keyword constructor
        builds, without its conversions (the transport already has the right types)."""
        self = cls.__new__(cls)
        self.status = status
        self.headers = headers
        self._body = None
        self._stream = None
        self._max_body_size = max_body_size
        self.url = url
        self.reason = reason
        self.request = request
        self.elapsed_s = 0.0
        self.metadata = {}
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status} {self.reason}] {redact_url(self.url)}>"

    @property
    def elapsed(self) -> timedelta:
        """Time to the response headers, or to the whole body when it was buffered."""
        return timedelta(seconds=self.elapsed_s)

    @elapsed.setter
    def elapsed(self, value: timedelta | float) -> None:
        self.elapsed_s = value.total_seconds() if isinstance(value, timedelta) else float(value)

    @property
    def ok(self) -> bool:
        """True for a status below 400."""
        return self.status < 400

    @property
    def from_cache(self) -> bool:
        """True when a cache layer answered without a network round trip."""
        return bool(self.metadata.get("from_cache", False))

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and "location" in self.headers

    @property
    def is_streaming(self) -> bool:
        """True while the body has not been read into memory."""
        return self._body is None and self._stream is not None

    @property
    def content(self) -> bytes:
        """The buffered body. Raises :class:`ResponseNotReadError` (a ``RuntimeError``) on a
        streamed response not yet read."""
        if self._body is None:
            if self._stream is not None:
                raise ResponseNotReadError(
                    "response body not read yet: await response.read() first"
                )
            return b""
        return self._body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return None

    async def read(self) -> bytes:
        """The whole body as bytes (buffered once, then served from memory)."""
        if self._body is not None:
            return self._body
        if self._stream is None:
            return b""
        chunks: list[bytes] = []
        size = 0
        limit = self._max_body_size
        try:
            async for chunk in self._stream.iter_chunks(64 * 1024):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise body_too_large(self, limit)
                chunks.append(chunk)
        finally:
            stream, self._stream = self._stream, None
            await stream.aclose()
        self._body = b"".join(chunks)
        return self._body

    async def iter_bytes(self, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``chunk_size`` bytes, with constant memory."""
        if self._body is not None:
            for start in range(0, len(self._body), chunk_size):
                yield self._body[start : start + chunk_size]
            return
        if self._stream is None:
            return
        if self._stream.consumed:
            raise ResponseNotReadError("the response stream was already consumed")
        try:
            async for chunk in self._stream.iter_chunks(chunk_size):
                yield chunk
        finally:
            await self.aclose()

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        """The body decoded with ``encoding``, the declared charset, or UTF-8."""
        body = await self.read()
        codec = encoding or self.charset or "utf-8"
        try:
            return body.decode(codec, errors)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DecodingError(
                f"cannot decode body from {redact_url(self.url)} as {codec}: {exc}",
                request=self.request,
                response=self,
            ) from exc

    async def json(self, *, loads: Callable[[str | bytes], Any] = _json.loads) -> Any:
        """The body parsed as JSON; a body that is not JSON raises :class:`DecodingError`."""
        body = await self.read()
        try:
            return loads(body)
        except RecursionError:
            raise DecodingError(
                f"response from {redact_url(self.url)} (status {self.status}) is JSON nested "
                "too deeply to parse",
                request=self.request,
                response=self,
            ) from None
        except ValueError as exc:
            snippet = body[:80].decode("utf-8", "replace")
            raise DecodingError(
                f"response from {redact_url(self.url)} (status {self.status}, content-type "
                f"{self.content_type or 'none'}) is not valid JSON: {snippet!r}",
                request=self.request,
                response=self,
            ) from exc

    def raise_for_status(self) -> Response:
        """Raise :class:`HTTPStatusError` for a 4xx/5xx status; return ``self`` otherwise."""
        if self.status >= 400:
            kind = "client error" if self.status < 500 else "server error"
            method = self.request.method if self.request is not None else "request"
            raise HTTPStatusError(
                f"{self.status} {self.reason} ({kind}) for {method} "
                f"{redact_url(self.url)}",
                request=self.request,
                response=self,
            )
        return self

    async def aclose(self) -> None:
        """Release the connection without reading the rest of the body (idempotent)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    close = aclose


def body_too_large(response: Response, limit: int) -> ResponseTooLargeError:
    """The error for a buffered body past ``max_body_size`` (shared by the transports)."""
    return ResponseTooLargeError(
        f"response body from {redact_url(response.url)} exceeds max_body_size={limit} bytes; "
        "use client.stream() for large bodies",
        request=response.request,
        response=response,
    )

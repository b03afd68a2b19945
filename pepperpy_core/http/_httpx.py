"""The httpx transport (extra ``pepperpy-core[httpx]``): the only module that imports httpx.

It mirrors :mod:`pepperpy_core.http._aiohttp` exactly: one exchange per call, no redirects (the
client follows them), the body buffered under ``max_body_size`` unless the request streams, and
every httpx failure translated into the pepperpy-core exception tree. Its reason to exist is
HTTP/2 (``HttpClient(backend="httpx", http2=True)``).

httpx has no "total" timeout, so the total is enforced here: around the whole exchange for a
buffered body, and as a deadline checked at each chunk for a streamed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from os import PathLike
from typing import IO, Any

from multidict import CIMultiDict, CIMultiDictProxy

from pepperpy_core._redact import install_library_log_filters
from pepperpy_core.exceptions import (
    ConfigurationError,
    ConnectionError,
    HTTPError,
    InvalidURLError,
    OptionalDependencyError,
    TimeoutError,
    TransportError,
)
from pepperpy_core.http._attempt import origin, safe_error_text
from pepperpy_core.http._body import file_chunks, wire_body
from pepperpy_core.http._decode import ACCEPT_ENCODING, BodyDecoder, decoder_for
from pepperpy_core.http.models import (
    ByteStream,
    FilePart,
    Request,
    Response,
    Timeout,
    body_too_large,
)
from pepperpy_core.logging import redact_url

try:
    import httpx
except ImportError as _missing:  # pragma: no cover - exercised only without the extra
    raise OptionalDependencyError(
        "the httpx backend needs httpx: pip install 'pepperpy-core[httpx]'"
    ) from _missing

__all__ = ["HttpxTransport", "translate_error"]


class HttpxTransport:
    """Sends requests through one ``httpx.AsyncClient``, created on first use, or through a
    client the caller owns (then ``aclose()`` leaves it open).

    ``verify`` is True, False or an ``SSLContext``; ``http2`` needs the ``h2`` package;
    ``max_connections`` bounds the pool; ``max_body_size`` (bytes, None: no cap) bounds a
    buffered body.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        verify: ssl.SSLContext | bool = True,
        http2: bool = False,
        max_connections: int = 100,
        proxy: str | None = None,
        cookies: dict[str, str] | None = None,
        trust_env: bool = False,
        max_body_size: int | None = None,
        cookie_origin: str | None = None,
    ) -> None:
        install_library_log_filters()
        self._client = client
        self._owns_client = client is None
        self._verify = verify
        self._http2 = http2
        self._limit = max_connections
        self._proxy = proxy
        self._cookies = cookies
        self._cookie_origin = cookie_origin
        self._trust_env = trust_env
        self._max_body_size = max_body_size
        self._timeouts: dict[Timeout, httpx.Timeout] = {}

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client, created on first use."""
        if self._client is None:
            return self._open(None)
        return self._client

    def _open(self, first_url: str | None) -> httpx.AsyncClient:
        """Our httpx client; ``cookies=`` scoped to base_url's host (else ``first_url``'s)."""
        if self._client is None:
            jar = httpx.Cookies()
            where = self._cookie_origin or first_url
            if self._cookies and where is not None:
                host = origin(where)[1]
                for name, value in self._cookies.items():
                    jar.set(name, value, domain=host)
            try:
                self._client = httpx.AsyncClient(
                    verify=self._verify,
                    http2=self._http2,
                    limits=httpx.Limits(
                        max_connections=self._limit, max_keepalive_connections=self._limit
                    ),
                    proxy=self._proxy,
                    cookies=jar,
                    headers={"Accept-Encoding": ACCEPT_ENCODING},
                    trust_env=self._trust_env,
                    follow_redirects=False,
                    timeout=None,
                )
            except ImportError as exc:  # http2=True without h2
                raise OptionalDependencyError(
                    f"http2=True needs the h2 package: pip install 'pepperpy-core[httpx]' ({exc})"
                ) from exc
        return self._client

    @property
    def cookies(self) -> dict[str, str]:
        """The client's cookies as a plain name -> value mapping."""
        if self._client is None:
            return dict(self._cookies or {})
        return {cookie.name: cookie.value or "" for cookie in self._client.cookies.jar}

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owns_client and not client.is_closed:
            await client.aclose()

    def _httpx_timeout(self, timeout: Timeout) -> httpx.Timeout:
        cached = self._timeouts.get(timeout)
        if cached is None:
            # "connect" includes waiting for a pooled connection, as aiohttp counts it.
            cached = httpx.Timeout(
                connect=timeout.connect, read=timeout.read, write=timeout.read,
                pool=timeout.connect,
            )
            self._timeouts[timeout] = cached
        return cached

    async def send(self, request: Request) -> Response:
        """One exchange; the body is buffered (capped) unless ``request.stream``."""
        total = request.timeout.total
        if total is None:
            return await self._exchange(request, None)
        deadline = time.monotonic() + total
        try:
            return await asyncio.wait_for(self._exchange(request, deadline), total)
        except asyncio.TimeoutError as exc:
            raise translate_error(exc, request) from None

    async def _exchange(self, request: Request, deadline: float | None) -> Response:
        if self._client is None:
            self._open(request.url)
        started = time.perf_counter()
        with _open_files(request) as files:
            raw = await self._send_raw(request, files)
        response = Response(
            raw.status_code,
            headers=CIMultiDictProxy(CIMultiDict(raw.headers.multi_items())),
            url=str(raw.url),
            reason=raw.reason_phrase,
            request=request,
            max_body_size=self._max_body_size,
        )
        decoder = decoder_for(response, self._max_body_size)
        if request.stream:
            response._stream = ByteStream(
                _chunk_reader(raw, request, deadline, decoder), raw.aclose
            )
            response.elapsed_s = time.perf_counter() - started
            return response
        try:
            response._body = await self._read_capped(raw, request, response, decoder)
        finally:
            await raw.aclose()
        response.elapsed_s = time.perf_counter() - started
        return response

    async def _send_raw(self, request: Request, files: Any) -> httpx.Response:
        try:
            built = self.client.build_request(
                request.method,
                request.url,
                headers=list(request.headers.items()),
                timeout=self._httpx_timeout(request.timeout),
                **_body_arguments(request, files),
            )
            return await self.client.send(built, stream=True, follow_redirects=False)
        except HTTPError:
            raise
        except Exception as exc:
            raise translate_error(exc, request) from None

    async def _read_capped(
        self, raw: httpx.Response, request: Request, response: Response,
        decoder: BodyDecoder | None,
    ) -> bytes:
        if request.method == "HEAD":
            return b""
        limit = self._max_body_size
        declared = response.headers.get("content-length")
        if limit is not None and declared is not None and declared.isdigit() and (
            int(declared) > limit
        ):
            raise body_too_large(response, limit)
        try:
            chunks: list[bytes] = []
            size = 0
            # Raw bytes (httpx's own decoders accept a truncated gzip): decoded by ours.
            async for chunk in raw.aiter_raw():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise body_too_large(response, limit)
                chunks.append(chunk)
            body = b"".join(chunks)
            return body if decoder is None else decoder.decode_all(body)
        except HTTPError:
            raise
        except Exception as exc:
            raise translate_error(exc, request) from None


def _body_arguments(request: Request, files: Any) -> dict[str, Any]:
    body = request.body
    if files is not None:
        form = {k: str(v) for k, v in body.items()} if isinstance(body, dict) else None
        return {"files": files, "data": form}
    if body is None:
        return {}
    body = wire_body(body)
    if isinstance(body, bytes):
        return {"content": body}
    if isinstance(body, dict):
        return {"data": {k: str(v) for k, v in body.items()}}
    if hasattr(body, "read"):
        return {"content": file_chunks(body)}
    return {"content": body}  # an async iterable of bytes


def _chunk_reader(
    raw: httpx.Response, request: Request, deadline: float | None, decoder: BodyDecoder | None
) -> Any:
    """The body's pieces as they arrive (at most ``size`` bytes each). httpx's own chunked
    iterators hold bytes back until a whole chunk is full, so a connection cut mid-chunk would
    lose what had already arrived; raw pieces are handed over at once (and decoded by ours)."""

    async def chunks(size: int) -> AsyncIterator[bytes]:
        source = _timed(raw.aiter_raw())
        try:
            if decoder is not None:
                async for piece in decoder.decode_stream(source, size):
                    yield piece
                return
            async for chunk in source:
                if len(chunk) <= size:
                    yield chunk
                else:
                    for start in range(0, len(chunk), size):
                        yield chunk[start : start + size]
        except HTTPError:
            raise
        except Exception as exc:
            raise translate_error(exc, request) from None
        finally:
            await source.aclose()

    async def _timed(source: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        try:
            while True:
                try:
                    if deadline is None:
                        chunk = await source.__anext__()
                    else:
                        remaining = max(0.0, deadline - time.monotonic())
                        chunk = await asyncio.wait_for(source.__anext__(), remaining)
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            await source.aclose()  # type: ignore[attr-defined]

    return chunks


@contextlib.contextmanager
def _open_files(request: Request) -> Iterator[list[tuple[str, Any]] | None]:
    """httpx ``files=`` for ``request.files`` (streamed); files opened from paths are closed
    afterwards."""
    if not request.files:
        yield None
        return
    opened: list[IO[bytes]] = []
    try:
        yield [
            (name, (part.filename or name, _part_payload(part, opened), part.content_type))
            for name, part in request.files.items()
        ]
    finally:
        for handle in opened:
            handle.close()


def _part_payload(part: FilePart, opened: list[IO[bytes]]) -> Any:
    source = part.source
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, PathLike)):
        handle = open(source, "rb")  # noqa: SIM115 - closed by _open_files
        opened.append(handle)
        return handle
    handle = part.file_object()
    # httpx rewinds a multipart file to 0 and measures it through fileno(): a seekable file is
    # shown from its start offset on, a one-shot one as a bare reader (sent chunked).
    return _ReadOnly(handle) if part.one_shot else _FromOffset(handle)


class _ReadOnly:
    """Only ``read``: httpx can neither rewind nor measure it, so it streams it chunked."""

    __slots__ = ("read",)

    def __init__(self, handle: Any) -> None:
        self.read = handle.read


class _FromOffset:
    """A seekable file seen from its current position on, as if that were offset 0."""

    __slots__ = ("handle", "start")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.start: int = int(handle.tell())

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.handle.read(size)
        return data

    def tell(self) -> int:
        return int(self.handle.tell()) - self.start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self.start
        return int(self.handle.seek(offset, whence)) - self.start


def translate_error(exc: BaseException, request: Request) -> TransportError | ConfigurationError:
    """The pepperpy-core error for an httpx (or asyncio/OS) failure during ``request``."""
    where = f"{request.method} {redact_url(request.url)}"
    text = safe_error_text(exc, request)
    error: TransportError
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return InvalidURLError(f"invalid URL for {where}: {text}", request=request)
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in text:
        # httpx parses a redirect's Location even when it is not following it
        return InvalidURLError(
            f"redirect refused: Location: malformed URL in the answer to {where} ({text})",
            request=request,
        )
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        error = TimeoutError(f"connect timeout for {where}")
        error.request_sent = False
    elif isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError)):
        error = TimeoutError(f"timed out waiting for {where} ({_timeout_text(request.timeout)})")
    elif isinstance(exc, (httpx.ConnectError, httpx.ProxyError)):
        error = ConnectionError(_connect_text(exc, where, text))
        error.request_sent = False
    elif isinstance(exc, (httpx.RequestError, httpx.StreamError, OSError)):
        error = ConnectionError(f"connection failed during {where}: {type(exc).__name__}: {text}")
    elif isinstance(exc, (ValueError, TypeError)):
        # the library refused something about the request itself (e.g. credentials both in
        # the URL and in an Authorization header): a bad argument, named as the library says
        return ConfigurationError(
            f"cannot send {where}: {type(exc).__name__}: {text}", request=request
        )
    else:
        raise exc
    error.request = request
    return error


def _connect_text(exc: BaseException, where: str, text: str) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc.__context__, ssl.SSLError):
        return f"TLS certificate verification failed for {where}: {text}"
    return f"cannot connect for {where}: {text}"


def _timeout_text(timeout: Timeout) -> str:
    return f"total={timeout.total}s, connect={timeout.connect}s, read={timeout.read}s"

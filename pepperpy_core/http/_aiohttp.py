"""The aiohttp transport: the only module of the HTTP side that imports aiohttp.

It turns a :class:`Request` into one aiohttp exchange (no redirects: the client follows them so
it can strip credentials across origins), wraps the answer in our :class:`Response`, and
translates every aiohttp failure into the pepperpy-core exception tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from time import perf_counter
from typing import IO, Any

import aiohttp
import yarl
from aiohttp import hdrs
from multidict import CIMultiDict

from pepperpy_core._redact import install_library_log_filters
from pepperpy_core.exceptions import (
    ConfigurationError,
    ConnectionError,
    HTTPError,
    InvalidURLError,
    TimeoutError,
    TransportError,
)
from pepperpy_core.http._attempt import (
    CREDENTIAL_HEADERS,
    REDIRECT_STATUSES,
    RedirectHandler,
    debug_enabled,
    log_attempt,
    origin_root,
    safe_error_text,
)
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

__all__ = ["AiohttpTransport", "translate_error"]

_CONTENT_LENGTH = hdrs.CONTENT_LENGTH
_CONTENT_ENCODING = hdrs.CONTENT_ENCODING
_USER_AGENT = hdrs.USER_AGENT


class AiohttpTransport:
    """Sends requests through one ``aiohttp.ClientSession``, created lazily inside the running
    loop, or through a session the caller owns (then ``aclose()`` leaves it open)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        proxy: str | None = None,
        cookies: dict[str, str] | None = None,
        trust_env: bool = False,
        max_body_size: int | None = None,
        default_headers: CIMultiDict[str] | None = None,
        cookie_origin: str | None = None,
    ) -> None:
        install_library_log_filters()
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl_context
        self._limit = max_connections
        self._limit_per_host = max_connections_per_host
        self._proxy = proxy
        self._cookies = cookies
        # ``cookies=`` belong to this origin (base_url's, else the first one used), as a
        # browser's jar scopes them: never to every host.
        self._cookie_origin = cookie_origin
        self._trust_env = trust_env
        self._max_body_size = max_body_size
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        self._last_timeout: Timeout | None = None
        self._last_client_timeout = aiohttp.ClientTimeout()
        # Headers every request carries live on the session we create: a request with exactly
        # those passes none, and aiohttp skips merging them again on every call. Kept as the
        # very object the client's requests share (see Request.headers), so that spotting them
        # costs an identity check.
        self._defaults = default_headers if session is None else None
        # Credential headers among them never live on the session (aiohttp would add them to
        # every hop of a redirect, to any origin): requests sharing the defaults send these.
        self._credential_defaults: CIMultiDict[str] | None = None
        # We decode bodies ourselves (exactly, bounded); a session passed in may do it itself.
        self._decode = session is None or not getattr(session, "auto_decompress", True)
        #: The client's redirect follower; None: redirects are returned as they are.
        self.redirect_handler: RedirectHandler | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session, created on first use (must be inside a running event loop)."""
        if self._session is None:
            return self._open(None)
        return self._session

    def _open(self, first_url: str | None) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit, limit_per_host=self._limit_per_host, ssl=self._ssl
        )
        headers, request_class, credentials = _session_headers(self._defaults)
        self._credential_defaults = credentials
        # unsafe=True only means "also keep cookies of IP-address hosts" (as browsers and
        # httpx do); domain and path scoping still apply.
        jar = aiohttp.CookieJar(unsafe=True)
        origin = self._cookie_origin or first_url
        if self._cookies and origin is not None:
            jar.update_cookies(self._cookies, response_url=yarl.URL(origin_root(origin)))
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=jar,
            headers=headers,
            request_class=request_class,
            trust_env=self._trust_env,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends an idempotent request once, unasked, when a pooled connection turns
        # out closed: retries=N must mean at most N+1 sends, so the retry layer alone decides.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        return session

    @property
    def cookies(self) -> dict[str, str]:
        """The session's cookies as a plain name -> value mapping."""
        if self._session is None:
            return dict(self._cookies or {})
        return {c.key: c.value for c in self._session.cookie_jar}

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    def _client_timeout(self, timeout: Timeout) -> aiohttp.ClientTimeout:
        """aiohttp's form of ``timeout``, built once per distinct value. The last one is also
        kept by identity (``send`` checks that inline): nearly every request carries the
        client's own Timeout object."""
        cached = self._timeouts.get(timeout)
        if cached is None:
            cached = _aiohttp_timeout(timeout)
            self._timeouts[timeout] = cached
        self._last_timeout, self._last_client_timeout = timeout, cached
        return cached

    async def send(self, request: Request, follow: bool = True) -> Response:
        """One exchange; the body is buffered (capped) unless ``request.stream``. A redirect
        goes to ``redirect_handler`` when one is set and ``follow`` is true."""
        started = perf_counter()
        session = self._session if self._session is not None else self._open(request.url)
        timeout = self._last_client_timeout
        body = request.body
        try:
            if request.files:
                raw = await self._send_form(session, request)
            else:
                raw = await session.request(
                    request.method,
                    request.url,
                    # A request still sharing the client's headers sends only its credential
                    # ones (if any): the rest are the session's, and aiohttp then skips
                    # merging them again.
                    headers=self._credential_defaults if request._headers is self._defaults
                    else request._headers,
                    data=body if body is None or type(body) is bytes else wire_body(body),
                    timeout=timeout if request.timeout is self._last_timeout
                    else self._client_timeout(request.timeout),
                    allow_redirects=False,
                    proxy=self._proxy,
                )
        except HTTPError:
            raise
        except Exception as exc:
            raise self._failed(exc, request) from None
        headers = raw.headers
        response = Response._received(
            raw.status, headers, request.url, raw.reason or "", request, self._max_body_size
        )  # request.url: what we asked for; yarl's str() rebuilds it on every call
        if request.stream:
            decoder = decoder_for(response, self._max_body_size) if self._decode else None
            response._stream = ByteStream(_chunk_reader(raw, request, decoder), _releaser(raw))
        else:
            limit = self._max_body_size
            length = headers.get(_CONTENT_LENGTH)
            try:
                if request.method == "HEAD":
                    raw.release()
                    response._body = b""
                elif limit is None or (length is not None and length.isdigit()
                                       and int(length) <= limit):
                    response._body = await raw.read()
                else:
                    response._body = await self._read_capped(raw, request, response, length)
                if self._decode and headers.get(_CONTENT_ENCODING) is not None:
                    decoder = decoder_for(response, self._max_body_size)
                    if decoder is not None:
                        response._body = decoder.decode_all(response._body)
            except HTTPError:
                raw.close()
                raise
            except Exception as exc:
                raw.close()
                raise self._failed(exc, request) from None
            except BaseException:
                raw.close()
                raise
        response.elapsed_s = perf_counter() - started
        if debug_enabled():
            log_attempt(request, response)
        if follow and raw.status in REDIRECT_STATUSES and self.redirect_handler is not None:
            return await self.redirect_handler(request, response)
        return response

    async def _send_form(
        self, session: aiohttp.ClientSession, request: Request
    ) -> aiohttp.ClientResponse:
        """A multipart request: files opened from paths are closed once it is sent."""
        with _open_files(request) as form:
            return await session.request(
                request.method, request.url, headers=request._headers, data=form,
                timeout=self._client_timeout(request.timeout), allow_redirects=False,
                proxy=self._proxy,
            )

    @staticmethod
    def _failed(exc: Exception, request: Request) -> PepperPyTransportError:
        error = translate_error(exc, request)
        if debug_enabled():
            log_attempt(request, error=type(error).__name__)
        return error

    async def _read_capped(
        self, raw: aiohttp.ClientResponse, request: Request, response: Response,
        length: str | None,
    ) -> bytes:
        """A body that may pass ``max_body_size``: refused up front when its declared length
        does, otherwise read in chunks and refused as soon as it grows past the cap."""
        limit = self._max_body_size
        assert limit is not None
        if length is not None and length.isdigit():
            raise body_too_large(response, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in raw.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise body_too_large(response, limit)
            chunks.append(chunk)
        raw.release()
        return b"".join(chunks)


def _session_headers(
    defaults: CIMultiDict[str] | None,
) -> tuple[CIMultiDict[str] | None, type[aiohttp.ClientRequest], CIMultiDict[str] | None]:
    """The session's default headers and request class for the client's ``defaults``.

    aiohttp copies a session's default headers into every request one by one in Python, but
    fills in its automatic headers (Accept, Accept-Encoding, User-Agent) from a class-level
    table, several times cheaper. So our User-Agent joins that table, in a request class made
    for this session (``request_class`` is a documented ClientSession argument), and only the
    other default headers stay on the session. A request that sets its own User-Agent still
    wins: aiohttp adds an automatic header only when the request has none of that name.

    The table's Accept-Encoding offers what :mod:`._decode` decodes. Credential headers are
    returned apart (third item): they must never be session defaults."""
    table = getattr(aiohttp.ClientRequest, "DEFAULT_HEADERS", None)
    if not isinstance(table, dict):
        return defaults, aiohttp.ClientRequest, None
    others = defaults.copy() if defaults else CIMultiDict()
    credentials: CIMultiDict[str] = CIMultiDict()
    for name in CREDENTIAL_HEADERS:
        for value in others.popall(name, ()):
            credentials.add(name, value)
    extra = {hdrs.ACCEPT_ENCODING: ACCEPT_ENCODING}
    if len(others.getall(_USER_AGENT, ())) == 1:
        extra[_USER_AGENT] = others.popone(_USER_AGENT)
    request_class = type(
        "PepperPyClientRequest", (aiohttp.ClientRequest,), {"DEFAULT_HEADERS": {**table, **extra}}
    )
    return others or None, request_class, credentials or None


def _aiohttp_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """Our Timeout as aiohttp's, arming no timer that could never fire first.

    ``connect`` maps to ``sock_connect``, timed only when a new connection is opened (a
    pooled one costs no timer); waiting for a free pool slot is bounded by ``total``. A read
    timeout not shorter than the total can never expire before it, so it is left out; that
    saves a timer reset on every received chunk of every request."""
    total, read = timeout.total, timeout.read
    if total is not None and read is not None and read >= total:
        read = None
    return aiohttp.ClientTimeout(total=total, sock_connect=timeout.connect, sock_read=read)


def _chunk_reader(
    raw: aiohttp.ClientResponse, request: Request, decoder: BodyDecoder | None
) -> Any:
    async def chunks(size: int) -> AsyncIterator[bytes]:
        try:
            source = raw.content.iter_chunked(size)
            if decoder is None:
                async for chunk in source:
                    yield chunk
            else:
                async for piece in decoder.decode_stream(source, size):
                    yield piece
        except HTTPError:
            raise
        except Exception as exc:
            raise translate_error(exc, request) from None

    return chunks


def _releaser(raw: aiohttp.ClientResponse) -> Any:
    async def release() -> None:
        # A body that was not read to the end cannot be reused: close that connection.
        if raw.content.at_eof():
            raw.release()
        else:
            raw.close()

    return release


@contextlib.contextmanager
def _open_files(request: Request) -> Iterator[aiohttp.FormData]:
    """Multipart form for ``request.files``; files opened from paths are closed afterwards."""
    assert request.files
    form = aiohttp.FormData(quote_fields=False)
    if isinstance(request.body, dict):
        for key, value in request.body.items():
            form.add_field(key, str(value))
    opened: list[IO[bytes]] = []
    try:
        for name, part in request.files.items():
            form.add_field(
                name, _part_payload(part, opened), filename=part.filename or name,
                content_type=part.content_type,
            )
        yield form
    finally:
        for handle in opened:
            handle.close()


def _part_payload(part: FilePart, opened: list[IO[bytes]]) -> Any:
    source = part.source
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)) or hasattr(source, "__fspath__"):
        handle = open(source, "rb")  # noqa: SIM115 - closed by _open_files
        opened.append(handle)
        return handle
    handle = part.file_object()
    return handle if isinstance(handle, io.IOBase) else file_chunks(handle)


def translate_error(exc: BaseException, request: Request) -> PepperPyTransportError:
    """The pepperpy-core error for an aiohttp (or asyncio/OS) failure during ``request``."""
    where = f"{request.method} {redact_url(request.url)}"
    text = safe_error_text(exc, request)
    error: TransportError
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidURLError(f"invalid URL for {where}: {text}", request=request)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = ConnectionError(f"TLS certificate verification failed for {where}: {text}")
        error.request_sent = False
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = TimeoutError(f"connect timeout for {where}")
        error.request_sent = False
    elif isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        error = TimeoutError(f"timed out waiting for {where} ({_timeout_text(request.timeout)})")
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = ConnectionError(
            f"cannot connect for {where}: {safe_error_text(exc.os_error or exc, request)}"
        )
        error.request_sent = False
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
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


PepperPyTransportError = TransportError | ConfigurationError


def _timeout_text(timeout: Timeout) -> str:
    return f"total={timeout.total}s, connect={timeout.connect}s, read={timeout.read}s"

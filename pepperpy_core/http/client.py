"""``HttpClient``: the documented HTTP client and the root of every behaviour.

Path of one call::

    get/post/... -> request() -> build_request() -> _send_request(request)   (the user hook)
        -> the behaviour chain, ordered by rank -> redirects -> transport (aiohttp or httpx)
"""

from __future__ import annotations

import inspect
import json as _json
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from contextlib import asynccontextmanager
from os import PathLike, fspath
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, TypedDict
from urllib.parse import urlencode, urljoin

from multidict import CIMultiDict
from typing_extensions import Self, Unpack

from pepperpy_core._signature import class_signature, keywords_checked, unknown_keyword
from pepperpy_core.config import (
    DEFAULT,
    DEFAULT_MAX_BODY,
    Backend,
    Clock,
    HttpClientConfig,
    Sleep,
    basic_auth,
    checked_config,
    ssl_setting,
)
from pepperpy_core.exceptions import (
    ArgumentTypeError,
    BodyNotReplayableError,
    ClientClosedError,
    ConfigurationError,
    InvalidURLError,
    TooManyRedirectsError,
    TransportError,
)
from pepperpy_core.http._attempt import (
    CREDENTIAL_HEADERS,
    REDIRECT_STATUSES,
    debug_enabled,
    log_attempt,
    origin,
)
from pepperpy_core.http._body import can_resend, stream_body
from pepperpy_core.http._checks import check_header_strict, check_headers_arg, check_url_text
from pepperpy_core.http.chain import CallNext, Middleware, build_chain, order_middlewares
from pepperpy_core.http.models import FilePart, Request, Response, Timeout
from pepperpy_core.http.retry import RetryMiddleware, RetryPolicy
from pepperpy_core.logging import redact_url

__all__ = ["HttpClient", "RequestOptions", "Transport"]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"})
#: Any other method is accepted when it is an RFC 9110 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


#: An argument left out (the public :data:`~pepperpy_core.config.DEFAULT`).
_UNSET: Any = DEFAULT
#: ``scheme://`` at the start: an absolute URL (a relative one may carry "://" in its query).
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: How many checked URLs a client remembers (then it starts afresh).
_URL_MEMO_SIZE = 1024


class RequestOptions(TypedDict, total=False):
    """The keywords of every verb (``get``, ``post``, ..., ``request``, ``stream``).

    - ``params``: query parameters (a mapping or pairs; list values repeat the key, None drops
      it, booleans are ``true``/``false``).
    - ``headers``: added to the client's for this request.
    - ``json`` (any JSON value), ``data`` (bytes, str, a form mapping, a file object or an
      async iterable of bytes) or ``files`` (a mapping of multipart parts): the body.
    - ``timeout``: seconds (> 0) or a :class:`Timeout` for this request; None: no limit.
    - ``auth``: ``(user, password)`` HTTP Basic credentials for this request.
    - ``retries``: an int or a :class:`RetryPolicy` for this request (0: one attempt).
    - ``cache``: False to bypass the cache layer, or a :class:`CachePolicy`.
    - ``weight``: how much of the rate limit this request uses (default 1).
    - ``follow_redirects``: False to return a 3xx as it is.
    - ``extensions``: a mapping of keys for your own layers (``request.extensions``).
    """

    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None
    headers: Mapping[str, str] | None
    json: Any
    data: Any
    files: Mapping[str, Any] | None
    timeout: float | Timeout | None
    auth: tuple[str, str] | None
    retries: int | RetryPolicy | None
    cache: Any
    weight: int
    follow_redirects: bool
    extensions: Mapping[str, Any]


#: Keywords that shape the request itself; the rest are the layers' per-request choices.
_BUILD_ARGS = frozenset({"params", "headers", "json", "data", "files", "timeout", "auth"})
_LAYER_OPTIONS = frozenset({"retries", "cache", "weight", "follow_redirects"})
_REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)
#: Other libraries' names for our keywords, for the unknown-keyword message.
_MEANT = {"allow_redirects": "follow_redirects", "verify_ssl": "verify", "body": "data",
          "query": "params", "max_retries": "retries"}


class Transport(Protocol):
    """The seam below the chain: one exchange per call, no redirects followed."""

    async def send(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


class HttpClient:
    """An async HTTP client with timeouts, retries, pooling and a composable behaviour chain.

    Every option after ``base_url`` is keyword-only; an unknown keyword is a ``TypeError``, a
    wrong type a ``TypeError``, a value out of range a
    :class:`~pepperpy_core.ConfigurationError`, each naming the argument.

    - ``base_url`` (``str | None``, default None): joined with relative request URLs
      (``"/users"``); None: URLs must be absolute.
    - ``timeout`` (seconds, ``float`` > 0 or a :class:`Timeout`, default 30): the whole request.
    - ``connect_timeout`` (seconds or None, default 10): making a connection (or waiting for a
      pooled one); ``read_timeout`` (seconds or None, default 30): the gap between two received
      chunks. Both are capped by ``timeout``; None: bounded by ``timeout`` only.
    - ``retries`` (``int`` attempts after the first, a :class:`RetryPolicy`, or 0/None for none;
      default 3, or the class attribute ``retry_policy``).
    - ``headers`` (``Mapping[str, str]``, default none): sent with every request.
    - ``auth`` (``(user, password)``, default None): HTTP Basic credentials for every request
      (never sent to another origin after a redirect).
    - ``middlewares`` (iterable of layers, default none): see :mod:`pepperpy_core.http.chain`.
    - ``verify`` (default True): TLS verification: True, a CA bundle path, an ``SSLContext``,
      or False (unsafe).
    - ``max_connections`` (``int`` >= 1, default 100) open connections in all;
      ``max_connections_per_host`` (``int``, default 0 = no per-host cap).
    - ``proxy`` (URL ``str`` or None); ``cookies`` (``Mapping[str, str]`` or None);
      ``trust_env`` (``bool``, default False: ignore ``HTTP(S)_PROXY`` and ``.netrc``).
    - ``follow_redirects`` (``bool``, default True); ``max_redirects`` (``int``, default 10).
    - ``max_body_size`` (bytes, ``int`` or None, default 100 MiB): largest buffered body; use
      :meth:`stream` for more.
    - ``backend`` (``"aiohttp"`` default, or ``"httpx"``); ``http2`` (``bool``, default False;
      needs ``backend="httpx"``).
    - ``user_agent`` (``str`` or None: ``pepperpy-core/<version>``).
    - ``session``: an existing ``aiohttp.ClientSession`` or ``httpx.AsyncClient`` to send
      through; the caller keeps owning it (``close()`` leaves it open).
    - ``transport``: a custom object with ``send(request)`` and ``aclose()``.
    - ``clock`` (a time source in seconds) and ``sleep`` (an async sleep): injected time for
      the behaviour layers (tests use :mod:`pepperpy_core.testing.clock`); None: real time.
    """

    #: A subclass's default policy, used when ``retries=`` is left out (None: 3 retries).
    retry_policy: ClassVar[RetryPolicy | int | None] = None
    _behaviour_clock: Clock | None = None
    _behaviour_sleep: Sleep | None = None

    @keywords_checked()
    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | Timeout = 30.0,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 30.0,
        retries: int | RetryPolicy | None = _UNSET,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        middlewares: Iterable[Middleware] = (),
        verify: bool | str | ssl.SSLContext = True,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        proxy: str | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        max_redirects: int = 10,
        max_body_size: int | None = DEFAULT_MAX_BODY,
        backend: Backend = "aiohttp",
        http2: bool = False,
        trust_env: bool = False,
        user_agent: str | None = None,
        session: Any = None,
        transport: Transport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        owner = type(self).__name__
        if retries is _UNSET:
            retries = 3 if type(self).retry_policy is None else type(self).retry_policy
        _check_client_arguments(base_url, headers, {"user_agent": user_agent, "proxy": proxy,
                                                    "cookies": cookies})
        self.config: HttpClientConfig = checked_config(
            owner, base_url=base_url, timeout=timeout, connect_timeout=connect_timeout,
            read_timeout=read_timeout, headers=headers, max_connections=max_connections,
            max_connections_per_host=max_connections_per_host, verify=verify, proxy=proxy,
            cookies=cookies, follow_redirects=follow_redirects, max_redirects=max_redirects,
            max_body_size=max_body_size, backend=backend, http2=http2, trust_env=trust_env,
            user_agent=user_agent, session=session,
        )
        self._behaviour_clock = clock
        self._behaviour_sleep = sleep
        self._retry_policy = _checked_policy(owner, retries)
        self._timeout = _base_timeout(self.config)
        # Per-request numbers replace the total; these bound the parts under it.
        self._timeout_parts = Timeout(None, self.config.connect_timeout, self.config.read_timeout)
        self._headers = CIMultiDict(self.config.headers or {})
        self._headers.setdefault("User-Agent", self.config.user_agent or default_user_agent())
        if auth is not None:
            self._headers["Authorization"] = basic_auth(owner, auth)
        self._transport = transport or self._make_transport(session)
        self._closed = False
        self._urls: dict[str, str] = {}
        self._middlewares = order_middlewares(_merge_layers(self._default_layers(), middlewares))
        self._chain: CallNext = build_chain(self._middlewares, self._endpoint(transport is None))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give every subclass a signature that shows all it takes, HttpClient's options
        included (``inspect.signature(CachedClient)``, ``help()``, IDEs)."""
        super().__init_subclass__(**kwargs)
        cls.__signature__ = class_signature(cls)  # type: ignore[attr-defined]

    def _endpoint(self, own_transport: bool) -> CallNext:
        """The chain's last step. The aiohttp transport this client made logs each attempt and
        hands redirects to :meth:`_follow` itself (one coroutine frame fewer per request); any
        other transport, including one passed in (it may serve other clients too, so it is
        never rewired), is wrapped in :meth:`_send_with_redirects`, which does the same."""
        transport: Any = self._transport
        self._native = own_transport and hasattr(transport, "redirect_handler")
        if not self._native:
            return self._send_with_redirects
        transport.redirect_handler = self._follow
        send: CallNext = transport.send
        return send

    # ----------------------------------------------------------------- composition

    def _default_layers(self) -> list[Middleware]:
        """Layers this class contributes; the ready-made classes extend the list through
        ``super()``.

        The retry layer is always there (with ``retries=0`` it sends once) so that a
        per-request ``retries=3`` works on any client."""
        if self._behaviour_clock is None and self._behaviour_sleep is None:
            return [RetryMiddleware(self._retry_policy)]
        return [RetryMiddleware(self._retry_policy, sleep=self._behaviour_sleep or _sleep,
                                clock=self._behaviour_clock or _monotonic)]

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        """The behaviour layers in the order they run, outermost first."""
        return tuple(self._middlewares)

    def _make_transport(self, session: Any) -> Transport:
        cfg = self.config
        if cfg.backend == "httpx" or _is_httpx_client(session):
            from pepperpy_core.http._httpx import HttpxTransport

            transport: Transport = HttpxTransport(
                client=session, verify=ssl_setting("HttpClient", cfg.verify), http2=cfg.http2,
                max_connections=cfg.max_connections, proxy=cfg.proxy, cookies=cfg.cookies,
                trust_env=cfg.trust_env, max_body_size=cfg.max_body_size,
                cookie_origin=cfg.base_url,
            )
            return transport
        from pepperpy_core.http._aiohttp import AiohttpTransport

        return AiohttpTransport(
            session=session, ssl_context=ssl_setting("HttpClient", cfg.verify),
            max_connections=cfg.max_connections,
            max_connections_per_host=cfg.max_connections_per_host, proxy=cfg.proxy,
            cookies=cfg.cookies, trust_env=cfg.trust_env, max_body_size=cfg.max_body_size,
            default_headers=self._headers, cookie_origin=cfg.base_url,
        )

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool (idempotent). Further requests raise ClientClosedError."""
        if self._closed:
            return
        self._closed = True
        await self._transport.aclose()

    aclose = close

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies the client holds (set by ``cookies=`` or by servers)."""
        return dict(getattr(self._transport, "cookies", {}))

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(f"{type(self).__name__} is closed; create a new client")

    # ----------------------------------------------------------------- the public verbs

    async def request(self, method: str, url: str, **options: Unpack[RequestOptions]) -> Response:
        """Send one request and return its :class:`Response` with the body read.

        The keywords are those of :class:`RequestOptions`: ``params``, ``headers``, ``json``,
        ``data``, ``files``, ``timeout`` (overrides the client's for this call; None: no limit),
        ``auth``, and the per-request choices of the layers: ``retries=0``, ``cache=False``,
        ``weight=5``, ``follow_redirects=False``; ``extensions=`` carries keys for your own
        layers. Any other keyword is a ``TypeError``.
        """
        return await self._send_request(self._prepare(method, url, options, "request"))

    def _send_request(self, request: Request, *args: Any, **kwargs: Any) -> Awaitable[Response]:
        """The documented hook: override it as a coroutine (``async def``, ``*args, **kwargs``,
        then ``await super()._send_request(...)``) to wrap every request; the behaviour chain
        runs inside it. The base method hands back the chain's awaitable rather than being a
        coroutine itself, which saves a frame on every request; awaiting it is the same."""
        if self._closed:
            self._check_open()
        return self._chain(request)

    def _prepare(
        self, method: str, url: str, options: Mapping[str, Any], verb: str, stream: bool = False
    ) -> Request:
        """The one way from a verb's arguments to a :class:`Request`. With no keywords (the
        usual call) it shares the client's headers and skips every check but the URL's."""
        if options or stream or type(method) is not str or method not in METHODS:
            return self.build_request(method, url, stream=stream, **_checked_options(
                type(self).__name__, verb, options))
        if self._closed:
            self._check_open()
        target = self._urls.get(url) if type(url) is str else None  # _absolute's memo, inline
        return Request._with_shared_headers(
            method, target if target is not None else self._absolute(url), self._headers,
            self._timeout,
        )

    async def get(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """GET ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("GET", url, options, "get"))

    async def post(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """POST ``url`` (``json=``, ``data=`` or ``files=``); not retried unless opted in."""
        return await self._send_request(self._prepare("POST", url, options, "post"))

    async def put(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """PUT ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("PUT", url, options, "put"))

    async def patch(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """PATCH ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("PATCH", url, options, "patch"))

    async def delete(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """DELETE ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("DELETE", url, options, "delete"))

    async def head(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """HEAD ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("HEAD", url, options, "head"))

    async def options(self, url: str, **options: Unpack[RequestOptions]) -> Response:
        """OPTIONS ``url``; keywords as for :meth:`request`."""
        return await self._send_request(self._prepare("OPTIONS", url, options, "options"))

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[Response]:
        """Send a request and yield its response with the body unread::

            async with client.stream("GET", url) as response:
                async for chunk in response.iter_bytes(1 << 20):
                    ...

        Memory stays constant whatever the size. The total timeout does not apply to a streamed
        body (connect and read timeouts do), unless ``timeout=`` is given. Keywords as for
        :meth:`request`.
        """
        if "timeout" not in options:
            options = {**options, "timeout": Timeout(None, self._timeout.connect,
                                                     self._timeout.read)}
        response = await self._send_request(self._prepare(method, url, options, "stream", True))
        try:
            yield response
        finally:
            await response.aclose()

    # ----------------------------------------------------------------- building requests

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = _UNSET,
        data: Any = None,
        files: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = _UNSET,
        auth: tuple[str, str] | None = None,
        stream: bool = False,
        extensions: dict[str, Any] | None = None,
    ) -> Request:
        """Validate the arguments and assemble a :class:`Request` (no I/O)."""
        if self._closed:
            self._check_open()
        verb = method if type(method) is str and method in METHODS else _checked_method(method)
        target = self._absolute(url)
        if params is not None and not isinstance(params, (Mapping, list, tuple)):
            raise ArgumentTypeError(
                f"params: expected a mapping or a list of (name, value) pairs, got "
                f"{type(params).__name__}"
            )
        if params:
            target = _with_params(target, params)
        if files is not None and not isinstance(files, Mapping):
            raise ArgumentTypeError(
                f"files: expected a mapping of field name to file, got {type(files).__name__}"
            )
        limit = self._timeout if timeout is _UNSET else _checked_timeout(
            timeout, self._timeout_parts
        )
        no_body = json is _UNSET and data is None and not files
        if not headers and no_body and auth is None:
            request = Request._with_shared_headers(verb, target, self._headers, limit)
            request.stream = stream
            if extensions is not None:
                request.extensions = extensions
            return request
        merged = CIMultiDict(self._headers)
        if headers:
            for key, value in check_headers_arg(headers).items():
                merged[key] = value
        if auth is not None:
            merged["Authorization"] = basic_auth(verb.lower() + "()", auth)
        return Request(
            verb,
            target,
            merged,
            None if no_body else _encode_body(json, data, files, merged),
            _file_parts(files) if files else None,
            limit,
            stream,
            extensions if extensions is not None else {},
        )

    def _absolute(self, url: str) -> str:
        """``url`` checked and made absolute (joined with ``base_url`` when relative).

        Services call the same few endpoints over and over, so checked URLs are remembered
        (up to :data:`_URL_MEMO_SIZE` of them): a repeated URL costs one dict lookup."""
        known = self._urls.get(url) if type(url) is str else None
        if known is not None:
            return known
        absolute = self._check_url(url)
        if len(self._urls) >= _URL_MEMO_SIZE:
            self._urls.clear()
        self._urls[url] = absolute
        return absolute

    def _check_url(self, url: str) -> str:
        if not isinstance(url, str):
            raise ArgumentTypeError(f"url: expected a str, got {type(url).__name__}")
        if not url:
            raise InvalidURLError("url: must be a non-empty string")
        check_url_text(url)
        if _ABSOLUTE.match(url) is None:
            if self.config.base_url is None:
                raise InvalidURLError(
                    f"relative URL {url!r} needs base_url; pass HttpClient(base_url=...) "
                    "or an absolute URL"
                )
            url = self.config.base_url.rstrip("/") + "/" + url.lstrip("/")
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ("http", "https"):
            raise InvalidURLError(f"unsupported URL scheme {scheme!r} in {redact_url(url)}")
        if not rest or rest[0] in "/?#":
            raise InvalidURLError(f"URL has no host: {redact_url(url)}")
        return url

    # ----------------------------------------------------------------- below the chain

    async def _send_with_redirects(self, request: Request, follow: bool = True) -> Response:
        """The chain's endpoint for a transport without ``redirect_handler``: one attempt,
        logged, following redirects with credential hygiene."""
        try:
            response = await self._transport.send(request)
        except TransportError as exc:
            if debug_enabled():
                log_attempt(request, error=type(exc).__name__)
            raise
        if debug_enabled():
            log_attempt(request, response)
        if follow and response.status in REDIRECT_STATUSES:
            return await self._follow(request, response)
        return response

    def _hop(self, request: Request) -> Awaitable[Response]:
        """One redirect hop: an attempt that does not itself follow redirects."""
        if self._native:  # our aiohttp transport: its send takes ``follow``
            return self._transport.send(request, False)  # type: ignore[call-arg]
        return self._send_with_redirects(request, follow=False)

    async def _follow(self, request: Request, response: Response) -> Response:
        if not request.extensions.get("follow_redirects", self.config.follow_redirects):
            return response
        hops: list[str] = []
        current = request
        while response.is_redirect:
            await response.aclose()
            if len(hops) >= self.config.max_redirects:
                raise TooManyRedirectsError(
                    f"more than {self.config.max_redirects} redirects from "
                    f"{redact_url(request.url)}", request=request, response=response,
                )
            hops.append(current.url)
            current = _redirected(current, response)
            if not can_resend(current.body, current.files):
                raise BodyNotReplayableError(
                    f"cannot follow the {response.status} redirect from "
                    f"{redact_url(hops[-1])}: the request body was a one-shot stream, already "
                    "sent; pass bytes, a path or a seekable file",
                    request=current, response=response,
                )
            response = await self._hop(current)
        if hops:
            response.metadata["redirects"] = hops
        return response

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        base = self.config.base_url
        shown = redact_url(base) if base is not None else None
        return f"<{type(self).__name__} base_url={shown!r} {state}>"


# --------------------------------------------------------------------- helpers


def _merge_layers(defaults: list[Middleware], given: Iterable[Middleware]) -> list[Middleware]:
    """The class's layers plus the caller's; a retry layer the caller passes replaces the
    default one, so two retry layers never multiply their attempts."""
    extra = list(given)
    if any(isinstance(layer, RetryMiddleware) for layer in extra):
        defaults = [layer for layer in defaults if not isinstance(layer, RetryMiddleware)]
    return [*defaults, *extra]


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _monotonic() -> float:
    import time

    return time.monotonic()


def _check_client_arguments(base_url: Any, headers: Any, options: dict[str, Any]) -> None:
    """The client's arguments that would change requests on the wire, checked before the
    configuration is built: a mapping of valid headers, a control-free base_url, proxy and
    user_agent, a mapping of cookies."""
    if headers is not None:
        check_headers_arg(headers)
    if isinstance(base_url, str):
        check_url_text(base_url, "base_url")
    agent = options.get("user_agent")
    if agent is not None:
        check_header_strict("User-Agent", agent, "user_agent")
    proxy = options.get("proxy")
    if isinstance(proxy, str):
        check_url_text(proxy, "proxy")
    cookies = options.get("cookies")
    if cookies is not None and not isinstance(cookies, Mapping):
        raise ArgumentTypeError(
            f"cookies: expected a mapping of name to value, got {type(cookies).__name__}"
        )


def default_user_agent() -> str:
    """``pepperpy-core/<version>``, sent unless the caller names a User-Agent."""
    from pepperpy_core._version import __version__

    return f"pepperpy-core/{__version__}"


def _checked_policy(owner: str, retries: Any) -> RetryPolicy:
    if isinstance(retries, bool) or not isinstance(retries, (int, RetryPolicy, type(None))):
        raise ArgumentTypeError(
            f"{owner}(retries=...) must be an int, a RetryPolicy or None, "
            f"got {type(retries).__name__}"
        )
    try:
        return RetryPolicy.of(retries)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{owner}(retries=...): {exc}") from None


def _base_timeout(cfg: HttpClientConfig) -> Timeout:
    if isinstance(cfg.timeout, Timeout):
        return cfg.timeout
    total = float(cfg.timeout)
    connect = cfg.connect_timeout if cfg.connect_timeout is not None else total
    read = cfg.read_timeout if cfg.read_timeout is not None else total
    return Timeout(total=total, connect=min(connect, total), read=min(read, total))


def _checked_timeout(value: Any, base: Timeout) -> Timeout:
    if isinstance(value, Timeout) or value is None:
        return Timeout.of(value, base)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"timeout: must be > 0 seconds or None (got {value!r})")
    return Timeout.of(float(value), base)


def _is_httpx_client(session: Any) -> bool:
    return session is not None and type(session).__module__.startswith("httpx")


def _checked_options(owner: str, verb: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """A verb's keywords sorted into :meth:`HttpClient.build_request`'s arguments and the
    layers' extensions; an unknown keyword is a ``TypeError`` naming it (and what was meant)."""
    unknown = options.keys() - _REQUEST_OPTIONS
    if unknown:
        raise unknown_keyword(f"{owner}.{verb}()", min(unknown), _REQUEST_OPTIONS, _MEANT)
    built = {k: v for k, v in options.items() if k in _BUILD_ARGS}
    layers = {k: v for k, v in options.items() if k in _LAYER_OPTIONS and v is not _UNSET}
    custom = options.get("extensions")
    if custom is not None:
        if not isinstance(custom, Mapping):
            raise ArgumentTypeError(f"{owner}.{verb}(extensions=...) must be a mapping, "
                            f"got {type(custom).__name__}")
        layers = {**custom, **layers}
    if "follow_redirects" in layers and not isinstance(layers["follow_redirects"], bool):
        raise ArgumentTypeError(f"{owner}.{verb}(follow_redirects=...) must be True or False")
    built["extensions"] = layers
    return built


def _checked_method(method: Any) -> str:
    """The method to send: a known one upper-cased, or any other RFC 9110 token as given
    (``M-SEARCH``, ``PURGE``, ``PROPFIND``)."""
    if not isinstance(method, str):
        raise ConfigurationError(f"the HTTP method must be a str, got {type(method).__name__}")
    if method.upper() in METHODS:
        return method.upper()
    if not _TOKEN.fullmatch(method):
        raise ConfigurationError(
            f"invalid HTTP method {method!r}: a method is a token (letters, digits and "
            "!#$%&'*+-.^_`|~), such as GET or M-SEARCH"
        )
    return method


def _with_params(url: str, params: Any) -> str:
    if not params:
        return url
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(key), _param_text(v)) for v in values if v is not None)
    if not pairs:
        return url
    base, _, fragment = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + urlencode(pairs)
    return joined + ("#" + fragment if fragment else "")


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encode_body(json: Any, data: Any, files: Any, headers: CIMultiDict[str]) -> Any:
    if json is not _UNSET and (data is not None or files):
        raise ConfigurationError("pass either json= or data=/files=, not both")
    if json is not _UNSET:
        headers.setdefault("Content-Type", "application/json")
        try:
            return _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"json= is not JSON-serialisable: {exc}") from None
        except RecursionError:
            raise ConfigurationError(
                "json= is nested too deeply (or refers to itself) to be serialised"
            ) from None
    if data is None or isinstance(data, (bytes, bytearray)):
        return bytes(data) if data is not None else None
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping):
        return dict(data)
    if files:
        raise ConfigurationError("with files=, data= must be a mapping of form fields")
    if hasattr(data, "read") or hasattr(data, "__aiter__"):
        return stream_body(data)  # streamed by the transport; see _body for resends
    raise ArgumentTypeError(
        "data: expected bytes, str, a mapping of form fields, a binary file or an async "
        f"iterable of bytes, got {type(data).__name__}"
    )


def _file_parts(files: Mapping[str, Any]) -> dict[str, FilePart]:
    parts: dict[str, FilePart] = {}
    for name, value in files.items():
        try:
            part = FilePart.of(name, value)
        except TypeError as exc:
            raise ConfigurationError(str(exc)) from None
        source = part.source
        if isinstance(source, (str, PathLike)) and not Path(fspath(source)).is_file():
            raise ConfigurationError(f"files[{name!r}]: no such file: {fspath(source)!r}")
        parts[name] = part
    return parts


def _redirected(request: Request, response: Response) -> Request:
    location = response.headers["location"]
    try:
        check_url_text(location, "Location")
        target = urljoin(request.url, location)
        check_url_text(target, "Location")
    except InvalidURLError as exc:
        raise InvalidURLError(
            f"redirect refused: {exc}", request=request, response=response
        ) from None
    except ValueError:
        raise InvalidURLError(
            f"redirect refused: Location {redact_url(location)!r} is not a valid URL",
            request=request, response=response,
        ) from None
    if not target.lower().startswith(("http://", "https://")):
        raise InvalidURLError(f"redirect to unsupported URL {redact_url(target)}", request=request)
    headers = CIMultiDict(request.headers)
    if origin(target) != origin(request.url):
        for name in CREDENTIAL_HEADERS:
            headers.popall(name, None)
    method, body, files = request.method, request.body, request.files
    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
        method = "GET" if method != "HEAD" else "HEAD"
        body, files = None, None
        headers.popall("Content-Type", None)
        headers.popall("Content-Length", None)
    return request.copy_with(url=target, method=method, headers=headers, body=body, files=files)


#: What leaving out each verb keyword means, for the verbs' signatures.
_VERB_DEFAULTS: dict[str, Any] = {"json": DEFAULT, "timeout": DEFAULT, "retries": DEFAULT,
                                  "cache": DEFAULT, "follow_redirects": DEFAULT, "weight": 1}


def _show_verb_keywords() -> None:
    """Give each verb a signature that lists :class:`RequestOptions`' keywords one by one
    (``inspect.signature``, ``help()``, IDEs), as type checkers already see them through
    ``Unpack``; the functions themselves are unchanged."""
    keywords = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                          default=_VERB_DEFAULTS.get(name),
                          annotation=getattr(annotation, "__forward_arg__", annotation))
        for name, annotation in RequestOptions.__annotations__.items()
    ]
    for verb in ("request", "get", "post", "put", "patch", "delete", "head", "options",
                 "stream"):
        function = HttpClient.__dict__[verb]
        signature = inspect.signature(function)
        fixed = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        function.__signature__ = signature.replace(parameters=[*fixed, *keywords])


_show_verb_keywords()

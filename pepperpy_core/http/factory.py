"""The client factory (raw aiohttp or httpx clients), and the bridge back to HttpClient.

``create_client()`` hands out raw aiohttp or httpx clients configured the same way (timeout,
pool size, default headers). Everything in pepperpy-core that takes a client (downloads,
``make_api_request``, the Vision manager) prefers an :class:`HttpClient` and also accepts those
raw clients: :func:`as_http_client` wraps one in an ``HttpClient`` over the same connection
pool, so the same retry, rate-limit and metrics layers apply.

Why :class:`AiohttpSession` and not a bare ``aiohttp.ClientSession``: code written for any client
calls ``await client.aclose()``, which ClientSession does not have, and aiohttp warns against
both subclassing ClientSession and setting attributes on it. So the factory returns a thin
holder: it owns one real ``ClientSession`` (``.session``), forwards every attribute to it
(``client.get(...)``, ``client.headers``, ``async with client:``), and adds ``aclose()``. It
also creates the session on first use, so ``create_client()`` works outside a running loop.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import Callable, Mapping
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import aiohttp

from pepperpy_core._signature import keywords_checked, unknown_keyword
from pepperpy_core.config import _cookies, _headers, _seconds, _type, check_count, ssl_setting
from pepperpy_core.exceptions import (
    ArgumentTypeError,
    ClientClosedError,
    ConfigurationError,
    OptionalDependencyError,
)
from pepperpy_core.http.client import HttpClient, default_user_agent
from pepperpy_core.http.models import Timeout

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AiohttpSession",
    "ClientRef",
    "as_http_client",
    "create_aiohttp_client",
    "create_client",
    "create_httpx_client",
]

ClientType = Literal["aiohttp", "httpx"]


class AiohttpSession:
    """An ``aiohttp.ClientSession`` with ``aclose()``, created inside the running loop on first
    use. Attribute access is forwarded to the session; ``.session`` is the session itself."""

    def __init__(self, factory: Callable[[], aiohttp.ClientSession]) -> None:
        self._factory = factory
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession:
        """The underlying ClientSession (created now if needed: call it inside a loop)."""
        if self._session is None:
            if self._closed:
                raise ClientClosedError("this aiohttp client was closed; create a new one")
            self._session = self._factory()
        return self._session

    @property
    def closed(self) -> bool:
        """True after ``aclose()`` (or when the session was closed directly)."""
        return self._closed or (self._session is not None and self._session.closed)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.session, name)

    async def aclose(self) -> None:
        """Close the session and its connections (idempotent)."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    close = aclose

    async def __aenter__(self) -> AiohttpSession:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("open" if self._session else "not started")
        return f"<AiohttpSession {state}>"


#: The factories' options, as other libraries name them.
_MEANT = {"limit": "max_connections", "limit_per_host": "max_connections_per_host",
          "ssl": "verify", "verify_ssl": "verify", "client": "client_type",
          "backend": "client_type", "proxies": "proxy"}
_PASS_ON = ("aiohttp.ClientSession's or httpx.AsyncClient's own options go in "
            "session_options={...}")
#: What each library's constructor is given by the factory itself, never by session_options.
_AIOHTTP_SET = frozenset({"connector", "headers", "timeout", "cookies", "proxy", "trust_env"})
_HTTPX_SET = frozenset({"timeout", "limits", "headers", "verify", "cookies", "proxy",
                        "trust_env", "http2"})


@keywords_checked(_MEANT, _PASS_ON)
def create_aiohttp_client(
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    *,
    verify: bool | str | PathLike[str] | ssl.SSLContext = True,
    max_connections_per_host: int = 0,
    proxy: str | None = None,
    cookies: Mapping[str, str] | None = None,
    trust_env: bool = False,
    session_options: Mapping[str, Any] | None = None,
) -> AiohttpSession:
    """A configured aiohttp client (an :class:`AiohttpSession` around a ``ClientSession``).

    - ``timeout`` (seconds > 0 or None, default 30): a whole request; None: no limit.
      Connecting is bounded by ``min(timeout, 10)`` seconds.
    - ``max_connections`` (``int`` >= 1, default 100): open connections across all hosts.
    - ``headers`` (``Mapping[str, str]``, default none): sent with every request (a
      pepperpy-core User-Agent is added unless given).
    - ``verify`` (default True): TLS verification: True, False (unsafe), a CA bundle path or
      an ``ssl.SSLContext``.
    - ``max_connections_per_host`` (``int`` >= 0, default 0 = no per-host cap).
    - ``proxy`` (URL ``str`` or None); ``cookies`` (``Mapping[str, str]`` or None);
      ``trust_env`` (``bool``, default False: ignore ``HTTP(S)_PROXY`` and ``.netrc``).
    - ``session_options`` (``Mapping[str, Any]`` or None): other ``aiohttp.ClientSession``
      arguments, passed as they are (``{"raise_for_status": True, "base_url": ...}``); a key
      ClientSession does not take is a ``TypeError``, one set above a ConfigurationError.

    A wrong type is a ``TypeError``, a value out of range a ConfigurationError, each naming
    the argument; so is an unknown keyword (a ``TypeError`` with the closest one).
    """
    return _aiohttp_session(
        "create_aiohttp_client", timeout, max_connections, headers, verify=verify,
        max_connections_per_host=max_connections_per_host, proxy=proxy, cookies=cookies,
        trust_env=trust_env, session_options=session_options,
    )


@keywords_checked(_MEANT, _PASS_ON)
def create_httpx_client(
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    *,
    verify: bool | str | PathLike[str] | ssl.SSLContext = True,
    proxy: str | None = None,
    cookies: Mapping[str, str] | None = None,
    trust_env: bool = False,
    http2: bool = False,
    session_options: Mapping[str, Any] | None = None,
) -> httpx.AsyncClient:
    """A configured ``httpx.AsyncClient`` (extra ``pepperpy-core[httpx]``).

    - ``timeout`` (seconds > 0 or None, default 30): each phase (connect, read, write, pool
      wait; httpx has no whole-request limit); None: no limit. Connecting is bounded by
      ``min(timeout, 10)``.
    - ``max_connections`` (``int`` >= 1, default 100): open connections, all kept alive.
    - ``headers`` (``Mapping[str, str]``, default none): sent with every request (a
      pepperpy-core User-Agent is added unless given).
    - ``verify``, ``proxy``, ``cookies``, ``trust_env``: as for
      :func:`create_aiohttp_client` (``trust_env`` False by default here too, unlike httpx).
    - ``http2`` (``bool``, default False): offer HTTP/2 (needs the h2 package, in the extra).
    - ``session_options`` (``Mapping[str, Any]`` or None): other ``httpx.AsyncClient``
      arguments, passed as they are (``{"follow_redirects": True}``); a key AsyncClient does
      not take is a ``TypeError``, one set above a ConfigurationError.
    """
    return _httpx_client(
        "create_httpx_client", timeout, max_connections, headers, verify=verify, proxy=proxy,
        cookies=cookies, trust_env=trust_env, http2=http2, session_options=session_options,
    )


@overload
def create_client(
    client_type: Literal["aiohttp"] = ...,
    timeout: float | None = ...,
    max_connections: int = ...,
    headers: Mapping[str, str] | None = ...,
    *,
    verify: bool | str | PathLike[str] | ssl.SSLContext = ...,
    max_connections_per_host: int = ...,
    proxy: str | None = ...,
    cookies: Mapping[str, str] | None = ...,
    trust_env: bool = ...,
    http2: Literal[False] = ...,
    session_options: Mapping[str, Any] | None = ...,
) -> AiohttpSession: ...


@overload
def create_client(
    client_type: Literal["httpx"],
    timeout: float | None = ...,
    max_connections: int = ...,
    headers: Mapping[str, str] | None = ...,
    *,
    verify: bool | str | PathLike[str] | ssl.SSLContext = ...,
    proxy: str | None = ...,
    cookies: Mapping[str, str] | None = ...,
    trust_env: bool = ...,
    http2: bool = ...,
    session_options: Mapping[str, Any] | None = ...,
) -> httpx.AsyncClient: ...


@keywords_checked(_MEANT, _PASS_ON)
def create_client(
    client_type: ClientType = "aiohttp",
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    *,
    verify: bool | str | PathLike[str] | ssl.SSLContext = True,
    max_connections_per_host: int = 0,
    proxy: str | None = None,
    cookies: Mapping[str, str] | None = None,
    trust_env: bool = False,
    http2: bool = False,
    session_options: Mapping[str, Any] | None = None,
) -> AiohttpSession | httpx.AsyncClient:
    """An aiohttp (``client_type="aiohttp"``, the default) or httpx (``"httpx"``) client; the
    other arguments as for :func:`create_aiohttp_client` and :func:`create_httpx_client`
    (``max_connections_per_host`` is aiohttp's only, ``http2`` httpx's only).
    ``session_options`` go to that library's constructor. Close it with
    ``await client.aclose()``."""
    owner = "create_client"
    if not isinstance(client_type, str):
        raise ArgumentTypeError(f"{owner}(client_type=...) must be 'aiohttp' or 'httpx', "
                                f"got {type(client_type).__name__}")
    if client_type == "aiohttp":
        if http2:
            raise ConfigurationError(
                f"{owner}(http2=True): HTTP/2 needs the httpx client; pass client_type='httpx'"
            )
        return _aiohttp_session(
            owner, timeout, max_connections, headers, verify=verify,
            max_connections_per_host=max_connections_per_host, proxy=proxy, cookies=cookies,
            trust_env=trust_env, session_options=session_options,
        )
    if client_type == "httpx":
        if max_connections_per_host:
            raise ConfigurationError(
                f"{owner}(max_connections_per_host=...): httpx has no per-host cap; "
                "pass client_type='aiohttp' or leave it out"
            )
        return _httpx_client(
            owner, timeout, max_connections, headers, verify=verify, proxy=proxy,
            cookies=cookies, trust_env=trust_env, http2=http2, session_options=session_options,
        )
    raise ConfigurationError(
        f"{owner}(client_type=...) must be 'aiohttp' or 'httpx', got {client_type!r}"
    )


def _aiohttp_session(
    owner: str, timeout: Any, max_connections: Any, headers: Any, *, verify: Any,
    max_connections_per_host: Any, proxy: Any, cookies: Any, trust_env: Any,
    session_options: Any,
) -> AiohttpSession:
    total, merged = _checked_common(owner, timeout, max_connections, headers, proxy, trust_env)
    check_count(owner, "max_connections_per_host", max_connections_per_host, 0)
    tls = ssl_setting(owner, verify)
    jar = _cookies(owner, cookies)
    extra = _checked_session_options(owner, session_options, aiohttp.ClientSession,
                                     _AIOHTTP_SET)

    def make() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=max_connections, limit_per_host=max_connections_per_host, ssl=tls
        )
        connect = None if total is None else min(total, 10.0)
        return aiohttp.ClientSession(
            connector=connector, headers=merged,
            timeout=aiohttp.ClientTimeout(total=total, connect=connect),
            cookies=jar, proxy=proxy, trust_env=trust_env, **extra,
        )

    return AiohttpSession(make)


def _httpx_client(
    owner: str, timeout: Any, max_connections: Any, headers: Any, *, verify: Any, proxy: Any,
    cookies: Any, trust_env: Any, http2: Any, session_options: Any,
) -> httpx.AsyncClient:
    total, merged = _checked_common(owner, timeout, max_connections, headers, proxy, trust_env)
    _type(owner, "http2", http2, bool, "True or False")
    tls = ssl_setting(owner, verify)
    jar = _cookies(owner, cookies)
    lib = _import_httpx()
    extra = _checked_session_options(owner, session_options, lib.AsyncClient, _HTTPX_SET)
    phases = lib.Timeout(total, connect=None if total is None else min(total, 10.0))
    limits = lib.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    try:
        client: httpx.AsyncClient = lib.AsyncClient(
            timeout=phases, limits=limits, headers=merged, verify=tls, cookies=jar,
            proxy=proxy, trust_env=trust_env, http2=http2, **extra,
        )
    except ImportError as exc:  # http2=True without h2
        raise OptionalDependencyError(
            f"{owner}(http2=True) needs the h2 package: pip install 'pepperpy-core[httpx]' "
            f"({exc})"
        ) from exc
    return client


class ClientRef:
    """A ``client`` argument resolved on first use, inside the running loop, with its
    ownership: an :class:`HttpClient` is used as is, a raw aiohttp/httpx client is wrapped
    over its session (:func:`as_http_client`), and None calls ``make()``. ``aclose()`` closes
    only what was made or wrapped here; a client the caller passed stays open."""

    def __init__(self, client: Any, make: Callable[[], HttpClient] | None = None) -> None:
        self._given = client
        self._make = make
        self._http: HttpClient | None = None
        self._owned = False

    def get(self) -> HttpClient:
        """The HttpClient to send through (resolved once)."""
        if self._http is None:
            if self._given is None and self._make is not None:
                self._http, self._owned = self._make(), True
            else:
                self._http, self._owned = as_http_client(self._given)
        return self._http

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None and self._owned:
            await http.aclose()


def as_http_client(client: Any) -> tuple[HttpClient, bool]:
    """``(http_client, owned)`` for what a function was given as its ``client``.

    An :class:`HttpClient` comes back as is (``owned`` False). A raw ``aiohttp.ClientSession``,
    an :class:`AiohttpSession` or an ``httpx.AsyncClient`` is wrapped in a new HttpClient over
    that same session, with the session's timeouts and User-Agent (``owned`` True: close the
    wrapper when done; closing it leaves the raw client open, the caller still owns that).
    Call it inside a running loop when given an AiohttpSession not yet started.
    """
    if isinstance(client, HttpClient):
        return client, False
    if isinstance(client, AiohttpSession):
        client = client.session
    if isinstance(client, aiohttp.ClientSession):
        if client.closed:
            raise ConfigurationError("the aiohttp session given as client is closed")
        timeout = _from_aiohttp_timeout(client.timeout)
        agent = client.headers.get("User-Agent")
        return HttpClient(timeout=timeout, session=client, user_agent=agent), True
    if type(client).__module__.startswith("httpx") and hasattr(client, "send"):
        if client.is_closed:
            raise ConfigurationError("the httpx client given as client is closed")
        timeout = Timeout(None, client.timeout.connect, client.timeout.read)
        agent = client.headers.get("user-agent")
        return HttpClient(timeout=timeout, session=client, user_agent=agent), True
    raise ConfigurationError(
        "client: expected an HttpClient, an aiohttp.ClientSession or an httpx.AsyncClient, "
        f"got {type(client).__name__}"
    )


# --------------------------------------------------------------------- helpers


def _checked_common(
    owner: str, timeout: Any, max_connections: Any, headers: Any, proxy: Any, trust_env: Any
) -> tuple[float | None, dict[str, str]]:
    """The options both factories share, checked: the timeout in seconds (or None) and the
    headers with our User-Agent."""
    _seconds(owner, "timeout", timeout, allow_none=True)
    check_count(owner, "max_connections", max_connections, 1)
    if proxy is not None:
        _type(owner, "proxy", proxy, str, "a str or None")
    _type(owner, "trust_env", trust_env, bool, "True or False")
    merged = _with_user_agent(_headers(owner, headers))
    return (None if timeout is None else float(timeout)), merged


def _checked_session_options(
    owner: str, options: Any, target: type, set_here: frozenset[str]
) -> dict[str, Any]:
    """``session_options``, checked against ``target``'s constructor: a key it does not take
    is a ``TypeError`` (with the closest key), one the factory sets itself a
    ConfigurationError pointing at the factory's own argument."""
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ArgumentTypeError(f"{owner}(session_options=...) must be a mapping of str to "
                                f"values, or None, got {type(options).__name__}")
    takes = list(inspect.signature(target).parameters)
    for key in options:
        if key in set_here:
            raise ConfigurationError(
                f"{owner}(session_options=...): {key!r} is set by {owner} itself"
                + (f"; pass {key}= to {owner}" if key in _OWN_ARGUMENTS else "")
            )
        if key not in takes:
            name = f"{target.__module__.split('.')[0]}.{target.__name__}()"
            raise unknown_keyword(f"{owner}(session_options=...): {name}", key, takes)
    return dict(options)


#: The factories' own arguments (session_options keys that have one are pointed at it).
_OWN_ARGUMENTS = frozenset({"timeout", "headers", "verify", "cookies", "proxy", "trust_env",
                            "http2"})


def _with_user_agent(headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(headers or {})
    if not any(key.lower() == "user-agent" for key in merged):
        merged["User-Agent"] = default_user_agent()
    return merged


def _from_aiohttp_timeout(value: aiohttp.ClientTimeout) -> Timeout:
    return Timeout(
        total=value.total,
        connect=value.connect if value.connect is not None else value.sock_connect,
        read=value.sock_read,
    )


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise OptionalDependencyError(
            "create_httpx_client needs httpx: pip install 'pepperpy-core[httpx]'"
        ) from exc
    return httpx

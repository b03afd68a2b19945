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

import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import aiohttp

from pepperpy_core.exceptions import ClientClosedError, ConfigurationError, OptionalDependencyError
from pepperpy_core.http.client import HttpClient
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


def create_aiohttp_client(
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> AiohttpSession:
    """A configured aiohttp client (an :class:`AiohttpSession` around a ``ClientSession``).

    - ``timeout``: seconds for a whole request (> 0); None: no limit. Connecting is bounded
      by ``min(timeout, 10)`` seconds.
    - ``max_connections``: open connections across all hosts (> 0).
    - ``headers``: default headers for every request (a pepperpy-core User-Agent is added
      unless given).
    - ``verify``: True (default), False, a CA bundle path or an ``SSLContext``;
      ``max_connections_per_host``: 0 (default) means no per-host cap. Other keywords go to
      ``aiohttp.ClientSession`` (``cookies=``, ``trust_env=``, ``base_url=``...).
    """
    total = _checked_limits("create_aiohttp_client", timeout, max_connections)
    verify = _ssl_setting(kwargs.pop("verify", True))
    per_host = int(kwargs.pop("max_connections_per_host", 0))
    merged = _with_user_agent(headers)

    def make() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=per_host, ssl=verify)
        connect = None if total is None else min(total, 10.0)
        return aiohttp.ClientSession(
            connector=connector,
            headers=merged,
            timeout=aiohttp.ClientTimeout(total=total, connect=connect),
            **kwargs,
        )

    return AiohttpSession(make)


def create_httpx_client(
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """A configured ``httpx.AsyncClient`` (extra ``pepperpy-core[httpx]``).

    - ``timeout``: seconds for each phase (connect, read, write, pool wait; httpx has no
      whole-request limit); None: no limit. Connecting is bounded by ``min(timeout, 10)``.
    - ``max_connections``: open connections (> 0), all of them kept alive.
    - ``headers``: default headers (a pepperpy-core User-Agent is added unless given).
    - Other keywords go to ``httpx.AsyncClient`` (``http2=True``, ``verify=``,
      ``follow_redirects=``...).
    """
    total = _checked_limits("create_httpx_client", timeout, max_connections)
    lib = _import_httpx()
    phases = lib.Timeout(total, connect=None if total is None else min(total, 10.0))
    limits = lib.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    try:
        client: httpx.AsyncClient = lib.AsyncClient(
            timeout=phases, limits=limits, headers=_with_user_agent(headers), **kwargs
        )
    except ImportError as exc:  # http2=True without h2
        raise OptionalDependencyError(
            f"http2=True needs the h2 package: pip install 'pepperpy-core[httpx]' ({exc})"
        ) from exc
    return client


@overload
def create_client(
    client_type: Literal["aiohttp"] = ...,
    timeout: float | None = ...,
    max_connections: int = ...,
    headers: Mapping[str, str] | None = ...,
    **kwargs: Any,
) -> AiohttpSession: ...


@overload
def create_client(
    client_type: Literal["httpx"],
    timeout: float | None = ...,
    max_connections: int = ...,
    headers: Mapping[str, str] | None = ...,
    **kwargs: Any,
) -> httpx.AsyncClient: ...


def create_client(
    client_type: ClientType = "aiohttp",
    timeout: float | None = 30.0,
    max_connections: int = 100,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> AiohttpSession | httpx.AsyncClient:
    """An aiohttp (default) or httpx client; arguments as for :func:`create_aiohttp_client`
    and :func:`create_httpx_client`. Close it with ``await client.aclose()``."""
    if client_type == "aiohttp":
        return create_aiohttp_client(timeout, max_connections, headers, **kwargs)
    if client_type == "httpx":
        return create_httpx_client(timeout, max_connections, headers, **kwargs)
    raise ConfigurationError(
        f"create_client: client_type: expected 'aiohttp' or 'httpx', got {client_type!r}"
    )


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


def _checked_limits(owner: str, timeout: float | None, max_connections: int) -> float | None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise ConfigurationError(f"{owner}: timeout: must be > 0 seconds or None ({timeout!r})")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int) or (
        max_connections <= 0
    ):
        raise ConfigurationError(f"{owner}: max_connections: must be an int > 0")
    return None if timeout is None else float(timeout)


def _with_user_agent(headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(headers or {})
    if not any(key.lower() == "user-agent" for key in merged):
        from pepperpy_core._version import __version__

        merged["User-Agent"] = f"pepperpy-core/{__version__}"
    return merged


def _ssl_setting(verify: Any) -> ssl.SSLContext | bool:
    if isinstance(verify, (str, Path)):
        if not Path(verify).exists():
            raise ConfigurationError(f"verify: CA bundle {str(verify)!r} does not exist")
        return ssl.create_default_context(cafile=str(verify))
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    raise ConfigurationError("verify: expected a bool, a CA bundle path or an SSLContext")


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

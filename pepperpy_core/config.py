"""The HTTP client's options: their types, defaults and units, and the one place they are checked.

``HttpClient(...)`` takes every option by keyword (see :class:`ClientOptions`, which the
ready-made classes accept as ``**options``). A value of the wrong type raises ``TypeError``; a
value of the right type but out of range raises
:class:`~pepperpy_core.exceptions.ConfigurationError` (a ``ValueError``). Both name the
argument the way the caller wrote it: ``HttpClient(timeout=...) must be > 0 seconds, got 0``.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pepperpy_core.exceptions import ArgumentTypeError, ConfigurationError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pepperpy_core.http.chain import Middleware
    from pepperpy_core.http.client import Transport
    from pepperpy_core.http.models import Timeout
    from pepperpy_core.http.retry import RetryPolicy

__all__ = [
    "DEFAULT",
    "ClientOptions",
    "Default",
    "HttpClientConfig",
    "basic_auth",
    "check_header",
    "check_number",
    "validate_config",
]

class Default:
    """The type of :data:`DEFAULT`, the value of an argument left out where None means
    something else: ``retries=DEFAULT`` is the class's default policy (None: no retries),
    ``timeout=DEFAULT`` in a request is the client's timeout (None: no limit). Passing it is
    the same as leaving the argument out, which helps code that forwards arguments."""

    __slots__ = ()
    _instance: Default | None = None

    def __new__(cls) -> Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"

    def __reduce__(self) -> str:
        return "DEFAULT"


#: "Not given": see :class:`Default`. Typed ``Any`` so that it fits every option it stands for.
DEFAULT: Any = Default()

Backend = Literal["aiohttp", "httpx"]
#: A time source in seconds, and an async sleep: the client's injected time.
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]
#: 100 MiB: the default cap on a buffered response body.
DEFAULT_MAX_BODY = 100 * 1024 * 1024


class ClientOptions(TypedDict, total=False):
    """Every keyword :class:`~pepperpy_core.HttpClient` takes, for ``**options`` in the
    ready-made classes (``CachedClient(60, base_url=..., timeout=5)``). Types, defaults and units
    are documented on ``HttpClient``; a test keeps the two lists the same."""

    base_url: str | None
    timeout: float | Timeout
    connect_timeout: float | None
    read_timeout: float | None
    retries: int | RetryPolicy | None
    headers: Mapping[str, str] | None
    auth: tuple[str, str] | None
    middlewares: Iterable[Middleware]
    verify: bool | str | ssl.SSLContext
    max_connections: int
    max_connections_per_host: int
    proxy: str | None
    cookies: Mapping[str, str] | None
    follow_redirects: bool
    max_redirects: int
    max_body_size: int | None
    backend: Backend
    http2: bool
    trust_env: bool
    user_agent: str | None
    session: Any
    transport: Transport | None
    clock: Clock | None
    sleep: Sleep | None


@dataclass(frozen=True, slots=True)
class HttpClientConfig:
    """The checked settings of one client (``client.config``). Units are seconds and bytes."""

    base_url: str | None = None
    timeout: float | Timeout = 30.0
    connect_timeout: float | None = 10.0
    read_timeout: float | None = 30.0
    headers: dict[str, str] | None = field(default=None, repr=False)
    max_connections: int = 100
    max_connections_per_host: int = 0
    verify: bool | str | ssl.SSLContext = True
    proxy: str | None = field(default=None, repr=False)
    cookies: dict[str, str] | None = field(default=None, repr=False)
    follow_redirects: bool = True
    max_redirects: int = 10
    max_body_size: int | None = DEFAULT_MAX_BODY
    backend: Backend = "aiohttp"
    http2: bool = False
    trust_env: bool = False
    user_agent: str | None = None


def checked_config(owner: str, **values: Any) -> HttpClientConfig:
    """Check every option of ``owner(...)`` (the class name the caller used) and return them."""
    from pepperpy_core.http.models import Timeout

    def arg(name: str) -> str:
        return f"{owner}({name}=...)"

    base_url = values["base_url"]
    if base_url is not None:
        _type(owner, "base_url", base_url, str, "a str such as 'https://api.example.com'")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{arg('base_url')} must start with http:// or https://, got {base_url!r}"
            )
    timeout = values["timeout"]
    if not isinstance(timeout, Timeout):
        _seconds(owner, "timeout", timeout, allow_none=False)
    for name in ("connect_timeout", "read_timeout"):
        _seconds(owner, name, values[name], allow_none=True)
    for name, low in (("max_connections", 1), ("max_connections_per_host", 0),
                      ("max_redirects", 0)):
        check_count(owner, name, values[name], low)
    if values["max_body_size"] is not None:
        check_count(owner, "max_body_size", values["max_body_size"], 1)
    for name in ("follow_redirects", "http2", "trust_env"):
        _type(owner, name, values[name], bool, "True or False")
    verify = values["verify"]
    if not isinstance(verify, (bool, str, ssl.SSLContext)):
        raise ArgumentTypeError(
            f"{arg('verify')} must be True, False, a CA bundle path or an ssl.SSLContext, "
            f"got {type(verify).__name__}"
        )
    for name in ("proxy", "user_agent"):
        if values[name] is not None:
            _type(owner, name, values[name], str, "a str or None")
    backend = values["backend"]
    if backend not in ("aiohttp", "httpx"):
        raise ConfigurationError(f"{arg('backend')} must be 'aiohttp' or 'httpx', got {backend!r}")
    if values["http2"] and backend != "httpx" and not _is_httpx(values.get("session")):
        raise ConfigurationError(
            f"{arg('http2')}: HTTP/2 needs the httpx backend; pass backend='httpx' as well"
        )
    return HttpClientConfig(
        base_url=base_url, timeout=timeout if isinstance(timeout, Timeout) else float(timeout),
        connect_timeout=_float(values["connect_timeout"]),
        read_timeout=_float(values["read_timeout"]),
        headers=_headers(owner, values["headers"]),
        max_connections=values["max_connections"],
        max_connections_per_host=values["max_connections_per_host"],
        verify=verify, proxy=values["proxy"], cookies=_cookies(owner, values["cookies"]),
        follow_redirects=values["follow_redirects"], max_redirects=values["max_redirects"],
        max_body_size=values["max_body_size"], backend=backend, http2=values["http2"],
        trust_env=values["trust_env"], user_agent=values["user_agent"],
    )


def basic_auth(owner: str, auth: Any) -> str:
    """The ``Authorization`` value for ``auth=(user, password)`` (HTTP Basic)."""
    if (
        not isinstance(auth, tuple) or len(auth) != 2
        or not all(isinstance(part, str) for part in auth)
    ):
        raise ArgumentTypeError(
            f"{owner}(auth=...) must be a (user, password) tuple of str, got {type(auth).__name__}"
        )
    user, password = auth
    if ":" in user:
        raise ConfigurationError(f"{owner}(auth=...): the user name cannot contain ':'")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def check_number(
    owner: str, name: str, value: Any, *, wanted: str = "a number", integer: bool = False
) -> None:
    """A ready-made class's own argument (``CachedClient(cache_ttl)``): a ``TypeError`` for a
    non-number (saying ``base_url=`` is a keyword when it looks like a URL), a
    ConfigurationError when it is not > 0."""
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        hint = ""
        if isinstance(value, str) and "://" in value:
            hint = f"; the URL goes in base_url=, a keyword: {owner}(base_url={value!r})"
        raise ArgumentTypeError(
            f"{owner}({name}=...) must be {wanted}, got {type(value).__name__} {value!r}{hint}"
        )
    amount: Any = value
    if not amount > 0:  # also rejects NaN
        raise ConfigurationError(f"{owner}({name}=...) must be > 0, got {value}")


def _type(owner: str, name: str, value: Any, kind: type, wanted: str) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ArgumentTypeError(f"{owner}({name}=...) must be {wanted}, got {type(value).__name__}")


def _seconds(owner: str, name: str, value: Any, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        wanted = "a number of seconds" + (" or None" if allow_none else " or a Timeout")
        raise ArgumentTypeError(f"{owner}({name}=...) must be {wanted}, got {type(value).__name__}")
    if not value > 0:  # also rejects NaN
        raise ConfigurationError(f"{owner}({name}=...) must be > 0 seconds, got {value}")


def ssl_setting(owner: str, verify: Any) -> ssl.SSLContext | bool:
    """What ``verify=`` asks of TLS, for either library: True, False (unsafe), or an
    ``SSLContext`` (given, or made from a CA bundle path that must exist)."""
    if isinstance(verify, (str, PathLike)):
        path = Path(verify)
        if not path.exists():
            raise ConfigurationError(
                f"{owner}(verify=...): CA bundle {str(path)!r} does not exist"
            )
        return ssl.create_default_context(cafile=str(path))
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    raise ArgumentTypeError(
        f"{owner}(verify=...) must be True, False, a CA bundle path or an ssl.SSLContext, "
        f"got {type(verify).__name__}"
    )


def check_count(owner: str, name: str, value: Any, low: int) -> None:
    """An int argument (not a bool) of at least ``low``: a TypeError, else a ConfigurationError
    naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{owner}({name}=...) must be an int, got {type(value).__name__}")
    if value < low:
        raise ConfigurationError(f"{owner}({name}=...) must be >= {low}, got {value}")


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _headers(owner: str, headers: Any) -> dict[str, str] | None:
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        raise ArgumentTypeError(
            f"{owner}(headers=...) must be a mapping of str to str, got {type(headers).__name__}"
        )
    out = dict(headers)
    for key, value in out.items():
        try:
            check_header(key, value)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{owner}(headers=...): {exc}") from None
    return out


def _cookies(owner: str, cookies: Any) -> dict[str, str] | None:
    if cookies is None:
        return None
    if not isinstance(cookies, Mapping):
        raise ArgumentTypeError(
            f"{owner}(cookies=...) must be a mapping of str to str, got {type(cookies).__name__}"
        )
    return {str(k): str(v) for k, v in cookies.items()}


def _is_httpx(session: Any) -> bool:
    return session is not None and type(session).__module__.startswith("httpx")


def check_header(name: str, value: Any) -> None:
    """Reject header names/values that cannot be sent (or would split the request)."""
    if not isinstance(name, str) or not name or any(c in name for c in " :\r\n\t"):
        raise ConfigurationError(f"invalid header name {name!r}")
    if not isinstance(value, str):
        kind = type(value).__name__
        raise ConfigurationError(f"header {name!r}: value must be a str, got {kind}")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ConfigurationError(f"header {name!r}: value contains a line break or NUL")


def validate_config(model: type[BaseModel], owner: str, values: dict[str, Any]) -> Any:
    """Build a pydantic ``model`` from ``values`` (the NetworkManager's settings), turning
    pydantic's error into a ConfigurationError that names the argument."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{owner}({'.'.join(str(p) for p in err['loc']) or 'argument'}=...): "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigurationError(problems) from None
    except ConfigurationError as exc:
        raise ConfigurationError(f"{owner}: {exc}") from None

"""Validated configuration for the clients (pydantic v2).

Constructor arguments are checked once, up front; a bad value raises
:class:`~pepperpy_core.exceptions.ConfigurationError` naming the field, e.g.
``HttpClient: timeout: must be > 0 seconds (got -1)``.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pepperpy_core.exceptions import ConfigurationError

__all__ = ["HttpClientConfig", "validate_config"]


def _positive_seconds(value: Any, name: str) -> Any:
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value  # non-numbers (a Timeout object) are checked by their own type
    if value <= 0:
        raise ValueError(f"must be > 0 seconds (got {value})")
    return float(value)


class HttpClientConfig(BaseModel):
    """Everything ``HttpClient(...)`` accepts, validated. Units are seconds and bytes."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", frozen=True)

    base_url: str | None = None
    #: Total seconds for one request (a number) or a ``Timeout(total, connect, read)``.
    timeout: Any = 30.0
    #: Seconds to establish a connection (and wait for a pooled one); None: bounded by total.
    connect_timeout: float | None = 10.0
    #: Seconds allowed between two received chunks; None: bounded by total.
    read_timeout: float | None = 30.0
    retries: Any = 3
    headers: dict[str, str] | None = None
    #: Open connections across all hosts.
    max_connections: int = Field(100, gt=0)
    #: Open connections to one host; 0 means only ``max_connections`` applies.
    max_connections_per_host: int = Field(0, ge=0)
    #: True (system CAs), False (no verification: unsafe), a CA bundle path, or an SSLContext.
    verify: bool | str | ssl.SSLContext = True
    proxy: str | None = None
    cookies: dict[str, str] | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(10, ge=0)
    #: Largest body buffered in memory, in bytes; None: no cap. Use ``stream()`` for more.
    max_body_size: int | None = Field(100 * 1024 * 1024, gt=0)
    backend: Literal["aiohttp", "httpx"] = "aiohttp"
    http2: bool = False
    trust_env: bool = False
    user_agent: str | None = None

    @field_validator("timeout", "connect_timeout", "read_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info: Any) -> Any:
        return _positive_seconds(value, info.field_name)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value:
            for key, item in value.items():
                check_header(key, item)
        return value


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
    """Build ``model`` from ``values``, turning pydantic's error into a ConfigurationError."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'argument'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"{owner}: {problems}") from None
    except ConfigurationError as exc:
        raise ConfigurationError(f"{owner}: {exc}") from None

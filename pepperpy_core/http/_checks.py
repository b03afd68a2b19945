"""Checks of what would change a request on the wire, made before anything is sent.

A control character in a URL, a header or the User-Agent would either split the request or be
silently dropped by the library underneath (so a different URL is requested); a malformed IPv6
literal is read differently by different parsers. Both are refused with an error naming the
argument. Wrong argument types get :class:`ArgumentTypeError` (a ``TypeError``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from pepperpy_core._redact import redact_url
from pepperpy_core.exceptions import ArgumentTypeError, ConfigurationError, InvalidURLError

__all__ = ["check_header_strict", "check_headers_arg", "check_url_text"]

#: C0 controls, DEL and C1 controls (what no URL or header may carry raw).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Header values may also carry a horizontal tab; nothing else below 0x20.
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: RFC 9110 token characters: what a header name is made of.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _where(argument: str) -> str:
    return f"{argument}: " if argument else ""


def check_url_text(url: str, argument: str = "url") -> None:
    """Refuse control characters and a malformed IPv6 literal in ``url``."""
    found = _CONTROL.search(url)
    if found is not None:
        raise InvalidURLError(
            f"{_where(argument)}URL contains control character {found.group()!r} at offset "
            f"{found.start()}; it would change the request on the wire "
            f"({redact_url(_CONTROL.sub('?', url))})"
        )
    scheme_end = url.find("://")
    if scheme_end < 0:
        return
    rest = url[scheme_end + 3 :]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rsplit("@", 1)[-1]
    if "[" not in host and "]" not in host:
        return
    match = re.fullmatch(r"\[(?P<addr>[^\[\]]*)\](?::(?P<port>[0-9]*))?", host)
    if match is None:
        raise InvalidURLError(f"{_where(argument)}malformed IPv6 literal in URL host {host!r}")
    address = match.group("addr")
    zone = None
    if "%" in address:
        address, _, zone = address.partition("%")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise InvalidURLError(
            f"{_where(argument)}malformed IPv6 literal in URL host {host!r}"
        ) from None
    if zone is not None and not zone:
        raise InvalidURLError(f"{_where(argument)}empty IPv6 zone in URL host {host!r}")


def check_header_strict(name: Any, value: Any, argument: str = "headers") -> None:
    """Refuse a header that is not a token name with a control-free ``str`` value."""
    if not isinstance(name, str):
        raise ArgumentTypeError(
            f"{argument}: header names must be str, got {type(name).__name__}"
        )
    if not isinstance(value, str):
        raise ArgumentTypeError(
            f"{argument}: header {name!r}: value must be a str, got {type(value).__name__}"
        )
    if not _TOKEN.match(name):
        raise ConfigurationError(
            f"{argument}: invalid header name {name!r} (letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    found = _VALUE_CONTROL.search(value)
    if found is not None:
        kind = "a line break" if found.group() in "\r\n" else "control character"
        raise ConfigurationError(
            f"{argument}: header {name!r}: value contains {kind} {found.group()!r}; "
            "it would change the request on the wire"
        )


def check_headers_arg(headers: Any, argument: str = "headers") -> Mapping[str, str]:
    """``headers`` checked to be a mapping of valid headers (then returned)."""
    if not isinstance(headers, Mapping):
        raise ArgumentTypeError(
            f"{argument}: expected a mapping of header name to value (a dict), got "
            f"{type(headers).__name__}"
        )
    for key, value in headers.items():
        check_header_strict(key, value, argument)
    return headers

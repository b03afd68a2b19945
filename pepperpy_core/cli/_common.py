"""Shared plumbing for the subcommands: exit codes, one-line errors, header parsing.

Exit codes (the same for every subcommand; the network ones are curl's numbers):

====  ==========================================================================
0     success
1     a failure the command reports (a failed download, offline at the end, ...)
2     bad arguments or configuration (the message names the flag)
3     a 3xx response that was not followed, with ``get --check-status``
4     a 4xx response, with ``get --check-status``
5     a 5xx response, with ``get --check-status``
6     the host name could not be resolved
7     could not connect (refused, unreachable) or the connection broke
28    timed out
35    TLS failure (certificate not trusted, handshake failed)
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import math
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from pepperpy_core.exceptions import ConfigurationError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REDIRECT = 3
EXIT_CLIENT_ERROR = 4
EXIT_SERVER_ERROR = 5
EXIT_DNS = 6
EXIT_CONNECT = 7
EXIT_TIMEOUT = 28
EXIT_TLS = 35
EXIT_INTERRUPTED = 130

#: Words in our connection errors' messages that tell the cause when no cause object is kept.
_TLS_WORDS = ("certificate", "tls handshake", "[ssl")
_DNS_WORDS = ("name or service not known", "nodename nor servname", "name resolution",
              "getaddrinfo", "no address associated", "cannot resolve", "not resolve")


class UsageError(ConfigurationError):
    """Arguments that cannot work, found before any work starts; the message names the flag
    or the value. The command line prints it under the subcommand's usage and exits 2."""


def run_guarded(coro: Coroutine[Any, Any, int], *, debug: bool = False) -> int:
    """Run a subcommand's coroutine, turning errors into one line and an exit code."""
    import asyncio

    from pepperpy_core.logging import configure_logging

    configure_logging("DEBUG" if debug else "ERROR")
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError:
        raise  # the caller shows it with the subcommand's usage
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exit_code_for(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an exception."""
    import asyncio
    import socket
    import ssl

    from pepperpy_core.exceptions import (
        TimeoutError,
        TransportError,
        WebSocketConnectionError,
    )

    if isinstance(exc, (ConfigurationError, ValueError)):
        return EXIT_USAGE
    if isinstance(exc, TimeoutError):
        return EXIT_TIMEOUT
    if not isinstance(exc, (TransportError, WebSocketConnectionError, OSError)):
        return EXIT_FAILURE
    chain = _chain(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return EXIT_DNS
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return EXIT_TLS
    if any(isinstance(e, (asyncio.TimeoutError, socket.timeout)) for e in chain):
        return EXIT_TIMEOUT
    text = " ".join(str(e) for e in chain).lower()
    if any(word in text for word in _DNS_WORDS):
        return EXIT_DNS
    if any(word in text for word in _TLS_WORDS):
        return EXIT_TLS
    return EXIT_CONNECT


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``, with a clear error otherwise."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"-H {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def number(kind: type[float] | type[int], *, minimum: float = 0,
           inclusive: bool = False) -> Callable[[str], Any]:
    """An argparse ``type=`` that reads a number above ``minimum`` (or at it, ``inclusive``);
    argparse puts the flag's name in front of the message: ``argument --timeout: must be > 0``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (value == minimum and not inclusive):
            sign = ">=" if inclusive else ">"
            raise argparse.ArgumentTypeError(f"must be {sign} {minimum:g}, got {text}")
        return value

    return parse


def check_url(text: str, schemes: tuple[str, ...] = ("http", "https"), *,
              what: str = "URL") -> str:
    """``text`` if it is an absolute URL with one of ``schemes`` and a host; a
    :class:`UsageError` naming it (secrets redacted) otherwise."""
    from urllib.parse import urlsplit

    from pepperpy_core.logging import redact_url

    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        shown = redact_url(text)
    except ValueError:
        shown = text.split("@")[-1]
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - checks the port (out of range or not a number)
    except ValueError as exc:
        raise UsageError(f"{what} {shown!r}: {exc}") from None
    if parts.scheme.lower() not in schemes:
        raise UsageError(f"{what} {shown!r}: expected a URL starting with {wanted}")
    if not parts.hostname:
        raise UsageError(f"{what} {shown!r}: no host name")
    return text

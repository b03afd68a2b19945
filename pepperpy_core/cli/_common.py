"""Shared plumbing for the subcommands: exit codes, one-line errors, header parsing."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Coroutine
from typing import Any

from pepperpy_core.exceptions import (
    ConfigurationError,
    PepperPyError,
    TransportError,
    WebSocketConnectionError,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3
EXIT_INTERRUPTED = 130


def run_guarded(coro: Coroutine[Any, Any, int], *, debug: bool = False) -> int:
    """Run a subcommand's coroutine, turning errors into one line and an exit code."""
    from pepperpy_core.logging import configure_logging

    configure_logging("DEBUG" if debug else "WARNING")
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exit_code_for(exc)


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an exception."""
    if isinstance(exc, (ConfigurationError, ValueError)):
        return EXIT_USAGE
    if isinstance(exc, (TransportError, WebSocketConnectionError, OSError)):
        return EXIT_NETWORK
    if isinstance(exc, PepperPyError):
        return EXIT_FAILURE
    return EXIT_FAILURE


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``, with a clear error otherwise."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ConfigurationError(f"-H {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()

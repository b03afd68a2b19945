"""Structured logging for pepperpy-core, through structlog.

The library only *emits* events (``get_logger(name).debug("http.attempt", ...)``); it never
configures logging globally. structlog itself is imported on the first event that is emitted,
not with the library: until someone imports it, nobody can have configured it, so debug events
are off and ``import pepperpy_core`` stays light. Applications that want a ready setup may call
:func:`configure_logging`. Secrets never reach a log line: :func:`redact_headers` and
:func:`redact_url` replace credentials with ``"[REDACTED]"``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pepperpy_core._redact import REDACTED, is_secret_name, redact_headers, redact_url
from pepperpy_core.exceptions import ConfigurationError

__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "is_secret_name",
    "redact_headers",
    "redact_url",
]


class _LibraryLogger:
    """Forwards to structlog, except that debug events are dropped until the application
    configures structlog: an unconfigured structlog prints everything to stdout, and a library
    must not fill a user's terminal with per-request lines they never asked for.

    The structlog logger is looked up on each event rather than held: a proxy kept at module
    level would, under ``cache_logger_on_first_use``, stay bound to whatever configuration was
    active first, and ignore the application's later one."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def debug(self, event: str, **kw: Any) -> None:
        if debug_enabled():
            _structlog().get_logger(self._name).debug(event, **kw)

    def info(self, event: str, **kw: Any) -> None:
        _structlog().get_logger(self._name).info(event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        _structlog().get_logger(self._name).warning(event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        _structlog().get_logger(self._name).error(event, **kw)

    def exception(self, event: str, **kw: Any) -> None:
        _structlog().get_logger(self._name).exception(event, **kw)


def _structlog() -> Any:
    import structlog

    return structlog


_debug_by_wrapper: dict[Any, bool] = {}


class _PublicConfig:
    """structlog's configuration read through its public (slower) API, for versions that keep
    it elsewhere than ``structlog._config._CONFIG``."""

    @property
    def is_configured(self) -> bool:
        return bool(_structlog().is_configured())

    @property
    def default_wrapper_class(self) -> Any:
        return _structlog().get_config()["wrapper_class"]


#: structlog's live configuration once structlog is loaded (its ``get_config()`` copies it on
#: each call); None before.
_STRUCTLOG_CONFIG: Any = None


def _bind_structlog() -> Any:
    """structlog's live configuration, or None while structlog is not loaded (and so cannot be
    configured): the library does not load it just to ask."""
    global _STRUCTLOG_CONFIG
    module = sys.modules.get("structlog._config")
    if module is None:
        return None
    _STRUCTLOG_CONFIG = getattr(module, "_CONFIG", None) or _PublicConfig()
    return _STRUCTLOG_CONFIG


#: The wrapper class last asked about and its answer (one tuple, replaced whole, so that a
#: reader never pairs one class with another's answer).
_last: tuple[Any, bool] = (None, False)


def _debug_for(wrapper: Any) -> bool:
    """Whether ``wrapper`` (a structlog wrapper class) emits debug events; probed once."""
    global _last
    known = _debug_by_wrapper.get(wrapper)
    if known is None:
        known = True
        if hasattr(wrapper, "is_enabled_for"):
            try:
                probe = wrapper(None, processors=[], context={})
                known = bool(probe.is_enabled_for(logging.DEBUG))
            except Exception:  # an unusual wrapper class: assume it wants everything
                known = True
        _debug_by_wrapper[wrapper] = known
    _last = (wrapper, known)
    return known


def debug_enabled() -> bool:
    """Whether a debug event would be emitted under the current structlog configuration
    (False while structlog is unconfigured). Cached per wrapper class: it runs on every request,
    so the common case is two attribute reads and an identity check."""
    config = _STRUCTLOG_CONFIG
    if config is None:
        config = _bind_structlog()
        if config is None:
            return False
    if not config.is_configured:
        return False
    wrapper = config.default_wrapper_class
    last = _last
    return last[1] if wrapper is last[0] else _debug_for(wrapper)


def get_logger(name: str) -> Any:
    """The logger for one pepperpy-core component (``name`` is its event namespace)."""
    return _LibraryLogger(name)


def configure_logging(level: int | str = "INFO", *, json: bool = False) -> None:
    """Opt-in helper for applications: structlog to stderr at ``level``, console or JSON lines.

    The library never calls this itself.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ConfigurationError(f"configure_logging(level=...): unknown level {level!r}")
    structlog = _structlog()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )

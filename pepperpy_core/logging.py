"""Logging for pepperpy-core: structured events through the standard library's ``logging``.

The library only *emits* events (``get_logger(name).info("websocket.connected", url=...)``),
each one a :class:`logging.LogRecord` on a logger named ``pepperpy_core.<component>``; it never
configures logging. So the application's own set-up decides what appears:
``logging.basicConfig(level=logging.WARNING)``, a ``dictConfig``, or nothing at all, in which
case nothing is printed but what Python's last-resort handler shows (WARNING and above, on
stderr). An event is built only when its logger is enabled for its level.

Levels mean the same everywhere: DEBUG per attempt and per frame, INFO for lifecycle
(connected, reconnected, downloaded), WARNING for a degraded state (retrying, reconnecting,
stalled), ERROR when the library gave up on something nobody else will hear about.

Each record carries the event name as ``record.event`` and its fields as
``record.event_fields`` (a dict); its message reads ``event key=value ...``. String fields are
redacted (:func:`redact_text`) before they reach any handler. :func:`configure_logging` is the
one-liner for structlog's console or JSON rendering; structlog is imported only then. Every
event also goes to the observers of :mod:`pepperpy_core._observe` (counters, OpenTelemetry),
whatever the level.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, MutableMapping
from functools import partial
from typing import IO, Any

import pepperpy_core._observe as _observe
from pepperpy_core._redact import REDACTED, is_secret_name, redact_headers, redact_text, redact_url
from pepperpy_core.exceptions import ConfigurationError

__all__ = [
    "REDACTED",
    "add_event_fields",
    "configure_logging",
    "debug_enabled",
    "get_logger",
    "is_secret_name",
    "redact_headers",
    "redact_url",
]

DEBUG, INFO, WARNING, ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR


class _LibraryLogger:
    """One component's events, sent to the stdlib logger of the same name."""

    __slots__ = ("_logger", "debug_enabled", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger = logging.getLogger(name)
        #: ``debug_enabled()``: whether a debug event of this component would be emitted (the
        #: check to make before building an expensive one). A partial of the stdlib check, so
        #: the hot paths that ask on every request pay one Python call, not two.
        self.debug_enabled: Callable[[], bool] = partial(self._logger.isEnabledFor, DEBUG)

    def __repr__(self) -> str:
        return f"<pepperpy_core logger {self.name}>"

    def debug(self, event: str, **fields: Any) -> None:
        if _observe.observers:
            _observe.notify(self.name, DEBUG, event, fields)
        if self._logger.isEnabledFor(DEBUG):
            self._emit(DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        if _observe.observers:
            _observe.notify(self.name, INFO, event, fields)
        if self._logger.isEnabledFor(INFO):
            self._emit(INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        if _observe.observers:
            _observe.notify(self.name, WARNING, event, fields)
        if self._logger.isEnabledFor(WARNING):
            self._emit(WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        if _observe.observers:
            _observe.notify(self.name, ERROR, event, fields)
        if self._logger.isEnabledFor(ERROR):
            self._emit(ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """An ERROR event with the exception being handled attached (``exc_info``)."""
        if _observe.observers:
            _observe.notify(self.name, ERROR, event, fields)
        if self._logger.isEnabledFor(ERROR):
            self._emit(ERROR, event, fields, exc_info=True)

    def _emit(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        safe = {key: _scrub(value) for key, value in fields.items()}
        # stacklevel 3: the record names the library's call site, not this module
        self._logger.log(
            level, _message(event, safe), exc_info=exc_info, stacklevel=3,
            extra={"event": event, "event_fields": safe},
        )


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(item) for item in value)
    return value


def _message(event: str, fields: Mapping[str, Any]) -> str:
    """``event key=value ...``: bare values where they read unambiguously, ``repr`` else."""
    parts = [event]
    for key, value in fields.items():
        text = value if isinstance(value, str) else None
        if text is None or not text or any(c in text for c in " \"'=\n\t"):
            text = repr(value) if not isinstance(value, (int, float)) else str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


_ROOT = logging.getLogger("pepperpy_core")


def debug_enabled() -> bool:
    """Whether the ``pepperpy_core`` logger emits debug events (each component's logger also
    answers for itself: ``get_logger(name).debug_enabled()``)."""
    return _ROOT.isEnabledFor(DEBUG)


def get_logger(name: str) -> Any:
    """The logger for one pepperpy-core component (``name``: ``pepperpy_core.<component>``,
    also its stdlib logger's name)."""
    return _LibraryLogger(name)


def add_event_fields(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor for ``ProcessorFormatter(foreign_pre_chain=[...])``: a record from
    pepperpy-core becomes its event name and fields rather than its flat message text."""
    record = event_dict.get("_record")
    fields = getattr(record, "event_fields", None)
    if isinstance(fields, Mapping):
        event_dict["event"] = record.event  # type: ignore[union-attr]
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (a progress bar's
    proxy, a test's capture), like Python's own last-resort handler."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


#: Marks the handler :func:`configure_logging` installed (replaced by a later call).
_MARK = "_pepperpy_core_handler"


def configure_logging(
    level: int | str = "INFO", *, json: bool = False, stream: IO[str] | None = None
) -> logging.Handler:
    """Opt-in one-liner for applications: every record (pepperpy-core's, the application's,
    other libraries') rendered by structlog, as aligned console lines or one JSON object per
    line, to ``stream`` (default: the current ``sys.stderr``), from ``level`` up.

    It sets the root logger's level and puts one handler on it (a second call replaces the
    first's handler), and routes the application's own ``structlog.get_logger()`` events to the
    same output. Returns the handler. The library never calls this itself.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int) or isinstance(numeric, bool):
        raise ConfigurationError(f"configure_logging(level=...): unknown level {level!r}")
    import structlog

    shared: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    tail: list[Any] = [structlog.processors.format_exc_info] if json else []
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[add_event_fields, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    ))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    return handler


def reset_logging() -> None:
    """Undo :func:`configure_logging`: its handler removed, the root level back to WARNING,
    structlog back to its defaults (for tests and for tools that configure per command)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.setLevel(WARNING)
    if "structlog" in sys.modules:
        sys.modules["structlog"].reset_defaults()

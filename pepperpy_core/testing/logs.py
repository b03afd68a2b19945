"""``capture_events()``: the library's log events as dicts, for tests of code built on it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["capture_events"]


class _Collector(logging.Handler):
    def __init__(self, into: list[dict[str, Any]]) -> None:
        super().__init__(logging.NOTSET)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "event_fields", None)
        event: dict[str, Any] = {
            "event": getattr(record, "event", None) or record.getMessage(),
            "log_level": record.levelname.lower(),
            "logger": record.name,
        }
        if isinstance(fields, dict):
            event.update(fields)
        self.into.append(event)


@contextmanager
def capture_events(
    level: int = logging.DEBUG, logger: str = "pepperpy_core"
) -> Iterator[list[dict[str, Any]]]:
    """Collect the events of ``logger`` (and its children) from ``level`` up while the block
    runs: each one ``{"event": name, "log_level": "info", "logger": ..., **fields}`` (the
    shape of ``structlog.testing.capture_logs``). The logger's level is restored after."""
    target = logging.getLogger(logger)
    events: list[dict[str, Any]] = []
    handler = _Collector(events)
    saved = target.level
    target.setLevel(level)
    target.addHandler(handler)
    try:
        yield events
    finally:
        target.removeHandler(handler)
        target.setLevel(saved)

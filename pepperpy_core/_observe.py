"""Where telemetry plugs in: observers of the library's events, and an optional span hook.

Every event the library logs (``websocket.reconnected``, ``download.done``, ``http.retry``...)
is also handed to the observers subscribed here, whatever the logging level: counters and
OpenTelemetry are built on the same events as the logs. With no observer (the default) the
cost is one check of an empty tuple per event.

The span hook is what the WebSocket client wraps a connect and a reconnect in
(:func:`traced`); without OpenTelemetry it hands the work back untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

__all__ = ["Observer", "observers", "span", "subscribe", "traced", "unsubscribe"]

T = TypeVar("T")

#: ``(logger name, level, event, fields)``; must not raise (an error is dropped).
Observer = Callable[[str, int, str, Mapping[str, Any]], None]

#: The subscribed observers (a tuple, replaced whole: readers never see it half changed).
observers: tuple[Observer, ...] = ()


def subscribe(observer: Observer) -> None:
    """Hand every later event to ``observer`` (once, however often it subscribes)."""
    global observers
    if observer not in observers:
        observers = (*observers, observer)


def unsubscribe(observer: Observer) -> None:
    global observers
    observers = tuple(o for o in observers if o != observer)


def notify(logger: str, level: int, event: str, fields: Mapping[str, Any]) -> None:
    for observer in observers:
        try:
            observer(logger, level, event, fields)
        except Exception:  # telemetry must never break the caller
            pass


SpanFactory = Callable[[str, Mapping[str, Any]], AbstractContextManager[Any]]

_NO_SPAN: AbstractContextManager[Any] = nullcontext()
_span_factory: SpanFactory | None = None


def span(name: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A span around a piece of work when a tracer is installed, else a shared no-op."""
    factory = _span_factory
    return _NO_SPAN if factory is None else factory(name, attributes)


def traced(name: str, url: str, work: Awaitable[T]) -> Coroutine[Any, Any, T]:
    """``work`` inside a span named ``name`` (with the URL's attributes) when a tracer is
    installed; else ``work`` itself (a coroutine), untouched."""
    if _span_factory is None and isinstance(work, Coroutine):
        return cast("Coroutine[Any, Any, T]", work)
    return _in_span(name, url, work)


async def _in_span(name: str, url: str, work: Awaitable[T]) -> T:
    parts = urlsplit(url)
    attributes: dict[str, Any] = {"url.full": url, "server.address": parts.hostname or ""}
    try:
        if parts.port:
            attributes["server.port"] = parts.port
    except ValueError:
        pass
    with span(name, attributes):
        return await work


def span_factory() -> SpanFactory | None:
    return _span_factory


def set_span_factory(factory: SpanFactory | None) -> None:
    global _span_factory
    _span_factory = factory

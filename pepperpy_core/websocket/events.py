"""Event handlers for a WebSocket: registration with ``@ws.on(name)`` and safe dispatch.

Handlers may be plain functions or coroutines. A handler that raises never breaks the caller:
its exception goes to the ``error`` handlers, and an ``error`` handler that raises is logged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.logging import get_logger

__all__ = ["EVENTS", "EventHandlers", "Handler"]

_log = get_logger("pepperpy_core.websocket")

#: Event names and the argument each handler receives.
#: message: the decoded message; error: the exception; connect: nothing;
#: disconnect: the exception that ended the connection (None after ``close()``);
#: reconnect: how many attempts the reconnect took.
EVENTS = frozenset({"message", "error", "connect", "disconnect", "reconnect"})

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)


def _takes_argument(handler: Handler) -> bool:
    """Whether ``handler`` accepts one positional argument (zero-argument handlers are fine)."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):  # builtins without a signature: assume they take one
        return True
    try:
        signature.bind(None)
    except TypeError:
        return False
    return True


class EventHandlers:
    """The handlers registered on one WebSocket, per event name, in registration order."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[Handler, bool]]] = {name: [] for name in EVENTS}

    @staticmethod
    def check(event: str) -> None:
        """Raise :class:`ConfigurationError` (a ``ValueError``) for an unknown event name."""
        if event not in EVENTS:
            known = ", ".join(sorted(EVENTS))
            raise ConfigurationError(f"unknown WebSocket event {event!r}; known events: {known}")

    def add(self, event: str, handler: Handler) -> None:
        self.check(event)
        if not callable(handler):
            raise ConfigurationError(f"handler for {event!r} must be callable, got {handler!r}")
        self._handlers[event].append((handler, _takes_argument(handler)))

    def remove(self, event: str, handler: Handler) -> None:
        """Unregister ``handler``; unknown handlers are ignored."""
        self.check(event)
        self._handlers[event] = [pair for pair in self._handlers[event] if pair[0] != handler]

    def has(self, event: str) -> bool:
        return bool(self._handlers[event])

    async def emit(self, event: str, argument: Any = None) -> None:
        """Call every handler of ``event`` in order; failures go to the error handlers."""
        for handler, takes_argument in tuple(self._handlers[event]):
            try:
                result = handler(argument) if takes_argument else handler()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # a handler must never kill the loop
                await self._handler_failed(event, handler, exc)

    async def _handler_failed(self, event: str, handler: Handler, exc: Exception) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        if event == "error" or not self._handlers["error"]:
            # Nobody else to tell (or the error handler itself failed): the log is the report.
            _log.error("websocket.handler_failed", ws_event=event, handler=name, error=repr(exc))
            return
        _log.debug("websocket.handler_failed", ws_event=event, handler=name, error=repr(exc))
        await self.emit("error", exc)


def decorator_for(handlers: EventHandlers, event: str) -> Callable[[H], H]:
    """The ``@ws.on(event)`` decorator; the name is checked now, at registration."""
    handlers.check(event)

    def register(handler: H) -> H:
        handlers.add(event, handler)
        return handler

    return register

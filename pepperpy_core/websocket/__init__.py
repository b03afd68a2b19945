"""WebSocket client: JSON messages, event handlers, keepalive, auto-reconnect, retry and
batching layers. See ``docs/websocket.md``."""

from pepperpy_core.websocket.batch import BatchWebSocket
from pepperpy_core.websocket.client import WebSocket
from pepperpy_core.websocket.events import EVENTS
from pepperpy_core.websocket.outbox import Outbox, OutboxPolicy
from pepperpy_core.websocket.reconnect import ReconnectPolicy
from pepperpy_core.websocket.retry import RetryWebSocket

__all__ = [
    "EVENTS",
    "BatchWebSocket",
    "Outbox",
    "OutboxPolicy",
    "ReconnectPolicy",
    "RetryWebSocket",
    "WebSocket",
]

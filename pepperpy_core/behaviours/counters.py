"""``EventCounters``: the WebSocket, download and network-monitor counters of a process.

They are counted from the library's events (:mod:`pepperpy_core._observe`), whatever the
logging level, for every client in the process: one instance made at start-up is enough. Read
them with :meth:`EventCounters.snapshot` or expose them to Prometheus with
:meth:`EventCounters.register`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

import pepperpy_core._observe as _observe
from pepperpy_core.behaviours.metrics import HostLabels

if TYPE_CHECKING:
    from pepperpy_core.behaviours.prometheus import Registry

__all__ = ["EventCounters"]

#: event -> (counter, extra label value or None). Counters are labelled by host
#: (``server_address``), the network ones by state.
_COUNTED: dict[str, tuple[str, str]] = {
    "websocket.connected": ("websocket_connections", ""),
    "websocket.reconnected": ("websocket_reconnects", ""),
    "websocket.disconnected": ("websocket_disconnects", ""),
    "websocket.connect_failed": ("websocket_connect_failures", ""),
    "websocket.connect_attempt_failed": ("websocket_connect_failures", ""),
    "websocket.reconnect_gave_up": ("websocket_reconnect_give_ups", ""),
    "download.done": ("downloads", "done"),
    "download.failed": ("downloads", "failed"),
    "download.retry": ("download_retries", ""),
    "network.online": ("network_transitions", "online"),
    "network.offline": ("network_transitions", "offline"),
}


class EventCounters:
    """Counts of the library's lifecycle events, from the moment it is made until
    :meth:`close` (also a context manager).

    ``counts`` maps ``(counter, host, label)`` to a number, where counter is one of
    ``websocket_connections``, ``websocket_reconnects``, ``websocket_disconnects``,
    ``websocket_connect_failures``, ``websocket_reconnect_give_ups``, ``downloads`` (label
    ``done`` or ``failed``), ``download_retries``, ``network_transitions`` (label ``online`` or
    ``offline``, no host); ``download_bytes`` counts the bytes of finished downloads by host and
    ``network_online`` is the monitor's last state (None before the first)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        self.download_bytes: dict[str, int] = {}
        self.network_online: bool | None = None
        self._host = HostLabels()
        _observe.subscribe(self._on_event)

    def close(self) -> None:
        """Stop counting (the figures so far stay readable)."""
        _observe.unsubscribe(self._on_event)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_event(self, logger: str, level: int, event: str, fields: Mapping[str, Any]) -> None:
        counted = _COUNTED.get(event)
        if counted is None:
            return
        name, label = counted
        if name == "network_transitions":
            host = ""
            self.network_online = label == "online"
        else:
            url = fields.get("url") or fields.get("target") or ""
            host = self._host(str(url))
        key = (name, host, label)
        self.counts[key] = self.counts.get(key, 0) + 1
        if event == "download.done":
            size = fields.get("bytes")
            if isinstance(size, int):
                self.download_bytes[host] = self.download_bytes.get(host, 0) + size

    def total(self, counter: str) -> int:
        """One counter summed over its labels (``total("websocket_reconnects")``)."""
        return sum(n for (name, _, _), n in self.counts.items() if name == counter)

    def snapshot(self) -> dict[str, Any]:
        """Every counter summed over hosts, plus the bytes downloaded and the network state."""
        out: dict[str, Any] = {}
        for (name, _, label), n in self.counts.copy().items():
            key = f"{name}_{label}" if label else name
            out[key] = out.get(key, 0) + n
        out["download_bytes"] = sum(self.download_bytes.values())
        out["network_online"] = self.network_online
        return out

    def register(self, registry: Registry | None = None, *, prefix: str = "pepperpy") -> Any:
        """Expose the counters to ``prometheus_client`` (``pepperpy_websocket_reconnects_total``
        and so on, labelled by ``server_address``); see :meth:`HttpMetrics.register`."""
        from pepperpy_core.behaviours.prometheus import register

        return register(self, registry, prefix=prefix)

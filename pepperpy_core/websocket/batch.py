"""BatchWebSocket: ``send()`` collects messages and sends them as one JSON array.

A batch goes out when it holds ``batch_size`` messages or when ``flush_interval`` seconds
passed since the last flush, by a timer task that runs even when nobody calls ``send()``.
A batch whose send fails is put back, in order, and sent after the reconnect; a batch that was
written but not yet acknowledged by a keepalive pong stays in the outbox and is sent again
after a reconnect, before new ones: nothing is lost, even on a silent (half-open) drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from typing_extensions import Unpack

from pepperpy_core.exceptions import ArgumentTypeError, ConfigurationError
from pepperpy_core.logging import get_logger
from pepperpy_core.websocket.client import BatchOptions, WebSocket
from pepperpy_core.websocket.outbox import OutboxPolicy

__all__ = ["BatchWebSocket"]

_log = get_logger("pepperpy_core.websocket")
_DEFAULT_OUTBOX = OutboxPolicy()


class BatchWebSocket(WebSocket):
    """A WebSocket whose ``send()`` batches JSON messages.

    - ``batch_size``: messages per batch; a full batch is sent at once (>= 1).
    - ``flush_interval``: seconds; a non-empty batch older than this is sent by the timer.
    - ``outbox``: the :class:`OutboxPolicy` that keeps every batch sent since the last
      acknowledged keepalive and sends it again after a reconnect (on by default: at least
      once delivery across any loss, half-open included). None turns it off (needed with
      ``ping_interval=None``).
    - ``clock``: monotonic time source in seconds (None: ``time.monotonic``); the timer
      sleeps through the ``sleep`` option of :class:`WebSocket`, so a ``FakeClock`` drives
      both in tests.

    Messages must be JSON values (bytes cannot go in a JSON array: ``TypeError``); each is
    encoded when ``send()`` is called, so a bad one fails its own caller. ``batch`` holds the
    messages not sent yet. ``close()`` flushes first; whatever still cannot be sent stays in
    ``batch`` and is reported to the error handlers. Other keyword arguments go to the next
    class (:class:`WebSocket`, or :class:`RetryWebSocket` in ``class Feed(BatchWebSocket,
    RetryWebSocket)``).
    """

    def __init__(
        self,
        url: str,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        *,
        outbox: OutboxPolicy | None = _DEFAULT_OUTBOX,
        clock: Callable[[], float] | None = None,
        **kwargs: Unpack[BatchOptions],
    ) -> None:
        super().__init__(url, outbox=outbox, **kwargs)
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        if flush_interval <= 0:
            raise ConfigurationError(f"flush_interval must be > 0 seconds, got {flush_interval}")
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.batch: list[Any] = []
        self._encoded: list[str] = []  # JSON text of each message in ``batch``, same order
        self._batch_clock = clock or time.monotonic
        self.last_flush = self._batch_clock()
        self._flush_lock = asyncio.Lock()
        self._has_items = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None

    async def send(self, data: Any) -> None:
        """Add ``data`` to the batch; send the batch when full or older than the interval."""
        self._check_not_closed()
        if isinstance(data, (bytes, bytearray, memoryview)):
            raise ArgumentTypeError(
                "BatchWebSocket.send(data): sends JSON arrays; binary messages cannot be batched"
            )
        self._encoded.append(self._json_text(data))
        self.batch.append(data)
        self._has_items.set()
        self._ensure_timer()
        full = len(self.batch) >= self.batch_size
        if full or self._batch_clock() - self.last_flush >= self.flush_interval:
            await self._flush()

    async def flush(self) -> None:
        """Send the pending messages now (a failed batch is kept for the next flush)."""
        await self._flush()

    async def _flush(self) -> None:
        async with self._flush_lock:
            if not self.batch:
                return
            items, encoded = self.batch, self._encoded
            self.batch, self._encoded = [], []
            try:
                await super().send("[" + ",".join(encoded) + "]")
            except BaseException as exc:
                # Put the batch back in front of anything added meanwhile: order is kept
                # and the next flush (after the reconnect) sends it.
                self.batch[:0] = items
                self._encoded[:0] = encoded
                self._has_items.set()
                if not isinstance(exc, Exception):
                    raise  # cancelled: the batch is safe, let the cancellation through
                _log.warning("websocket.batch_send_failed", size=len(items), error=str(exc))
                await self._events.emit("error", exc)
            finally:
                self.last_flush = self._batch_clock()

    def _ensure_timer(self) -> None:
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(
                self._flush_timer(), name=f"pepperpy-websocket-batch-timer {self.url}"
            )

    async def _flush_timer(self) -> None:
        """Flush a non-empty batch once it is ``flush_interval`` old; idle while empty."""
        while not self.closed:
            if not self.batch:
                self._has_items.clear()
                await self._has_items.wait()
                continue
            due = self.last_flush + self.flush_interval - self._batch_clock()
            if due > 0:
                await self._sleep(due)
                continue
            await self._flush()
            if self.batch:  # the flush failed: wait an interval before the next try
                await self._sleep(self.flush_interval)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Stop the timer, flush what is pending, then close."""
        if not self.closed:
            timer, self._timer = self._timer, None
            if timer is not None and timer is not asyncio.current_task():
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
            await self._flush()  # a failure is reported inside and leaves the batch in place
            if self.batch:
                _log.warning("websocket.batch_unsent_at_close", size=len(self.batch))
        await super().close(code, reason)

"""RetryWebSocket: ``connect()`` retried with backoff, and reconnecting by default.

A thin layer on the ``connect`` hook over :func:`~pepperpy_core.websocket.reconnect.retry_connect`,
the same loop the client's auto-reconnect uses. It composes with
:class:`~pepperpy_core.websocket.batch.BatchWebSocket`: ``class Feed(BatchWebSocket,
RetryWebSocket)`` is a batching client that retries and reconnects.
"""

from __future__ import annotations

from typing_extensions import Unpack

from pepperpy_core.config import check_count
from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.websocket.client import RetryOptions, WebSocket
from pepperpy_core.websocket.reconnect import ReconnectPolicy, retry_connect

__all__ = ["RetryWebSocket"]


class RetryWebSocket(WebSocket):
    """A WebSocket whose ``connect()`` retries a failed connection up to ``max_retries`` times.

    - ``max_retries``: retries after the first attempt in one ``connect()`` call: ``3`` (the
      default) is at most 4 attempts, ``0`` one attempt. The same meaning as
      ``HttpClient(retries=N)`` and ``DownloadHandler(max_retries=N)``.
    - ``retry_delay``: seconds; the wait before retry n is drawn below
      ``retry_delay * 2**(n-1)`` (full jitter; exact when ``retry_jitter=False``), capped at
      ``retry_max_delay`` seconds.
    - ``auto_reconnect`` defaults to True here: a lost connection is reopened by the same
      backoff loop as :class:`WebSocket`, each round calling this retrying ``connect()``.

    Other keyword arguments go to :class:`WebSocket`. When every attempt fails, ``connect()``
    raises :class:`WebSocketConnectionError` (a built-in ``ConnectionError``) naming the
    attempts and the last error; a permanent failure (bad URL, HTTP 4xx refusal other than
    408/429) is raised at once.
    """

    def __init__(
        self,
        url: str,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        *,
        retry_max_delay: float = 30.0,
        retry_jitter: bool = True,
        auto_reconnect: bool | None = True,
        **kwargs: Unpack[RetryOptions],
    ) -> None:
        super().__init__(url, auto_reconnect=auto_reconnect, **kwargs)
        check_count(type(self).__name__, "max_retries", max_retries, 0)
        if retry_delay < 0 or retry_max_delay < 0:
            raise ConfigurationError("retry_delay and retry_max_delay must be >= 0 seconds")
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.retry_max_delay = retry_max_delay
        self.retry_jitter = retry_jitter

    async def connect(self) -> None:
        """Connect, retrying transient failures with backoff; a no-op when connected."""
        policy = ReconnectPolicy(
            base_delay=self.retry_delay,
            max_delay=self.retry_max_delay,
            jitter=self.retry_jitter,
            max_retries=self.max_retries,
        )
        await retry_connect(
            super().connect,
            policy,
            sleep=self._backoff_wait,
            random=self._random,
            wait_first=False,
            target=self.url,
        )

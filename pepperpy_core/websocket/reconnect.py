"""The reconnect layer: a backoff policy and one loop that retries a ``connect`` hook.

Both the client's auto-reconnect and :class:`~pepperpy_core.websocket.retry.RetryWebSocket`
use :func:`retry_connect`, so they agree on which errors are worth retrying and how long to
wait. Waiting goes through an injected ``sleep`` so tests run on a fake clock.
"""

from __future__ import annotations

import random as _random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pepperpy_core._backoff import full_jitter
from pepperpy_core.exceptions import (
    ConfigurationError,
    WebSocketClosedError,
    WebSocketConnectionError,
    WebSocketHandshakeError,
)
from pepperpy_core.logging import get_logger

__all__ = ["ReconnectPolicy", "is_permanent", "retry_connect"]

_log = get_logger("pepperpy_core.websocket")

# Handshake statuses that may succeed on a later try (timeout, rate limit); other 4xx are a
# verdict on the request itself (auth, path) and retrying them only hammers the server.
_TRANSIENT_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class ReconnectPolicy:
    """How the client waits between connection attempts.

    - ``base_delay``: seconds; the ceiling of the n-th wait is ``base_delay * 2**(n-1)``.
    - ``max_delay``: seconds; the cap on that ceiling.
    - ``jitter``: draw each wait uniformly below its ceiling (full jitter), so many clients
      restarted together do not reconnect in lockstep; False waits exactly the ceiling.
    - ``max_attempts``: attempts before giving up; None retries forever.
    """

    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigurationError("ReconnectPolicy delays must be >= 0 seconds")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigurationError("ReconnectPolicy.max_attempts must be >= 1 or None")

    def delay(self, attempt: int, random: Callable[[], float] = _random.random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return full_jitter(
            attempt, base=self.base_delay, cap=self.max_delay, jitter=self.jitter, random=random
        )


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the connection cannot help (bad settings, closed client, 4xx refusal)."""
    if isinstance(exc, (ConfigurationError, WebSocketClosedError)):
        return True
    if isinstance(exc, WebSocketHandshakeError) and exc.status is not None:
        return 400 <= exc.status < 500 and exc.status not in _TRANSIENT_4XX
    return False


async def retry_connect(
    connect: Callable[[], Awaitable[None]],
    policy: ReconnectPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]],
    random: Callable[[], float] = _random.random,
    wait_first: bool,
    target: str = "the WebSocket server",
) -> int:
    """Call ``connect`` until it succeeds; return how many attempts that took.

    ``wait_first`` waits (jittered) before the first attempt too, which spreads a crowd of
    clients that all lost the same server. A permanent error (see :func:`is_permanent`) is
    raised at once; running out of ``policy.max_attempts`` raises
    :class:`WebSocketConnectionError` naming the attempts and the last error.
    """
    attempt = 0
    while True:
        attempt += 1
        if wait_first or attempt > 1:
            await sleep(policy.delay(attempt if wait_first else attempt - 1, random))
        try:
            await connect()
        except Exception as exc:
            if is_permanent(exc):
                if isinstance(exc, WebSocketConnectionError):
                    exc.attempts = attempt
                raise
            if policy.max_attempts is not None and attempt >= policy.max_attempts:
                raise WebSocketConnectionError(
                    f"could not connect to {target} after {attempt} attempts: {exc}",
                    attempts=attempt,
                ) from exc
            _log.warning(
                "websocket.connect_attempt_failed", target=target, attempt=attempt, error=str(exc)
            )
            continue
        return attempt

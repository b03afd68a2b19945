"""The reconnect layer: a backoff policy and one loop that retries a ``connect`` hook.

Both the client's auto-reconnect and :class:`~pepperpy_core.websocket.retry.RetryWebSocket`
use :func:`retry_connect`, so they agree on which errors are worth retrying and how long to
wait. Waiting goes through an injected ``sleep`` so tests run on a fake clock.
"""

from __future__ import annotations

import random as _random
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import InitVar, dataclass

from pepperpy_core._backoff import Backoff, full_jitter
from pepperpy_core.config import check_count
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
    - ``max_retries``: connection attempts after a loss before giving up (each one a retry
      of the lost connection, preceded by a wait); ``0`` does not reconnect; None (default)
      retries forever. For ``RetryWebSocket.connect()`` the first attempt is not a retry:
      ``max_retries=3`` is at most 4 attempts.
    - ``max_attempts``: deprecated spelling of ``max_retries`` (same number).
    """

    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retries: int | None = None
    max_attempts: InitVar[int | None] = None

    def __post_init__(self, max_attempts: int | None) -> None:
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigurationError("ReconnectPolicy delays must be >= 0 seconds")
        if max_attempts is not None:
            warnings.warn(
                "ReconnectPolicy(max_attempts=...) is deprecated: use max_retries=, the same "
                "number (the reconnects after a loss)", DeprecationWarning, stacklevel=3,
            )
            if self.max_retries is not None:
                raise ConfigurationError(
                    "ReconnectPolicy: pass max_retries= or the deprecated max_attempts=, not both"
                )
            object.__setattr__(self, "max_retries", max_attempts)
        if self.max_retries is not None:
            check_count("ReconnectPolicy", "max_retries", self.max_retries, 0)

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

    ``wait_first``: the connection was just lost (or a first try failed), so every attempt
    here is a retry and waits (jittered) first, which also spreads a crowd of clients that
    all lost the same server; ``policy.max_retries`` attempts at most. Without it the first
    attempt is immediate: ``max_retries + 1`` at most. A permanent error (see
    :func:`is_permanent`) is raised at once; running out raises
    :class:`WebSocketConnectionError` naming the attempts and the last error.
    """
    backoff = Backoff(
        policy.max_retries, base=policy.base_delay, cap=policy.max_delay, jitter=policy.jitter,
        sleep=sleep, random=random,
    )
    attempts = 0
    last: Exception | None = None
    while True:
        if wait_first or attempts:
            delay = backoff.next_delay()
            if delay is None:
                what = "reconnect" if wait_first else "connect"
                reason = f": {last}" if last is not None else " (max_retries=0)"
                raise WebSocketConnectionError(
                    f"could not {what} to {target} after {attempts} "
                    f"attempt{'' if attempts == 1 else 's'}{reason}",
                    attempts=attempts,
                ) from last
            await backoff.sleep(delay)
        attempts += 1
        try:
            await connect()
        except Exception as exc:
            if is_permanent(exc):
                if isinstance(exc, WebSocketConnectionError):
                    exc.attempts = attempts
                raise
            last = exc
            if not backoff.exhausted:
                _log.warning(
                    "websocket.connect_attempt_failed", target=target, attempt=attempts,
                    error=str(exc),
                )
            continue
        return attempts

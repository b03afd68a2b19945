"""Retry: the policy (an immutable value) and the middleware that applies it.

The retry layer owns the attempts and the deadline. It sits inside the cache (a hit is never
retried) and outside the rate limiter (every attempt waits for its own token). Every
:class:`~pepperpy_core.HttpClient` has one, so it lives here, under ``http/``;
:mod:`pepperpy_core.behaviours` re-exports it.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pepperpy_core._backoff import Backoff, full_jitter, parse_retry_after
from pepperpy_core.config import check_count
from pepperpy_core.exceptions import ConfigurationError, TransportError
from pepperpy_core.http._body import can_resend
from pepperpy_core.http.chain import RANK_RETRY, CallNext
from pepperpy_core.http.models import Request, Response
from pepperpy_core.logging import get_logger, redact_url

__all__ = ["RetryMiddleware", "RetryPolicy"]

_log = get_logger("pepperpy_core.retry")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: What the big cloud SDKs retry by default (for idempotent methods only).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry. Immutable: ``policy.with_(total=5)`` makes a changed copy.

    - ``total``: retries after the first attempt (``0`` disables retrying).
    - ``methods``: methods retried on a retryable status or a broken connection. Any method is
      retried when the request never left (connect failures).
    - ``statuses``: response statuses that are retried.
    - ``backoff_base`` / ``backoff_max``: seconds; the n-th wait is ``base * 2**(n-1)`` capped at
      ``backoff_max``, drawn uniformly below that when ``jitter`` (full jitter).
    - ``respect_retry_after``: wait what a 429/503 ``Retry-After`` asks (seconds or HTTP-date);
      when it asks for more than ``retry_after_max`` seconds the response is returned instead of
      sleeping that long.
    - ``deadline``: seconds for all attempts and waits together (``None``: no overall bound);
      a wait that would end past it is not started.
    - ``retry_non_idempotent``: opt in to retrying POST and PATCH too.
    - ``should_retry``: a hook ``(response) -> bool | None`` deciding on a response; ``None``
      from it means "use the rules above".
    """

    total: int = 3
    methods: frozenset[str] = IDEMPOTENT_METHODS
    statuses: frozenset[int] = RETRY_STATUSES
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: bool = True
    respect_retry_after: bool = True
    retry_after_max: float = 120.0
    deadline: float | None = None
    retry_non_idempotent: bool = False
    should_retry: Callable[[Response], bool | None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_count("RetryPolicy", "total", self.total, 0)
        for name in ("backoff_base", "backoff_max", "retry_after_max"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"RetryPolicy.{name} must be >= 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ConfigurationError("RetryPolicy.deadline must be > 0 seconds or None")
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    @classmethod
    def of(cls, value: int | RetryPolicy | None) -> RetryPolicy:
        """A policy from what ``retries=`` accepts: a count, a policy, or None (disabled)."""
        if isinstance(value, RetryPolicy):
            return value
        if value is None:
            return cls(total=0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(
                f"retries must be an int, a RetryPolicy or None, got {value!r}"
            )
        return cls(total=value)

    def with_(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def allows_method(self, method: str) -> bool:
        if method in self.methods:
            return True
        return self.retry_non_idempotent and method in ("POST", "PATCH")

    def backoff(self, retry_number: int, random: Callable[[], float] = _random.random) -> float:
        """Seconds before retry ``retry_number`` (1-based), without Retry-After."""
        return full_jitter(
            retry_number, base=self.backoff_base, cap=self.backoff_max, jitter=self.jitter,
            random=random,
        )

    def start_backoff(
        self,
        *,
        sleep: Callable[[float], Awaitable[Any]],
        clock: Callable[[], float],
        random: Callable[[], float] = _random.random,
        start: float | None = None,
    ) -> Backoff:
        """The :class:`~pepperpy_core._backoff.Backoff` of one operation under this policy
        (``start``: when its first attempt began, a ``clock()`` reading, for the deadline)."""
        return Backoff(
            self.total, base=self.backoff_base, cap=self.backoff_max, jitter=self.jitter,
            retry_after_max=self.retry_after_max, deadline=self.deadline, start=start,
            sleep=sleep, clock=clock, random=random,
        )

    def response_verdict(self, request: Request, response: Response) -> bool:
        """Whether this response should be retried (attempt budget aside)."""
        if self.should_retry is not None:
            verdict = self.should_retry(response)
            if verdict is not None:
                return verdict
        return response.status in self.statuses and self.allows_method(request.method)

    def error_verdict(self, request: Request, error: TransportError) -> bool:
        """Whether a transport failure should be retried (attempt budget aside). Too many
        redirects is not a transport failure: it is final, the same request would loop again."""
        return not error.request_sent or self.allows_method(request.method)


class RetryMiddleware:
    """The retry layer. ``sleep`` and ``clock`` are injectable for fake-clock tests.

    Per request, ``retries=`` (a count, a policy, or None/0 to disable) overrides the policy.
    Records ``attempts`` and ``retry_wait_s`` in ``response.metadata``.
    """

    rank = RANK_RETRY

    def __init__(
        self,
        policy: RetryPolicy | int | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.policy = RetryPolicy.of(3 if policy is None else policy)
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def __repr__(self) -> str:
        return f"RetryMiddleware({self.policy!r})"

    def _policy_for(self, request: Request) -> RetryPolicy:
        """The client's policy, or the per-request ``retries=``: a count keeps the client's
        other settings (statuses, backoff...), a policy replaces them, None/0 disables."""
        if "retries" not in request.extensions:
            return self.policy
        wanted = request.extensions["retries"]
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted >= 0:
            return self.policy if wanted == self.policy.total else self.policy.with_(total=wanted)
        return RetryPolicy.of(wanted)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        policy = self._policy_for(request) if request.extensions else self.policy
        request.metadata["attempt"] = 1
        # The first attempt runs here, the rest in _retry: most requests succeed at once and
        # should pay for one frame, no clock read and no loop.
        start = self._clock() if policy.deadline is not None else 0.0
        try:
            response = await call_next(request)
        except TransportError as exc:
            return await self._retry(request, call_next, policy, start, error=exc)
        if (response.status in policy.statuses and policy.total) or (
            policy.should_retry is not None
        ):
            return await self._retry(request, call_next, policy, start, response=response)
        response.metadata["attempts"] = 1
        return response

    async def _retry(
        self,
        request: Request,
        call_next: CallNext,
        policy: RetryPolicy,
        start: float,
        *,
        response: Response | None = None,
        error: TransportError | None = None,
    ) -> Response:
        """Decide on the outcome of attempt 1 (a response or an error) and go on attempting
        while the policy allows."""
        backoff = policy.start_backoff(
            sleep=self._sleep, clock=self._clock, random=self._random, start=start
        )
        while True:
            attempt = backoff.attempts
            # A one-shot body already sent cannot be sent again: the outcome stands.
            retries_left = not backoff.exhausted and can_resend(request.body, request.files)
            delay: float | None = None
            if error is not None:
                if retries_left and policy.error_verdict(request, error):
                    delay = backoff.next_delay()
                if delay is None:
                    error.attempts = attempt
                    raise error
                self._note(request, attempt, delay, error=error)
            else:
                assert response is not None
                if retries_left and policy.response_verdict(request, response):
                    delay = backoff.next_delay(self._asked(policy, response))
                if delay is None:
                    return self._finish(response, attempt, backoff.waited)
                await response.aclose()  # give the connection back before sleeping
                self._note(request, attempt, delay, status=response.status)
            await backoff.sleep(delay)
            request.metadata["attempt"] = backoff.attempts
            response = error = None
            try:
                response = await call_next(request)
            except TransportError as exc:
                error = exc

    @staticmethod
    def _asked(policy: RetryPolicy, response: Response) -> float | None:
        """The seconds a 429/503 ``Retry-After`` asks for, when the policy respects it."""
        if policy.respect_retry_after and response.status in (429, 503):
            return parse_retry_after(response.headers.get("retry-after"))
        return None

    @staticmethod
    def _finish(response: Response, attempt: int, waited: float) -> Response:
        response.metadata["attempts"] = attempt
        if waited:
            response.metadata["retry_wait_s"] = waited
        return response

    @staticmethod
    def _note(request: Request, attempt: int, delay: float, **why: Any) -> None:
        if "error" in why:
            why["error"] = type(why["error"]).__name__
        _log.warning(
            "http.retry", method=request.method, url=redact_url(request.url), attempt=attempt,
            wait_s=round(delay, 3), **why,
        )

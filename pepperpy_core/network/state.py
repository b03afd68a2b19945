"""Connection state and the hysteresis that moves it: pure values, no I/O, no loop."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pepperpy_core.exceptions import ConfigurationError
from pepperpy_core.network.probes import ProbeResult

__all__ = ["ConnectionState", "Hysteresis", "Transition"]

#: What a check did to the state: ``"disconnect"`` (now offline), ``"reconnect"`` (back online
#: after being offline), or None (no change worth a callback).
Transition = Literal["disconnect", "reconnect"]


@dataclass(frozen=True)
class ConnectionState:
    """A snapshot of what the manager knows; times are seconds on the manager's ``clock``.

    - ``online``: True/False, or None before the first check.
    - ``changed_at``: when ``online`` last changed (the first check counts); None before it.
    - ``checked_at``: when the last check finished; None before it.
    - ``last_error``: why the most recent failed check failed ("target: reason; ..."); kept
      after recovery so it can still be read; None if no check ever failed.
    - ``latency``: seconds taken by the fastest successful probe of the last check; None when
      that check failed.
    - ``consecutive_failures`` / ``consecutive_successes``: the current run of check results.
    - ``results``: every probe that finished in the last check (probes cancelled because the
      answer was already known are not listed).
    """

    online: bool | None = None
    changed_at: float | None = None
    checked_at: float | None = None
    last_error: str | None = None
    latency: float | None = None
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    results: tuple[ProbeResult, ...] = ()


@dataclass(frozen=True)
class Hysteresis:
    """When check results flip the state.

    - ``offline_after``: failed checks in a row that turn an online state offline (>= 1).
    - ``online_after``: successful checks in a row that turn an offline state online (>= 1).

    The first check ever decides at once: there is no earlier state to protect.
    """

    offline_after: int = 3
    online_after: int = 2

    def __post_init__(self) -> None:
        for name in ("offline_after", "online_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"Hysteresis: {name}: must be an int >= 1 (got {value!r})")

    def apply(
        self,
        state: ConnectionState,
        *,
        ok: bool,
        results: tuple[ProbeResult, ...],
        now: float,
    ) -> tuple[ConnectionState, Transition | None]:
        """The state after one check, and the transition it caused (if any)."""
        successes = state.consecutive_successes + 1 if ok else 0
        failures = 0 if ok else state.consecutive_failures + 1
        online = self._decide(state.online, successes, failures, ok)
        changed = online != state.online
        latencies = [r.latency for r in results if r.ok and r.latency is not None]
        new = replace(
            state,
            online=online,
            changed_at=now if changed else state.changed_at,
            checked_at=now,
            last_error=state.last_error if ok else _summary(results),
            latency=min(latencies) if ok and latencies else None,
            consecutive_failures=failures,
            consecutive_successes=successes,
            results=results,
        )
        return new, _transition(state.online, online)

    def _decide(self, online: bool | None, successes: int, failures: int, ok: bool) -> bool:
        if online is None:
            return ok
        if online:
            return failures < self.offline_after
        return successes >= self.online_after


def _transition(before: bool | None, after: bool) -> Transition | None:
    # An unknown state turning out offline is reported (the service is not online, and the
    # callbacks keep alternating disconnect/reconnect); turning out online is not news.
    if before is not False and not after:
        return "disconnect"
    if before is False and after:
        return "reconnect"
    return None


def _summary(results: tuple[ProbeResult, ...]) -> str:
    failed = [f"{r.target}: {r.error}" for r in results if not r.ok]
    return "; ".join(failed) or "no probe succeeded"
